public import Foundation
public import SluiceCore

/// One consumed Kafka record, copied out of librdkafka into Swift-owned memory.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The record key, when it has one.
    public var key: [UInt8]?
    /// The record value (empty for a tombstone).
    public var value: [UInt8]
    /// The record headers; values that are not UTF-8 are carried base64-encoded.
    public var headers: HeaderFields
    /// The headers byte for byte, when some value is not UTF-8 text (a schema id, a binary trace context), so
    /// that a dead letter carries them unchanged; nil when ``headers`` holds them exactly.
    public var binaryHeaders: [BinaryHeader]?
    /// The record timestamp, when the broker gave one.
    public var timestamp: Date?

    /// A header as received: the producer's header type, so a dead letter copies them as they are.
    public typealias BinaryHeader = KafkaProducer.Message.Header

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, value: [UInt8],
        headers: HeaderFields = [:], binaryHeaders: [BinaryHeader]? = nil, timestamp: Date? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.binaryHeaders = binaryHeaders
        self.timestamp = timestamp
    }

    /// The record's partition.
    public var topicPartition: TopicPartition { TopicPartition(topic: topic, partition: partition) }

    /// The record normalised into an ``Event`` (CloudEvents binary and structured mode recognised).
    ///
    /// A record of the webhook inbox (``KafkaWebhookInbox``) is normalised as the webhook it carries
    /// (GitHub, Stripe, … ids; `webhook.*` in expressions), keeping its Kafka position for the commit; its
    /// `source` is the webhook adapter's name, as for a webhook through the SQLite inbox.
    ///
    /// - Throws: ``EventError`` when the record claims to be a CloudEvent but is not a valid one.
    public func event(receivedAt: Date) throws(EventError) -> Event {
        if let delivery = KafkaWebhookInbox.delivery(from: self) {
            let request = EventOrigin.WebhookRequest(target: delivery.target)
            return try Event.webhook(
                source: delivery.adapter, request: request, headers: delivery.headers, body: delivery.body,
                receivedAt: delivery.receivedAt, position: .kafka(topic: topic, partition: partition, offset: offset))
        }
        return try Event.kafka(
            record: EventOrigin.KafkaRecord(
                topic: topic, partition: partition, offset: offset, key: key, timestamp: timestamp),
            headers: headers, value: value, receivedAt: receivedAt)
    }
}
