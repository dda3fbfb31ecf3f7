import HTTPTypes

extension HTTPFields {
    /// The first value of the field `name`. Cheaper than the subscript, which joins repeated
    /// fields into one string for every lookup; for `Content-Type` and `Content-Length`, where a
    /// repeated field is an error in the request anyway, the first is the one to check.
    func firstValue(_ name: HTTPField.Name) -> String? {
        for field in self where field.name == name { return field.value }
        return nil
    }
}
