import CRdKafka
import Foundation
public import Logging

/// A Kafka producer: idempotent, `acks=all`, with delivery reports served on its own poll thread.
///
/// `send` returns once the broker has acknowledged the record (or throws why it could not), which is
/// what the dead-letter path and the webhook inbox need before they acknowledge their own source.
///
/// An idempotent producer that hits a fatal error (the brokers lost its sequence state, for example) refuses
/// every later record; librdkafka's advice is to create a new one. The poll thread does that at once: the
/// records the old client still holds get their delivery reports (or fail as ``KafkaError/isRetriable``), and
/// the next `send` goes to the new client, so that a retrying caller gets through.
public final class KafkaProducer: Sendable {
    /// One record to produce.
    public struct Message: Sendable, Hashable {
        public var topic: String
        public var partition: Int32?
        public var key: [UInt8]?
        public var value: [UInt8]
        public var headers: [Header]

        /// One header: a name and its bytes.
        public struct Header: Sendable, Hashable {
            public var name: String
            public var value: [UInt8]
            public init(name: String, value: [UInt8]) {
                self.name = name
                self.value = value
            }
            public init(_ name: String, _ text: String) {
                self.init(name: name, value: Array(text.utf8))
            }
        }

        public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], headers: [Header] = []) {
            self.topic = topic
            self.partition = partition
            self.key = key
            self.value = value
            self.headers = headers
        }
    }

    /// Where the broker stored a record.
    public struct Delivery: Sendable, Hashable {
        public var partition: Int32
        public var offset: Int64
    }

    private typealias Completion = @Sendable (Result<Delivery, KafkaError>) -> Void

    /// A record waiting for its delivery report, and the client it was given to (by its number: how many
    /// replacements came before it).
    private struct Pending {
        var generation: Int
        var completion: Completion
    }

    private struct State {
        var nextID: UInt64 = 1
        var pending: [UInt64: Pending] = [:]
        var running = true
        /// How long the poll thread's last flush may take, set by ``shutdown(flushTimeout:)``.
        var flushTimeoutMs: Int32 = 10_000
        /// The client records go to, and how many clients came before it (each replaced after a fatal error).
        var client: RDKafkaClient?
        var replacements = 0
        /// Whether the client delivered a record since it replaced another, and when it did. A replacement that hits
        /// a fatal error soon and before delivering anything (a cluster that refuses idempotent producers does that
        /// at its first request) is replaced after a pause that grows with each such replacement in a row, and its
        /// records fail as not retriable.
        var deliveredSinceReplacement = true
        var replacedAt = ContinuousClock.now
        var fruitlessReplacements = 0
        /// Waiting before the next client, after one that replaced another hit a fatal error before delivering.
        var pausing = false

        /// Whether the current client replaced another less than ``KafkaProducer/fruitlessWindow`` ago and has
        /// delivered nothing: a fatal error of its own is then the cluster's answer to every producer, not one
        /// client's lost state (a replacement that was merely idle for a while is not held against it).
        var replacementFailsToo: Bool {
            replacements > 0 && !deliveredSinceReplacement && ContinuousClock.now - replacedAt < KafkaProducer.fruitlessWindow
        }
    }

    private let state: Locked<State>
    private let pollThread: KafkaPollThread
    private let logger: Logger

    /// The properties every producer gets unless the caller sets them: idempotence, `acks=all`, a short linger.
    public static let defaultProperties: [String: String] = [
        "enable.idempotence": "true", "acks": "all", "linger.ms": "5", "log_level": "3",
    ]

    /// What the producer sets whatever the given properties say: the webhook inbox's `202` and a dead letter
    /// before its offset's commit stand on records every in-sync replica has, written once.
    public static let enforcedProperties: [String: String] = ["enable.idempotence": "true", "acks": "all"]

    /// Whether librdkafka reads `given` as `value` for the property `name`: `acks` `-1` is `all`, and a boolean is
    /// also `t` or `1`, in any case. Nil (not given) is never the value.
    static func means(_ given: String?, _ value: String, for name: String) -> Bool {
        guard let given = given?.lowercased() else { return false }
        switch (name, value) {
        case ("acks", "all"): return given == "all" || given == "-1"
        case (_, "true"): return given == "true" || given == "t" || given == "1"
        default: return given == value
        }
    }

    /// Creates a producer and starts its poll thread.
    ///
    /// - Parameters:
    ///   - bootstrapServers: `host:port[,host:port…]`.
    ///   - properties: librdkafka properties, on top of ``defaultProperties`` (SASL/SSL included); those of
    ///     ``enforcedProperties`` are kept as they are there (a warning names any given otherwise).
    ///   - logger: where client errors go (secrets are never logged).
    /// - Throws: ``KafkaError`` when a property is refused or the client cannot be created.
    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws(KafkaError) {
        let state = Locked(State())
        self.state = state
        self.logger = logger
        var all = Self.defaultProperties.merging(properties) { _, given in given }
        for (name, value) in Self.enforcedProperties where !Self.means(all[name], value, for: name) {
            logger.warning(
                "kafka.properties sets \(name) for the producer; Sluice keeps \(value)",
                metadata: ["property": "\(name)", "given": "\(all[name] ?? "")"])
            all[name] = value
        }
        all["bootstrap.servers"] = bootstrapServers
        let clientProperties = all
        let makeClient = { @Sendable () throws(KafkaError) -> RDKafkaClient in
            try Self.makeClient(properties: clientProperties, state: state, logger: logger)
        }
        let first = try makeClient()
        state.withLock { $0.client = first }
        self.pollThread = KafkaPollThread(name: "sluice-produce") {
            // Replaced clients, destroyed here (`rd_kafka_destroy` blocks) once no `send` holds one any more.
            var retired: [RDKafkaClient] = []
            while state.withLock({ $0.running }) {
                guard let client = state.withLock({ $0.client }) else { return }
                client.poll(timeoutMs: 50)
                if let fatal = client.fatalClientError(),
                    Self.replace(client, after: fatal, makeClient: makeClient, state: state, logger: logger)
                {
                    retired.append(client)
                }
                var index = 0
                while index < retired.count {
                    if isKnownUniquelyReferenced(&retired[index]) { retired.remove(at: index) } else { index += 1 }
                }
            }
            retired.removeAll()
            if let client = state.withLock({ $0.client }) {
                _ = client.flush(timeoutMs: state.withLock { $0.flushTimeoutMs })
                client.poll(timeoutMs: 0)
            }
            let orphans = state.withLock { state -> [Pending] in
                defer { state.pending = [:] }
                return Array(state.pending.values)
            }
            for orphan in orphans {
                orphan.completion(.failure(KafkaError(kind: .shutdown, message: "the producer was closed")))
            }
            // The client's delivery callback holds `state`: the client is destroyed only once `state` lets it go.
            state.withLock { $0.client = nil }
        }
    }

    /// A client whose delivery reports complete the records in `state`.
    private static func makeClient(
        properties: [String: String], state: Locked<State>, logger: Logger
    ) throws(KafkaError) -> RDKafkaClient {
        let callbacks = RDKafkaCallbacks(
            error: { error in
                if error.code == RD_KAFKA_RESP_ERR__FATAL.rawValue {
                    logger.error("kafka producer fatal error (a new producer replaces it): \(error)")
                } else {
                    logger.debug("kafka producer: \(error)")
                }
            },
            delivery: { report in
                let pending = state.withLock { state in
                    if case .success = report.result { state.deliveredSinceReplacement = true }
                    return state.pending.removeValue(forKey: report.id)
                }
                pending?.completion(report.result.map { Delivery(partition: $0.partition, offset: $0.offset) })
            },
            log: { level, facility, message in
                logger.log(level: level <= 3 ? .error : .debug, "librdkafka \(facility): \(message)")
            })
        return try RDKafkaClient.producer(properties: properties, callbacks: callbacks)
    }

    /// Replaces a client that hit a fatal error (on the poll thread): new records go to a new client at once, the
    /// old one's records get their delivery reports while it drains (at most 5 s: librdkafka fails what it had
    /// queued at once, and reports what was in flight when the brokers answer), and what it never reported fails.
    ///
    /// A client that itself replaced another and hit a fatal error before delivering anything is replaced only after
    /// a pause (1 s, doubling up to 60 s, while the source stays stopped), so that a cluster refusing every idempotent
    /// producer does not get a new client, its threads and its connections every few milliseconds.
    /// - Returns: whether `old` was replaced (false when no new client could be created; tried again on the next turn).
    private static func replace(
        _ old: RDKafkaClient, after fatal: KafkaError, makeClient: () throws(KafkaError) -> RDKafkaClient,
        state: Locked<State>, logger: Logger
    ) -> Bool {
        let (repeated, fruitless) = state.withLock { ($0.replacementFailsToo, $0.fruitlessReplacements + 1) }
        if repeated {
            let pause = Duration.seconds(min(60, 1 << min(fruitless - 1, 6)))
            logger.error(
                "kafka producer: the new producer hit a fatal error too before delivering anything; the next in \(pause)",
                metadata: ["kafka.error": "\(fatal)"])
            let until = ContinuousClock.now + pause
            state.withLock { $0.pausing = true }
            defer { state.withLock { $0.pausing = false } }
            while ContinuousClock.now < until, state.withLock({ $0.running }) {
                old.poll(timeoutMs: 50)
            }
            guard state.withLock({ $0.running }) else { return false }
        }
        let fresh: RDKafkaClient
        do {
            fresh = try makeClient()
        } catch {
            logger.error("kafka producer: cannot create a new producer after a fatal error (trying again): \(error)")
            Thread.sleep(forTimeInterval: 1)
            return false
        }
        let retired = state.withLock { state -> Int in
            state.client = fresh
            state.replacements += 1
            state.fruitlessReplacements = repeated ? fruitless : 0
            state.deliveredSinceReplacement = false
            state.replacedAt = .now
            return state.replacements - 1
        }
        logger.warning(
            "kafka producer replaced after a fatal error; records not yet acknowledged are sent again by their callers",
            metadata: ["kafka.error": "\(fatal)", "replacements": "\(retired + 1)"])
        let deadline = ContinuousClock.now + .seconds(5)
        while old.outQueueLength > 0, ContinuousClock.now < deadline, state.withLock({ $0.running }) {
            old.poll(timeoutMs: 10)
            fresh.poll(timeoutMs: 0)
        }
        let orphans = state.withLock { state -> [Pending] in
            let ids = state.pending.filter { $0.value.generation == retired }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        let failure = Self.replacedError(fatal, repeated: repeated)
        for orphan in orphans { orphan.completion(.failure(failure)) }
        return true
    }

    /// What a record given to a client that hit a fatal error fails with: retriable, since the next `send` goes to
    /// a new client; unless the client was itself a replacement that delivered nothing (`repeated`): then the next
    /// one will most likely fail the same way, and the error is not retriable, so that a source waiting on it reports
    /// itself not ready. The record may have reached the broker (it was in flight): at least once.
    static func replacedError(_ fatal: KafkaError, repeated: Bool) -> KafkaError {
        guard repeated else {
            return KafkaError(
                kind: .client, code: RD_KAFKA_RESP_ERR__FATAL.rawValue,
                message: "the producer hit a fatal error and is replaced; send the record again (\(fatal.message))")
        }
        return KafkaError(
            kind: .fatal, code: RD_KAFKA_RESP_ERR__FATAL.rawValue,
            message:
                "every new producer hits a fatal error before delivering anything; does the cluster allow idempotent producers (the IdempotentWrite ACL on Kafka before 2.8)? (\(fatal.message))"
        )
    }

    /// How many times a client was replaced after a fatal error.
    public var replacements: Int { state.withLock { $0.replacements } }

    /// Whether the cluster seems to refuse this producer, for readiness: a client that replaced another hit a fatal
    /// error before delivering anything, and the producer is pausing before the next one, or the next one has not
    /// delivered yet. False again once a record is delivered.
    public var isRefused: Bool {
        state.withLock { $0.pausing || ($0.fruitlessReplacements > 0 && !$0.deliveredSinceReplacement) }
    }

    /// How soon after its start a replacement's fatal error counts against the cluster (see `State.replacementFailsToo`).
    static let fruitlessWindow = Duration.seconds(30)

    /// How many replacements in a row followed a client that replaced another and delivered nothing (each after a
    /// pause); 0 once a client delivers.
    var fruitlessReplacements: Int { state.withLock { $0.fruitlessReplacements } }

    /// Raises a fatal error on the current client the way the brokers can (`rd_kafka_test_fatal_error`), for tests
    /// of what follows it.
    func raiseFatalError(reason: String) {
        _ = state.withLock { $0.client }?.withHandle {
            rd_kafka_test_fatal_error($0, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
        }
    }

    /// Produces one record and waits for the broker's acknowledgement.
    ///
    /// - Parameter waitingForRoom: whether a full local queue (`queue.buffering.max.messages`) is waited out;
    ///   when false the record is refused at once with `_QUEUE_FULL` (``KafkaError/isQueueFull``).
    /// - Returns: the partition and offset the record was stored at.
    /// - Throws: ``KafkaError`` when the record is refused or its delivery fails (after librdkafka's own retries),
    ///   or at once when the calling task is cancelled (the record may still be delivered: at least once).
    @discardableResult
    public func send(_ message: Message, waitingForRoom: Bool = true) async throws(KafkaError) -> Delivery {
        let results = await sendEach([message], waitingForRoom: waitingForRoom)
        return try results[0].get()
    }

    /// Produces many records and waits until each has its delivery report (or the calling task is cancelled).
    ///
    /// - Returns: the failures, in no order (empty when every record was stored).
    public func sendAll(_ messages: [Message]) async -> [KafkaError] {
        await sendEach(messages, waitingForRoom: true).compactMap { if case .failure(let error) = $0 { error } else { nil } }
    }

    /// The wait for a batch's delivery reports.
    private struct Reports {
        var results: [Result<Delivery, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<Void, Never>?
        var cancelled = false
    }

    /// What a record still unacknowledged when its sender's task was cancelled becomes.
    static let cancelledError = KafkaError(
        kind: .shutdown, message: "cancelled before the broker acknowledged the record (it may still be delivered)")

    /// Enqueues every message (waiting out a full local queue without blocking a thread, unless told not to),
    /// then waits for every delivery report; the results are in the order of `messages`. Cancellation ends the
    /// wait at once: what has no report yet fails with ``cancelledError``.
    func sendEach(_ messages: [Message], waitingForRoom: Bool) async -> [Result<Delivery, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        let reports = Locked(Reports(results: Array(repeating: nil, count: messages.count), remaining: messages.count))
        let complete: @Sendable (Int, Result<Delivery, KafkaError>) -> Void = { index, result in
            let waiter = reports.withLock { reports -> CheckedContinuation<Void, Never>? in
                reports.results[index] = result
                reports.remaining -= 1
                return reports.remaining == 0 ? reports.waiter.take() : nil
            }
            waiter?.resume()
        }
        for (index, message) in messages.enumerated() {
            while !enqueue(message, completion: { complete(index, $0) }) {
                if !waitingForRoom || Task.isCancelled {
                    complete(index, .failure(Task.isCancelled ? Self.cancelledError : Self.queueFullError))
                    break
                }
                try? await Task.sleep(for: .milliseconds(1))  // the poll thread drains the local queue
            }
            if index % 1024 == 1023 { await Task.yield() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let done = reports.withLock { reports -> Bool in
                    guard reports.remaining > 0, !reports.cancelled else { return true }
                    reports.waiter = continuation
                    return false
                }
                if done { continuation.resume() }
            }
        } onCancel: {
            let waiter = reports.withLock { reports -> CheckedContinuation<Void, Never>? in
                reports.cancelled = true
                return reports.waiter.take()
            }
            waiter?.resume()
        }
        return reports.withLock { $0.results.map { $0 ?? .failure(Self.cancelledError) } }
    }

    /// A record refused because the local queue is full and the caller would not wait.
    static let queueFullError = KafkaError(
        kind: .client, code: RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
        message: "the producer's local queue is full (queue.buffering.max.messages)")

    /// Enqueues a record; `completion` runs on the poll thread with its delivery report, or at once when it is
    /// refused. Returns false, without calling `completion`, when the local queue is full (the record is still the
    /// caller's to send again).
    private func enqueue(_ message: Message, completion: @escaping Completion) -> Bool {
        guard let (id, client) = state.withLock({ state -> (UInt64, RDKafkaClient)? in
            guard state.running, let client = state.client else { return nil }
            defer { state.nextID += 1 }
            state.pending[state.nextID] = Pending(generation: state.replacements, completion: completion)
            return (state.nextID, client)
        }) else {
            completion(.failure(KafkaError(kind: .shutdown, message: "the producer was closed")))
            return true
        }
        do {
            try client.produce(
                topic: message.topic, partition: message.partition, key: message.key, value: message.value,
                headers: message.headers.map { ($0.name, $0.value) }, id: id)
        } catch {
            let (pending, repeated) = state.withLock { ($0.pending.removeValue(forKey: id), $0.replacementFailsToo) }
            // Full: sent again once there is room; unless the shutdown's sweep has already failed the record (it took
            // it out of `pending`), which would then be completed twice.
            if error.code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue { return pending == nil }
            // A client that hit a fatal error refuses every record until the poll thread has replaced it.
            let fatal = error.kind == .fatal || error.code == RD_KAFKA_RESP_ERR__FATAL.rawValue
            pending?.completion(.failure(fatal ? Self.replacedError(error, repeated: repeated) : error))
        }
        return true
    }

    /// Whether ``shutdown()`` has finished: the poll thread stopped and the client was flushed.
    public var isClosed: Bool { pollThread.isFinished }

    /// Delivers what is queued (waiting at most `flushTimeout`), stops the poll thread and fails anything
    /// undelivered. A caller that no longer waits for any record (every sender gone) need not flush at all.
    public func shutdown(flushTimeout: Duration = .seconds(10)) async {
        let milliseconds = flushTimeout.clampedMilliseconds
        state.withLock {
            $0.flushTimeoutMs = max(0, milliseconds)
            $0.running = false
        }
        await pollThread.join()
    }
}
