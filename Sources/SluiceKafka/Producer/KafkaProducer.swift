import CRdKafka
public import Logging

/// A Kafka producer: idempotent, `acks=all`, with delivery reports served on its own poll thread.
///
/// `send` returns once the broker has acknowledged the record (or throws why it could not), which is
/// what the dead-letter path and the webhook inbox need before they acknowledge their own source.
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

    private struct State {
        var nextID: UInt64 = 1
        var pending: [UInt64: Completion] = [:]
        var running = true
        /// How long the poll thread's last flush may take, set by ``shutdown(flushTimeout:)``.
        var flushTimeoutMs: Int32 = 10_000
    }

    private let client: RDKafkaClient
    private let state: Locked<State>
    private let pollThread: KafkaPollThread
    private let logger: Logger

    /// The properties every producer gets unless the caller sets them: idempotence, `acks=all`, a short linger.
    public static let defaultProperties: [String: String] = [
        "enable.idempotence": "true", "acks": "all", "linger.ms": "5", "log_level": "3",
    ]

    /// Creates a producer and starts its poll thread.
    ///
    /// - Parameters:
    ///   - bootstrapServers: `host:port[,host:port…]`.
    ///   - properties: librdkafka properties, on top of ``defaultProperties`` (SASL/SSL included).
    ///   - logger: where client errors go (secrets are never logged).
    /// - Throws: ``KafkaError`` when a property is refused or the client cannot be created.
    public init(bootstrapServers: String, properties: [String: String] = [:], logger: Logger) throws(KafkaError) {
        let state = Locked(State())
        self.state = state
        self.logger = logger
        var all = Self.defaultProperties.merging(properties) { _, given in given }
        all["bootstrap.servers"] = bootstrapServers
        let callbacks = RDKafkaCallbacks(
            error: { error in logger.debug("kafka producer: \(error)") },
            delivery: { report in
                let completion = state.withLock { $0.pending.removeValue(forKey: report.id) }
                completion?(report.result.map { Delivery(partition: $0.partition, offset: $0.offset) })
            },
            log: { level, facility, message in
                logger.log(level: level <= 3 ? .error : .debug, "librdkafka \(facility): \(message)")
            })
        let client = try RDKafkaClient.producer(properties: all, callbacks: callbacks)
        self.client = client
        self.pollThread = KafkaPollThread(name: "sluice-produce") {
            while state.withLock({ $0.running }) { client.poll(timeoutMs: 50) }
            _ = client.flush(timeoutMs: state.withLock { $0.flushTimeoutMs })
            client.poll(timeoutMs: 0)
            let orphans = state.withLock { state -> [Completion] in
                defer { state.pending = [:] }
                return Array(state.pending.values)
            }
            for orphan in orphans { orphan(.failure(KafkaError(kind: .shutdown, message: "the producer was closed"))) }
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
    private func sendEach(_ messages: [Message], waitingForRoom: Bool) async -> [Result<Delivery, KafkaError>] {
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
    /// refused. Returns false, without calling `completion`, when the local queue is full.
    private func enqueue(_ message: Message, completion: @escaping Completion) -> Bool {
        guard let id = state.withLock({ state -> UInt64? in
            guard state.running else { return nil }
            defer { state.nextID += 1 }
            state.pending[state.nextID] = completion
            return state.nextID
        }) else {
            completion(.failure(KafkaError(kind: .shutdown, message: "the producer was closed")))
            return true
        }
        do {
            try client.produce(
                topic: message.topic, partition: message.partition, key: message.key, value: message.value,
                headers: message.headers.map { ($0.name, $0.value) }, id: id)
        } catch {
            let completion = state.withLock { $0.pending.removeValue(forKey: id) }
            if error.code == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue { return false }
            completion?(.failure(error))
        }
        return true
    }

    /// Whether ``shutdown()`` has finished: the poll thread stopped and the client was flushed.
    public var isClosed: Bool { pollThread.isFinished }

    /// Delivers what is queued (waiting at most `flushTimeout`), stops the poll thread and fails anything
    /// undelivered. A caller that no longer waits for any record (every sender gone) need not flush at all.
    public func shutdown(flushTimeout: Duration = .seconds(10)) async {
        let milliseconds = Int32(clamping: flushTimeout.components.seconds * 1_000 + flushTimeout.components.attoseconds / 1_000_000_000_000_000)
        state.withLock {
            $0.flushTimeoutMs = max(0, milliseconds)
            $0.running = false
        }
        await pollThread.join()
    }
}
