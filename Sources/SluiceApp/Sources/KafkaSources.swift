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
            // With no adapter at all there is no ledger to keep a delivery in: the ingress records stay in the
            // topic, unconsumed, until adapters are configured.
            if let topic = config.kafka.inboxTopic, let ledger = pipelines.values.first?.ledger {
                let router = InboxRecordRouter(pipelines: pipelines, ledger: ledger, logger: logger)
                // A revoke waits as long as the longest of the webhook adapters' cancellation budgets, so that no
                // delivery's work outlives the hand-over of its partition.
                let budgets = pipelines.values.compactMap { pipeline -> Duration? in
                    if case .webhook = pipeline.adapter.source { pipeline.adapter.boundary.cancellationBudget } else { nil }
                }
                // Every record the inbox's producer can write is taken (its `message.max.bytes`), so that no
                // acknowledged webhook is refused as too large on its way out of the topic.
                let configuration = KafkaSourceConfiguration(
                    adapter: AdapterCompiler.ingressConsumerName, bootstrapServers: bootstrap, topics: [topic],
                    groupID: AdapterCompiler.ingressConsumerGroup,
                    properties: config.kafka.properties, drainBudget: budgets.max() ?? .seconds(5),
                    maxValueBytes: max(1 << 20, inboxRecordLimit(config)))
                sources.append(try KafkaSource(configuration: configuration, handler: router, logger: logger))
            }
        } catch {
            // The sources made before the one that failed will not run: their producers' threads would outlive the start.
            for source in sources { source.closeUnstarted() }
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

    /// The inbox producer's own defaults under `kafka.properties`. A record the brokers have not acknowledged
    /// was answered `503` after 10 s, and its sender sends it again: it leaves the queue after 30 s (not
    /// librdkafka's 300 s), and the queue holds at most 128 MiB (not 1 GiB), past which webhooks get `429`.
    static let inboxProducerDefaults = ["message.timeout.ms": "30000", "queue.buffering.max.kbytes": "131072"]

    /// The largest ingress record the inbox's producer writes: `message.max.bytes` (librdkafka's default
    /// 1,000,000), headers included.
    static func inboxRecordLimit(_ config: ServiceConfiguration) -> Int {
        config.kafka.properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
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
            producer = try KafkaProducer(
                bootstrapServers: bootstrap, properties: inboxProducerDefaults.merging(config.kafka.properties) { _, given in given },
                logger: logger)
        } catch {
            throw StartupError("kafka: \(error)")
        }
        return KafkaWebhookInbox(producer: producer, topic: topic)
    }
}

/// The webhook ingress topic's handler: each record goes to the webhook adapter that accepted it (its
/// `sluice-inbox-adapter` header, set by Sluice, never by the sender).
struct InboxRecordRouter: KafkaRecordHandler {
    let byAdapter: [String: AdapterPipeline]
    /// Where a delivery for an adapter that no longer exists is recorded (the shared ledger).
    let ledger: any OutcomeLedger
    let logger: Logger

    init(pipelines: [String: AdapterPipeline], ledger: any OutcomeLedger, logger: Logger) {
        byAdapter = pipelines.filter { if case .webhook = $0.value.adapter.source { true } else { false } }
        self.ledger = ledger
        self.logger = logger
    }

    var capacity: Int {
        get async {
            var smallest = Int.max
            for pipeline in byAdapter.values { smallest = min(smallest, await pipeline.dispatcher.pullCapacity) }
            return smallest == .max ? 0 : smallest
        }
    }

    func waitForCapacity() async {
        for pipeline in byAdapter.values { await pipeline.dispatcher.waitForPullCapacity() }
    }

    /// Ordered when any webhook adapter orders its events (`ordering: { key: … }`).
    var preservesOrder: Bool { byAdapter.values.contains { $0.adapter.isOrdered } }

    func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        guard let pipeline = byAdapter[event.source] else {
            await settled(await unknownAdapter(event))
            return
        }
        try await pipeline.submit(event, unless: takenBack) { settlement in await settled(KafkaSettlement(settlement)) }
    }

    /// An ingress record that is not a webhook delivery Sluice could read: recorded by its adapter's pipeline when
    /// it names one, else in the ledger under the record's topic.
    func reject(_ event: Event, reason: String, message: String) async -> KafkaSettlement {
        if let pipeline = byAdapter[event.source] {
            return KafkaSettlement(await pipeline.rejectUnreadable(event, reason: OutcomeReason(rawValue: reason), message: message))
        }
        let outcome = Outcome(
            adapter: event.source, action: "none", idempotencyKey: event.id, kind: .rejected,
            reason: OutcomeReason(rawValue: reason), message: message)
        do throws(LedgerError) {
            switch try await ledger.record(RecordRequest(outcome: outcome, deadLetter: DeadLetterContent(commands: []))) {
            case .recorded: return .recorded(outcome, deadLetter: true)
            case .alreadyDecided(let existing): return .recorded(existing, deadLetter: existing.kind == .rejected)
            }
        } catch {
            return .unrecorded(error)
        }
    }

    /// Accepted by an adapter that this configuration no longer has (removed or renamed since): the
    /// delivery is rejected `unknown_target` and kept as a dead letter in the ledger, with its
    /// delivery, so that `sluice replay` can send it once the adapter is back. Not committed unless
    /// that record is durable.
    private func unknownAdapter(_ event: Event) async -> KafkaSettlement {
        let outcome = Outcome(
            adapter: event.source, action: "none", idempotencyKey: event.id, kind: .rejected, reason: .unknownTarget,
            message: "no webhook adapter named '\(event.source)' is configured")
        logger.error(
            "a webhook in the Kafka inbox belongs to no configured adapter; kept as a dead letter",
            metadata: ["adapter": "\(event.source)", "event.id": "\(event.id)"])
        let target = if case .webhook(let request) = event.origin { request.path } else { event.source }
        let body: [UInt8] =
            switch event.body {
            case .json(let value): JSONWriter.bytes(value)
            case .bytes(let bytes): bytes
            }
        let delivery = Delivery(
            adapter: event.source, target: target, headers: event.headers, body: body, receivedAt: event.receivedAt)
        do throws(LedgerError) {
            let request = RecordRequest(
                outcome: outcome, deadLetter: DeadLetterContent(commands: [], delivery: delivery))
            switch try await ledger.record(request) {
            case .recorded: return .recorded(outcome, deadLetter: true)
            case .alreadyDecided(let existing): return .recorded(existing, deadLetter: existing.kind == .rejected)
            }
        } catch {
            return .unrecorded(error)
        }
    }

    func cancel(events: [Event], reason: String) async {
        for event in events {
            guard let pipeline = byAdapter[event.source], let key = pipeline.adapter.map(event).plan?.idempotencyKey
            else { continue }
            await pipeline.dispatcher.cancel(keys: [key], reason: reason)
        }
    }
}
