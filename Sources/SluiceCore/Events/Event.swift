public import Foundation

/// One normalised event, whatever carried it: the unit Sluice maps, delivers and records.
public struct Event: Sendable, Hashable {
    /// Which convention gave the event its id and type.
    public enum Convention: String, Sendable, Hashable, CaseIterable {
        case cloudEventsStructured = "cloudevents-structured"
        case cloudEventsBinary = "cloudevents-binary"
        case stripe
        case github
        case shopify
        case slack
        case standardWebhooks = "standard-webhooks"
        /// A webhook whose JSON body is a CloudEvent (`specversion` 1.0, `id`, `source`, `type`) sent without the
        /// CloudEvents media type: the id and type are the envelope's, the body stays the whole JSON.
        case cloudEventsBody = "cloudevents-body"
        /// A Kafka record with no better id: its position, `topic-partition-offset@timestamp`.
        case kafkaPosition = "kafka-position"
        /// A webhook with no id of its own: `sha256:<hex of the body>`.
        case contentHash = "content-hash"
        /// An id given explicitly (tests, `sluice send`).
        case explicit
    }

    /// The source's name: the webhook adapter's name, or the Kafka topic.
    public var source: String
    /// A stable id: the same delivery always gets the same id.
    public var id: String
    /// The event type, when the convention gives one.
    public var type: String?
    /// The natural ordering key: the Kafka record key, or CloudEvents' `partitionkey`.
    public var key: String?
    /// The headers as received.
    public var headers: HeaderFields
    /// The body (for structured CloudEvents, the `data` member).
    public var body: EventPayload
    /// When Sluice received the event.
    public var receivedAt: Date
    /// Where to acknowledge the event.
    public var position: SourcePosition
    /// The transport and its context.
    public var origin: EventOrigin
    /// The CloudEvents attributes, when the event is a CloudEvent.
    public var cloudEvent: CloudEvent?
    /// The convention that gave the id and type.
    public var convention: Convention

    public init(
        source: String, id: String, type: String?, key: String? = nil, headers: HeaderFields = [:],
        body: EventPayload, receivedAt: Date, position: SourcePosition = .none, origin: EventOrigin = .manual,
        cloudEvent: CloudEvent? = nil, convention: Convention = .explicit
    ) {
        self.source = source
        self.id = id
        self.type = type
        self.key = key
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.position = position
        self.origin = origin
        self.cloudEvent = cloudEvent
        self.convention = convention
    }
}
