import SluiceCore

extension JSONObject {
    /// An object with these members, in order.
    static func of(_ pairs: KeyValuePairs<String, JSONValue>) -> JSONObject {
        JSONObject(pairs.map { JSONObject.Member(key: $0.key, value: $0.value) })
    }
}
