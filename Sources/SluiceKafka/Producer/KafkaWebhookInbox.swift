import Foundation
public import SluiceCore

/// Kafka as the webhook inbox (`inbox: kafka`, the scale-out mode): a verified webhook delivery is produced to
/// an ingress topic before Sluice answers `202`, and the consumer group delivers it like any record.
///
/// The record's value is the body as received; its headers are the delivery's headers plus `sluice-inbox-*`
/// headers (adapter, request target, receive time), so the consumer normalises it as the webhook it was
/// (``KafkaRecord/event(receivedAt:)``), with a Kafka position to commit.
public final class KafkaWebhookInbox: Sendable {
    /// Header names of the ingress records.
    public static let adapterHeader = "sluice-inbox-adapter"
    public static let targetHeader = "sluice-inbox-target"
    public static let receivedAtHeader = "sluice-inbox-received-at"

    /// Whether a header name is in the namespace of the headers above.
    static func isReserved(_ name: String) -> Bool {
        name.lowercased().hasPrefix("sluice-inbox-")
    }

    private let producer: KafkaProducer
    /// The ingress topic (`kafka.inbox_topic`).
    public let topic: String

    /// - Parameters:
    ///   - producer: an idempotent `acks=all` producer (``KafkaProducer``'s defaults).
    ///   - topic: the ingress topic, `kafka.inbox_topic` in `sluice.yaml`.
    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    /// Delivers what is queued and closes the producer. Call once nothing appends any more.
    public func close() async {
        await producer.shutdown()
    }

    /// Closes the producer from a synchronous path (a start-up that failed after making it), in a task that
    /// ``KafkaClients/waitUntilDestroyed(timeout:)`` waits for: the process does not exit with its threads running.
    public func closeInBackground() {
        KafkaClients.destructions.enter()
        Task {
            await close()
            KafkaClients.destructions.leave()
        }
    }

    /// Whether ``close()`` has finished.
    public var isClosed: Bool { producer.isClosed }

    /// Whether the cluster seems to refuse the inbox's producer (``KafkaProducer/isRefused``): webhooks then get `503`.
    public var isRefused: Bool { producer.isRefused }

    /// Produces a verified delivery, keyed by the adapter's ordering key, and returns once the brokers have it.
    ///
    /// A full local queue (the brokers are not keeping up, or are unreachable) refuses the delivery at once
    /// rather than making its sender wait: ``KafkaError/isQueueFull``.
    ///
    /// - Throws: ``KafkaError`` when it is not stored (or not yet acknowledged when the calling task is
    ///   cancelled): the route answers 429 or 503, and the sender's retry is deduplicated by the ledger.
    @discardableResult
    public func append(_ delivery: Delivery, key: String?) async throws(KafkaError) -> KafkaProducer.Delivery {
        // The `sluice-inbox-` names are Sluice's: a sender's own header of that name would otherwise route
        // the delivery to another adapter, past that adapter's verification.
        var headers = delivery.headers.fields.filter { !Self.isReserved($0.name) }.map {
            KafkaProducer.Message.Header($0.name, $0.value)
        }
        headers.append(.init(Self.adapterHeader, delivery.adapter))
        headers.append(.init(Self.targetHeader, delivery.target))
        headers.append(.init(Self.receivedAtHeader, String(Timestamp.unixMilliseconds(delivery.receivedAt))))
        return try await producer.send(
            KafkaProducer.Message(topic: topic, key: key.map { Array($0.utf8) }, value: delivery.body, headers: headers),
            waitingForRoom: false)
    }

    /// The webhook delivery an ingress record carries; nil when the record is not one.
    public static func delivery(from record: KafkaRecord) -> Delivery? {
        guard let adapter = record.headers[adapterHeader], let target = record.headers[targetHeader] else { return nil }
        // A receive time outside 1970–9999 is not Sluice's own: the record's timestamp, or now, stands in.
        let stated = record.headers[receivedAtHeader].flatMap(Int64.init).flatMap(Timestamp.date(unixMilliseconds:))
        let original = record.headers.fields.filter { !isReserved($0.name) }
        return Delivery(
            adapter: adapter, target: target, headers: HeaderFields(original), body: record.value,
            receivedAt: stated ?? record.timestamp ?? Date())
    }
}
