/// Where an event came from, precisely enough to acknowledge it or find it again.
public enum SourcePosition: Sendable, Hashable, CustomStringConvertible {
    /// A Kafka record.
    case kafka(topic: String, partition: Int32, offset: Int64)
    /// A row of the webhook inbox.
    case inbox(id: Int64)
    /// An event given by hand (`sluice map`, `sluice send`).
    case none

    public var description: String {
        switch self {
        case .kafka(let topic, let partition, let offset): "\(topic)-\(partition)-\(offset)"
        case .inbox(let id): "inbox-\(id)"
        case .none: "none"
        }
    }

    /// The position as JSON, for outcomes.
    public var json: JSONValue {
        switch self {
        case .kafka(let topic, let partition, let offset):
            ["kind": "kafka", "topic": .string(topic), "partition": .int(Int64(partition)), "offset": .int(offset)]
        case .inbox(let id): ["kind": "inbox", "id": .int(id)]
        case .none: ["kind": "none"]
        }
    }
}
