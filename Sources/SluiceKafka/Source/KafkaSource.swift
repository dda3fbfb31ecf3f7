import CRdKafka
import CoreMetrics
import Foundation
public import Logging
public import ServiceLifecycle
import SluiceCore
import Synchronization

/// Consumes one adapter's topics in a consumer group and hands each record's event to a ``KafkaRecordHandler``.
///
/// - Commit after outcome: an offset is committed only once every earlier offset of its partition has
///   settled `recorded` (``CommitWatermark``); auto commit and auto offset store are off.
/// - Backpressure: records are fetched only while fewer than `pauseAbove` wait for the gate and handed over
///   in batches no larger than the gate's free room; when the buffer stays full without a break for
///   `pauseAfter` (the gate admits nothing), the partitions are paused (the consumer keeps polling, so it
///   stays in its group), and they resume below `resumeBelow`.
/// - Rebalance: revoked partitions take no new records; their in-flight work may finish within the drain
///   budget, then it is cancelled, what is done is committed, and only then are they given up.
/// - Dead letters: a settlement `recorded(…, deadLetter: true)` is produced to the dead-letter topic before its
///   offset is committed; an invalid CloudEvent or a value above `maxValueBytes` is recorded first as a rejection
///   (``KafkaRecordHandler/reject(_:reason:message:)``), then produced the same way.
/// - Outcomes: with an outcome topic, every recorded outcome is produced there before its offset is committed
///   (at least once: a record redelivered after a crash may publish its outcome again).
///
/// librdkafka's blocking calls run on a dedicated thread (``KafkaPollThread``); rebalance, error and commit
/// callbacks run there too.
public final class KafkaSource: Service, Sendable {
    /// Slow follow-up work after a settlement, done on the source's own tasks.
    enum Job: Sendable {
        /// Produce the record to the dead-letter topic and/or its outcome to the outcome topic, then settle it.
        case publish(Ticket, deadLetter: (reason: String, detail: String)?, outcome: Outcome)
        /// Submit an unordered record again after its backoff.
        case retry(Ticket, attempt: Int)
        /// Submit an ordered partition's held records in offset order.
        case drain(TopicPartition, generation: UInt64)
        /// Records the rejection of a record that could not become an event.
        case reject(Ticket)
    }

    let configuration: KafkaSourceConfiguration
    let handler: any KafkaRecordHandler
    let logger: Logger
    let client: RDKafkaClient
    /// Produces dead letters and outcomes; nil when the adapter has neither topic.
    let producer: KafkaProducer?
    let state: Locked<State>
    /// The state's ``State/holds``, read without its lock.
    let holds: HoldGauge
    let metrics: KafkaSourceMetrics
    let jobs: AsyncStream<Job>
    let jobSink: AsyncStream<Job>.Continuation
    /// Asynchronous commits sent whose result has not come in (touched by the poll thread only).
    let commitsInFlight = Atomic(0)
    /// Whether a last commit went ahead of an unanswered one (until the count of those in flight is back to 0).
    let commitWaitGaveUp = Atomic(false)
    private let relay: RebalanceRelay

    /// Creates the consumer (and a producer when the adapter has a dead-letter or an outcome topic).
    ///
    /// - Throws: ``KafkaError`` when a property is refused or a client cannot be created: a bad configuration
    ///   fails at start-up, not on the first record.
    public init(
        configuration: KafkaSourceConfiguration, handler: some KafkaRecordHandler, logger: Logger
    ) throws(KafkaError) {
        var logger = logger
        logger[metadataKey: "adapter"] = "\(configuration.adapter)"
        logger[metadataKey: "kafka.group"] = "\(configuration.groupID)"
        let relay = RebalanceRelay()
        let initial = State()
        holds = initial.holds
        let state = Locked(initial)
        self.state = state
        let metrics = KafkaSourceMetrics(adapter: configuration.adapter)
        let errorLogger = logger
        let logLevel = configuration.logLevel
        let callbacks = RDKafkaCallbacks(
            rebalance: { relay.forward($0) },
            error: { error in Self.clientError(error, state: state, logger: errorLogger) },
            offsetCommit: { committed, failed, error in
                if let error, !failed.isEmpty {
                    metrics.commitFailures.increment()
                    errorLogger.warning("kafka commit failed (committed again on the next tick): \(error)")
                }
                state.withLock { state in
                    state.committed(committed, at: .now)
                    state.commitFailed(failed)
                }
            },
            log: { level, facility, message in
                // Warnings only: the same text at debug level (`debug=topic`) is a reset without an error. Noted before
                // the line is logged: librdkafka may already fetch from the new position, and a log handler can be
                // slow (a full pipe); a record from there taken before the note would be dropped as a redelivery.
                if level <= 4, facility == "OFFSET", let reset = KafkaSource.offsetReset(announcedIn: message) {
                    state.withLock { $0.announceReset(reset.partition, at: reset.at) }
                }
                guard level <= logLevel else { return }
                errorLogger.log(level: level <= 3 ? .error : level == 4 ? .warning : .debug, "librdkafka \(facility): \(message)")
            })
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        self.relay = relay
        (self.jobs, self.jobSink) = AsyncStream.makeStream(of: Job.self)
        if configuration.consumerProperties["auto.offset.reset"]?.lowercased() == "error" {
            // librdkafka then stops the partition at an offset out of range until something seeks it, which Sluice does
            // not do: the partition would stall for good while the source reads as ready.
            throw KafkaError(
                kind: .configuration,
                message: "kafka.properties auto.offset.reset=error would stall a partition whose offset is out of range; use earliest (the default) or latest")
        }
        self.client = try RDKafkaClient.consumer(properties: configuration.consumerProperties, callbacks: callbacks)
        if configuration.deadLetterTopic != nil || configuration.outcomeTopic != nil {
            self.producer = try KafkaProducer(
                bootstrapServers: configuration.bootstrapServers, properties: configuration.producerProperties,
                logger: logger)
        } else {
            self.producer = nil
        }
        relay.target.withLock { $0 = { [weak self] event in self?.rebalanced(event) } }
        logger.info(
            "kafka source configured",
            metadata: [
                "kafka.topics": "\(configuration.topics.joined(separator: ","))",
                "kafka.properties": "\(RDKafkaConfig.redacted(configuration.consumerProperties).map { "\($0.0)=\($0.1)" }.joined(separator: " "))",
            ])
    }

