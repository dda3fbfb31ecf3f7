import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceTesting
import Testing

@testable import SluiceApp

/// The Kafka inbox's answers other than `202`: a decided key, a full producer queue, unreachable brokers.
@Suite("Kafka as the webhook inbox: 200, 429 and 503", .serialized)
struct KafkaInboxSinkTests {
    /// An embedded cluster with the ingress topic, and an inbox producing to it.
    static func inbox(properties: [String: String] = [:]) throws -> (MockKafkaCluster, KafkaWebhookInbox) {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("sluice.inbox", partitions: 1)
        let producer = try KafkaProducer(
            bootstrapServers: cluster.bootstrapServers, properties: properties, logger: Logger(label: "test"))
        return (cluster, KafkaWebhookInbox(producer: producer, topic: "sluice.inbox"))
    }

    @Test("a decided key is answered with its outcome and not produced again")
    func decidedKeyIsAnsweredFromTheLedger() async throws {
        let (cluster, inbox) = try Self.inbox()
        try await withPipeline { pipeline, _, ledger in
            let sink = KafkaInboxSink(inbox: inbox, pipeline: pipeline, logger: Logger(label: "test"))
            let (event, delivery) = try orderDelivery(id: "evt_kd", order: 41)
            let first = await sink.accept(event, delivery: delivery)
            #expect(first == .accepted(eventID: event.id, idempotencyKey: "evt_kd"))
            let decided = Outcome(adapter: "orders", action: "start_workflow", idempotencyKey: "evt_kd", kind: .accepted)
            _ = try await ledger.record(decided)
            #expect(await sink.accept(event, delivery: delivery) == .known(decided))
        }
        await inbox.close()
        let watermarks = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "sluice.inbox")
        #expect(watermarks.values.map(\.high).reduce(0, +) == 1, "the decided key was produced once")
    }

    /// A ledger that stalls (a half-open PostgreSQL connection) held the request for as long as the read took, before
    /// the brokers were even asked: the look is bounded, and the delivery produced without it.
    @Test("a stalled ledger lookup does not hold the request: the delivery is produced after the lookup's timeout", .timeLimit(.minutes(1)))
    func stalledLookupIsBounded() async throws {
        let (cluster, inbox) = try Self.inbox()
        try await withPipeline { pipeline, _, ledger in
            var sink = KafkaInboxSink(inbox: inbox, pipeline: pipeline, logger: Logger(label: "test"))
            sink.lookupTimeout = .milliseconds(300)
            sink.maxLookups = 1
            ledger.holdDecisions(forKeys: ["evt_ks", "evt_ks2"])
            defer { ledger.releaseDecisions() }
            let (event, delivery) = try orderDelivery(id: "evt_ks", order: 45)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(await sink.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_ks"))
            #expect(clock.now - started < .seconds(5))
            #expect(ledger.heldDecisions == 1, "the lookup was not the one that waited")
            // The stalled read still runs: a further request skips its lookup rather than piling a second one up.
            let (second, secondDelivery) = try orderDelivery(id: "evt_ks2", order: 46)
            #expect(await sink.accept(second, delivery: secondDelivery) == .accepted(eventID: second.id, idempotencyKey: "evt_ks2"))
            #expect(ledger.heldDecisions == 1, "a second lookup was started beside the stalled one")
        }
        await inbox.close()
        withExtendedLifetime(cluster) {}
    }

    @Test("a request cancelled before the brokers acknowledged its delivery is not answered 202")
    func cancelledBeforeTheAcknowledgement() async throws {
        let (cluster, inbox) = try Self.inbox()
        cluster.setBrokerDown()
        try await withPipeline { pipeline, _, _ in
            let sink = KafkaInboxSink(
                inbox: inbox, pipeline: pipeline, acknowledgementTimeout: .seconds(10), logger: Logger(label: "test"))
            let (event, delivery) = try orderDelivery(id: "evt_kc", order: 44)
            let waiting = Task { await sink.accept(event, delivery: delivery) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            let answer = await waiting.value
            guard case .unavailable = answer else {
                Issue.record("a delivery the brokers never acknowledged was answered \(answer)")
                return
            }
        }
        cluster.setBrokerUp()
        await inbox.close()
    }

    @Test("unreachable brokers: 503 within the acknowledgement timeout; a full producer queue: 429 at once")
    func unreachableBrokersAndAFullQueue() async throws {
        let (cluster, inbox) = try Self.inbox(properties: ["queue.buffering.max.messages": "1"])
        cluster.setBrokerDown()
        try await withPipeline { pipeline, _, _ in
            let sink = KafkaInboxSink(
                inbox: inbox, pipeline: pipeline, acknowledgementTimeout: .seconds(1), logger: Logger(label: "test"))
            let (first, firstDelivery) = try orderDelivery(id: "evt_k1", order: 42)
            let clock = ContinuousClock()
            let started = clock.now
            let waiting = Task { await sink.accept(first, delivery: firstDelivery) }
            // The first delivery holds the queue's only place while the broker is down.
            try await Task.sleep(for: .milliseconds(200))
            let (second, secondDelivery) = try orderDelivery(id: "evt_k2", order: 43)
            #expect(await sink.accept(second, delivery: secondDelivery) == .saturated(retryAfter: .seconds(1)))
            guard case .unavailable(let reason, let retryAfter) = await waiting.value else {
                Issue.record("expected 503 for a delivery the brokers never acknowledged")
                return
            }
            let waited = clock.now - started
            #expect(waited >= .seconds(1) && waited < .seconds(5), "answered after the timeout, not librdkafka's 300 s")
            #expect(retryAfter == .seconds(1))
            #expect(!reason.contains("kafka "), "librdkafka's error text is logged, not told to the sender")
        }
        cluster.setBrokerUp()
        await inbox.close()
    }
}
