import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceKafka

/// The Kafka sources: one consumer group per Kafka adapter, and, with `kafka.inbox_topic`, the
/// consumer of the webhook ingress topic, which hands each delivery to its webhook adapter.
enum KafkaSources {
    static func make(
        config: ServiceConfiguration, pipelines: [String: AdapterPipeline], health: HealthMonitor, logger: Logger
    ) throws -> [any Service] {
        guard let bootstrap = config.kafka.bootstrapServers else {
            let kafkaAdapters = pipelines.values.filter { if case .kafka = $0.adapter.source { true } else { false } }
            if let first = kafkaAdapters.first {
                throw StartupError(
                    "adapter '\(first.adapter.name)' reads Kafka, but sluice.yaml sets no kafka.bootstrap_servers (or SLUICE_KAFKA_BOOTSTRAP_SERVERS)")
            }
            return []
        }
        var sources: [KafkaSource] = []
        do {
            for pipeline in pipelines.values.sorted(by: { $0.adapter.name < $1.adapter.name }) {
                guard
                    let configuration = KafkaSourceConfiguration(
                        adapter: pipeline.adapter, bootstrapServers: bootstrap, properties: config.kafka.properties)
                else { continue }
                sources.append(try KafkaSource(configuration: configuration, handler: PipelineRecordHandler(pipeline: pipeline), logger: logger))
            }
            if let topic = config.kafka.inboxTopic {
                let router = InboxRecordRouter(pipelines: pipelines)
                let configuration = KafkaSourceConfiguration(
                    adapter: "webhook-inbox", bootstrapServers: bootstrap, topics: [topic], groupID: "sluice-webhook-inbox",
                    properties: config.kafka.properties)
                sources.append(try KafkaSource(configuration: configuration, handler: router, logger: logger))
            }
        } catch {
            throw StartupError("kafka: \(error)")
        }
        for source in sources {
            let name = "kafka " + source.adapterName
            health.addCheck(name) {
                let readiness = source.readiness
                return (readiness.isReady, readiness.description)
            }
        }
        return sources
    }

    /// The writer of the ingress topic, where a verified webhook is produced (idempotent, `acks=all`, keyed by
    /// the adapter's ordering key) before `202`. Nil without `kafka.inbox_topic`.
    static func inbox(config: ServiceConfiguration, logger: Logger) throws -> KafkaWebhookInbox? {
        guard let topic = config.kafka.inboxTopic else { return nil }
        guard let bootstrap = config.kafka.bootstrapServers else {
            throw StartupError("kafka.inbox_topic is set but kafka.bootstrap_servers is not")
        }
        let producer: KafkaProducer
        do {
            producer = try KafkaProducer(bootstrapServers: bootstrap, properties: config.kafka.properties, logger: logger)
        } catch {
            throw StartupError("kafka: \(error)")
        }
        return KafkaWebhookInbox(producer: producer, topic: topic)
    }
}

/// The webhook ingress topic's handler: each record goes to the webhook adapter whose path it was
/// posted to.
struct InboxRecordRouter: KafkaRecordHandler {
    let byPath: [String: AdapterPipeline]

    init(pipelines: [String: AdapterPipeline]) {
        var byPath: [String: AdapterPipeline] = [:]
        for pipeline in pipelines.values {
            if case .webhook(let route) = pipeline.adapter.source { byPath[route.path] = pipeline }
        }
        self.byPath = byPath
    }

    var capacity: Int {
        get async {
            var smallest = Int.max
            for pipeline in byPath.values { smallest = min(smallest, await pipeline.dispatcher.pullCapacity) }
            return smallest == .max ? 0 : smallest
        }
    }

    func waitForCapacity() async {
        for pipeline in byPath.values { await pipeline.dispatcher.waitForPullCapacity() }
    }

    func submit(_ event: Event, settled: @escaping @Sendable (KafkaSettlement) async -> Void) async throws(DispatchAdmissionError) {
        guard let pipeline = byPath[event.source] else {
            // Posted to a route no adapter serves any more: acknowledge it with a rejected outcome.
            let outcome = Outcome(
                adapter: "webhook-inbox", action: "none", idempotencyKey: event.id, kind: .rejected, reason: .unknownTarget,
                message: "no webhook adapter serves \(event.source)")
            await settled(.recorded(outcome, deadLetter: true))
            return
        }
        try await pipeline.submit(event) { settlement in await settled(KafkaSettlement(settlement)) }
    }

    func cancel(events: [Event], reason: String) async {
        for event in events {
            guard let pipeline = byPath[event.source], let key = pipeline.adapter.map(event).plan?.idempotencyKey else { continue }
            await pipeline.dispatcher.cancel(keys: [key], reason: reason)
        }
    }
}

/// A webhook adapter's sink when the inbox is Kafka: the delivery is produced to the ingress topic
/// before `202`; the ingress consumer delivers it.
struct KafkaInboxSink: WebhookSink {
    let inbox: KafkaWebhookInbox
    let pipeline: AdapterPipeline

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        let plan = pipeline.adapter.map(event).plan
        do {
            try await inbox.append(delivery, key: plan?.orderingKey ?? plan?.idempotencyKey)
        } catch {
            return .unavailable(reason: "the Kafka inbox could not store the event: \(error)", retryAfter: .seconds(1))
        }
        return .accepted(eventID: event.id, idempotencyKey: plan?.idempotencyKey ?? event.id)
    }
}
