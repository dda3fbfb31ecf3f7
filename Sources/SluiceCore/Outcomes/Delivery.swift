public import Foundation

/// A delivery as it arrived, before normalisation: what the inbox keeps for a webhook and what a dead
/// letter may keep to be re-driven.
///
/// Secrets never reach it: the webhook route strips verified signature headers before appending.
public struct Delivery: Sendable, Hashable {
    /// The adapter that accepted it.
    public var adapter: String
    /// Where it came from: the request target (`/path?query`) of a webhook, or `topic-partition-offset`.
    public var target: String
    public var headers: HeaderFields
    public var body: [UInt8]
    public var receivedAt: Date

    public init(adapter: String, target: String, headers: HeaderFields, body: [UInt8], receivedAt: Date) {
        self.adapter = adapter
        self.target = target
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
    }
}

extension Delivery {
    /// The headers as JSON, `[[name, value], …]` in order, for storage.
    public var headersJSON: JSONValue {
        .array(headers.fields.map { .array([.string($0.name), .string($0.value)]) })
    }

    /// Reads headers written by ``headersJSON``; nil when the JSON is not that shape.
    public static func headers(json: JSONValue) -> HeaderFields? {
        guard let pairs = json.arrayValue else { return nil }
        var fields: [HeaderFields.Field] = []
        for pair in pairs {
            guard let items = pair.arrayValue, items.count == 2, let name = items[0].stringValue,
                let value = items[1].stringValue
            else { return nil }
            fields.append(HeaderFields.Field(name: name, value: value))
        }
        return HeaderFields(fields)
    }
}