    /// The adapter this source feeds (`webhook-inbox` for the ingress topic's consumer).
    public var adapterName: String { configuration.adapter }

    /// Whether the source can consume, with librdkafka's error when it cannot.
    public var readiness: KafkaReadiness { state.withLock { $0.readiness } }

    /// Counters and the committed offsets.
    public var statistics: KafkaSourceStatistics { state.withLock { $0.snapshot } }

    /// Fetch-to-commit latencies of a sample of records (one in 64, the most recent 65,536): from the moment a
    /// record left librdkafka to the commit that covered its offset.
    public var fetchToCommitLatencies: [Duration] { state.withLock { $0.commitLatencies } }

    /// Consumes until graceful shutdown or cancellation, then drains, commits and leaves the group.
    ///
    /// - Throws: ``KafkaError`` when the subscription is refused or librdkafka reports a fatal error.
    public func run() async throws {
        // rd_kafka_subscribe waits for librdkafka's main thread to take the subscription: not on the cooperative pool.
        do {
            try await KafkaPollThread.run(name: "kafka-subscribe") { [client, topics = configuration.topics] () throws(KafkaError) in
                try client.subscribe(topics)
            }
        } catch {
            // Refused before it ran: its producer's threads and connections must not outlive it.
            await producer?.shutdown(flushTimeout: .zero)
            throw error
        }
        // "kafka-<adapter>", cut to Linux's 15 bytes: several consumers are told apart in `top -H` and `perf`.
        let pollThread = KafkaPollThread(name: "kafka-\(configuration.adapter)") { [self] in pollLoop() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    group.addTask { await self.dispatchLoop() }
                    group.addTask { await self.runJobs() }
                    // The poll thread ends after the group is left and every revoked partition is committed;
                    // whatever still waits (for gate capacity, a retry backoff) is moot then.
                    await pollThread.join()
                    self.jobSink.finish()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
        // Every publish job has ended (cancelled ones leave their records uncommitted, for the next owner): no
        // one waits for a delivery report, so a record the brokers cannot take now is not waited for.
        await producer?.shutdown(flushTimeout: .zero)
        let fatal = state.withLock { state -> KafkaError? in
            state.readiness = .stopped
            return state.fatal
        }
        logger.info("kafka source stopped", metadata: ["kafka.statistics": "\(statistics)"])
        if let fatal { throw fatal }
    }

    /// Closes what the source made for a run that will not come (a start-up that failed after making it): its
    /// dead-letter and outcome producer, whose thread would otherwise run until the process exits. In a task that
    /// ``KafkaClients/waitUntilDestroyed(timeout:)`` waits for; the consumer's client goes with the source.
    public func closeUnstarted() {
        guard let producer else { return }
        KafkaClients.destructions.enter()
        Task {
            await producer.shutdown(flushTimeout: .zero)
            KafkaClients.destructions.leave()
        }
    }

    /// Stops taking records; the poll thread then drains, commits and leaves the group.
    public func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.phase == .running { state.phase = .stopping }
            defer { state.dispatchWaiter = nil }
            return state.dispatchWaiter
        }
        waiter?.resume()
    }

    /// error_cb: transient errors are logged; those that stop consumption make the source not ready; fatal ones stop it.
    private static func clientError(_ error: KafkaError, state: Locked<State>, logger: Logger) {
        switch rd_kafka_resp_err_t(error.code) {
        case RD_KAFKA_RESP_ERR__FATAL:
            logger.error("kafka fatal error: \(error)")
            state.withLock { $0.fail(error) }?.resume()
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__AUTHENTICATION,
            RD_KAFKA_RESP_ERR__SSL, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
            logger.error("kafka consumer not ready: \(error)")
            state.withLock { if $0.phase == .running { $0.readiness = .notReady(error) } }
        default:
            logger.debug("kafka client: \(error)")
        }
    }
}

/// Forwards librdkafka's rebalance callback to the source, which exists only after its client does.
final class RebalanceRelay: Sendable {
    let target = Mutex<(@Sendable (RDKafkaRebalance) -> Void)?>(nil)

    func forward(_ event: RDKafkaRebalance) {
        target.withLock { $0 }?(event)
    }
}
