import CRdKafka
import CoreMetrics
import Foundation
import Logging
import SluiceCore
import Synchronization

extension KafkaSource {
    /// The poll thread's body: fetch what the buffer has room for, pause/resume, commit, report lag,
    /// serve rebalances; on stop, leave the group (which drains and commits through the revoke callback).
    func pollLoop() {
        let clock = ContinuousClock()
        var lastCommit = clock.now
        var lastLag = clock.now
        var lastProbe: ContinuousClock.Instant?
        var records: [KafkaRecord] = []
        records.reserveCapacity(configuration.maxBatch)
        while true {
            let plan = state.withLock {
                $0.plan(
                    pauseAbove: configuration.pauseAbove, resumeBelow: configuration.resumeBelow,
                    maxBatch: configuration.maxBatch, now: clock.now, pauseAfter: configuration.pauseAfter,
                    maxUncommitted: configuration.maxUncommitted)
            }
            guard plan.running else { break }
            if !plan.pause.isEmpty {
                client.pause(plan.pause)
                metrics.paused.record(1)
                logger.debug("kafka partitions paused: the gate is full", metadata: ["kafka.partitions": "\(plan.pause)"])
            }
            if !plan.resume.isEmpty {
                client.resume(plan.resume)
                metrics.paused.record(0)
                logger.debug("kafka partitions resumed", metadata: ["kafka.partitions": "\(plan.resume)"])
            }
            countAnsweredCommits(waitingUpTo: 0)
            let now = clock.now
            if now - lastCommit >= configuration.commitInterval {
                commitDue(async: true)
                lastCommit = now
            }
            if now - lastLag >= .seconds(1) {
                reportLag()
                reportGauges()
                lastLag = now
            }
            if !readiness.isReady, lastProbe.map({ now - $0 >= .seconds(2) }) ?? true {
                probeReadiness()
                lastProbe = clock.now
            }
            if plan.fetchLimit == 0, !plan.paused {
                // Full but not paused yet: wait briefly without fetching (callbacks wait at most `pauseAfter`).
                usleep(500)
                continue
            }
            fetch(limit: plan.fetchLimit, into: &records)
            if !records.isEmpty {
                // Normalised here, off the dispatch loop: the poll thread mostly waits on librdkafka, while the
                // dispatch loop is the source's busiest task.
                let receivedAt = Date()
                let fetched = records.map { normalise($0, receivedAt: receivedAt) }
                let (waiter, buffered, rewinds) = state.withLock { state in
                    (state.append(fetched, at: clock.now), state.undispatched, state.takeRewinds())
                }
                for rewind in rewinds { rewound(rewind) }
                metrics.received.increment(by: Int64(records.count))
                metrics.buffered.record(buffered)
                records.removeAll(keepingCapacity: true)
                waiter?.resume()
            }
        }
        commitDue(async: false)
        if let error = client.closeConsumer() { logger.warning("kafka consumer close: \(error)") }
        state.withLock { $0.phase = .closed }
    }

    /// The partition whose position librdkafka reset after a fetch error, and the fetch offset it failed at, from
    /// its `OFFSET` warning ("[thrd:main]: orders [3]: offset reset (at offset 120, broker 1) to cached BEGINNING
    /// offset 0: …"); nil for any other message. A topic name has no spaces: it is the word before the partition.
    /// librdkafka 2.0.2 has no event for a reset under `auto.offset.reset=earliest|latest`: this warning is
    /// what tells a log that went back from a fetch restarted at an earlier position.
    static func offsetReset(announcedIn message: String) -> (partition: TopicPartition, at: Int64)? {
        let marker = "]: offset reset (at offset "
        guard let found = message.range(of: marker) else { return nil }
        let head = message[..<found.lowerBound]
        guard let open = head.range(of: " [", options: .backwards), let partition = Int32(head[open.upperBound...]),
            let topic = head[..<open.lowerBound].split(separator: " ").last
        else { return nil }
        let tail = message[found.upperBound...]
        guard let offset = Int64(tail.prefix { $0.isNumber }) else { return nil }
        return (TopicPartition(topic: String(topic), partition: partition), offset)
    }

    private func rewound(_ rewind: Rewind) {
        metrics.rewinds.increment()
        logger.warning(
            "kafka partition went back: librdkafka reset its offset below what was read (its log was truncated, or its topic made again); the records from there are taken again (the ledger answers those already decided)",
            metadata: [
                "kafka.partition": "\(rewind.partition)", "offset.last": "\(rewind.from.map { "\($0)" } ?? "-")",
                "offset.now": "\(rewind.to)",
            ])
    }

    /// Polls up to `limit` records: waits up to 100 ms for the first, takes the rest only if already queued.
    /// With a limit of 0 it still polls once, to serve callbacks and heartbeats.
    private func fetch(limit: Int, into records: inout [KafkaRecord]) {
        var timeout: Int32 = 100
        repeat {
            guard let polled = client.consumerPoll(timeoutMs: timeout) else { return }
            timeout = 0
            switch polled {
            case .record(let record): records.append(record)
            case .error(let error, let partition): consumerError(error, partition: partition)
            }
        } while records.count < limit
    }

    private func consumerError(_ error: KafkaError, partition: TopicPartition?) {
        switch rd_kafka_resp_err_t(error.code) {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF: return
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            logger.error("kafka consumer error: \(error)", metadata: ["kafka.partition": "\(partition.map { "\($0)" } ?? "-")"])
            state.withLock { if $0.phase == .running { $0.readiness = .notReady(error) } }
        default:
            logger.warning("kafka consumer error: \(error)", metadata: ["kafka.partition": "\(partition.map { "\($0)" } ?? "-")"])
        }
    }

    /// Commits the offsets that advanced since the last commit. Asynchronous commits report through the
    /// offset-commit callback; a synchronous one is retried once (a rebalance in progress, a coordinator move).
    ///
    /// A synchronous commit is the last one before partitions are given up or the group is left, so it first waits
    /// (up to ``lastCommitWait``) for the asynchronous commits in flight: librdkafka sends one again after a retriable
    /// error, and landing after the last commit it would leave the group at its older offset, for the next owner to
    /// take those records again.
    func commitDue(async: Bool, only partitions: [TopicPartition]? = nil) {
        var due = state.withLock { $0.dueCommits(only: partitions, includingSent: !async) }
        guard !due.isEmpty else { return }
        if !async, commitsInFlight.load(ordering: .relaxed) > 0 {
            awaitCommitsInFlight()
            // What settled meanwhile too.
            due = state.withLock { $0.dueCommits(only: partitions, includingSent: true) }
        }
        do {
            try client.commit(due, async: async)
            if async {
                commitsInFlight.add(1, ordering: .relaxed)
            } else {
                state.withLock { $0.committed(due, at: .now) }
            }
        } catch {
            if !async, (try? client.commit(due, async: false)) != nil {
                state.withLock { $0.committed(due, at: .now) }
                return
            }
            metrics.commitFailures.increment()
            logger.warning("kafka commit failed: \(error)")
            state.withLock { $0.commitFailed(due) }
        }
    }

    /// The longest a last commit waits for the asynchronous commits in flight (one that takes longer is stuck on an
    /// unreachable coordinator, and the last commit would fail too).
    static let lastCommitWait: Duration = .seconds(5)

    /// Waits until every asynchronous commit sent has its result, or ``lastCommitWait`` has passed. Once a wait has
    /// given up, the next ones (the close's revoke after the shutdown's last commit) do not wait for the same
    /// unanswered commit again.
    private func awaitCommitsInFlight() {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.lastCommitWait
        while commitsInFlight.load(ordering: .relaxed) > 0 {
            if commitWaitGaveUp.load(ordering: .relaxed) { return }
            guard clock.now < deadline else {
                commitWaitGaveUp.store(true, ordering: .relaxed)
                logger.warning(
                    "kafka commit: an earlier commit is still unanswered; the last commit goes ahead (if the earlier one lands after it, the group's offset goes back and the next owner takes those records again)",
                    metadata: ["count": "\(commitsInFlight.load(ordering: .relaxed))"])
                return
            }
            countAnsweredCommits(waitingUpTo: 100)
        }
    }

    /// Takes the count of answered asynchronous commits off ``commitsInFlight`` (waiting up to `timeoutMs` for one).
    func countAnsweredCommits(waitingUpTo timeoutMs: Int32) {
        let answered = client.answeredCommits(waitingUpTo: timeoutMs)
        guard answered > 0 else { return }
        if commitsInFlight.subtract(answered, ordering: .relaxed).newValue == 0 {
            commitWaitGaveUp.store(false, ordering: .relaxed)
        }
    }

    /// Lag per owned partition: the high watermark (from librdkafka's cache) minus the committed offset. A partition
    /// with no commit by this consumer yet and nothing settled (newly assigned, idle) is not reported: its lag is
    /// not known here, and the high watermark alone would read as that many records behind.
    /// Sets the buffer and pause gauges from the state (the buffer also drains while nothing is fetched, and a
    /// source with no partition left pauses none).
    private func reportGauges() {
        let (buffered, paused) = state.withLock { ($0.undispatched, $0.statistics.paused && !$0.partitions.isEmpty) }
        metrics.buffered.record(buffered)
        metrics.paused.record(paused ? 1 : 0)
    }

    private func reportLag() {
        let positions = state.withLock { state in
            state.partitions.map { partition, value in
                (partition, state.statistics.committed[partition] ?? value.watermark.committable)
            }
        }
        for (partition, committed) in positions {
            guard let committed, let high = client.cachedHighWatermark(partition) else { continue }
            metrics.recordLag(partition, lag: max(0, high - committed))
        }
    }

    /// Asks the cluster for metadata while the source is not ready: an unreachable bootstrap or an unknown
    /// topic becomes a readiness failure with librdkafka's error.
    private func probeReadiness() {
        do {
            for topic in configuration.topics {
                guard try client.metadata(topic: topic, timeoutMs: 1_000) != nil else {
                    let error = KafkaError(
                        kind: .client, code: RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue,
                        message: "topic '\(topic)' does not exist (or is not visible to this client)")
                    setNotReady(error)
                    return
                }
            }
            // A lost session stays not ready until the group assigns again, and a refused dead letter until it is
            // produced, even with every broker answering.
            state.withLock {
                if $0.phase == .running, !$0.readiness.isReady, !$0.sessionLost, $0.publishBlocked == nil {
                    $0.readiness = .ready
                }
            }
        } catch {
            setNotReady(error)
        }
    }

    private func setNotReady(_ error: KafkaError) {
        let changed = state.withLock { state -> Bool in
            guard state.phase == .running, state.readiness != .notReady(error) else { return false }
            state.readiness = .notReady(error)
            return true
        }
        if changed { logger.error("kafka source not ready: \(error)") }
    }

    // MARK: - Rebalance (on the poll thread, inside consumerPoll or closeConsumer)

    func rebalanced(_ event: RDKafkaRebalance) {
        switch event.kind {
        case .assign:
            state.withLock { $0.assign(event.partitions) }
            metrics.assignments.increment()
            logger.info("kafka partitions assigned", metadata: ["kafka.partitions": "\(event.partitions.sorted())"])
        case .revoke:
            revoke(event.partitions, lost: event.lost)
        case .error:
            logger.error("kafka rebalance error: \(event.error.map { "\($0)" } ?? "unknown")")
            revoke(state.withLock { Array($0.partitions.keys) }, lost: true)
        }
    }

    /// Stops admitting from `partitions`, gives their in-flight work the drain budget to finish (the gate abandons
    /// what is still running at its end), commits what is done (unless the partitions were lost), and forgets
    /// them. The caller then gives them up.
    private func revoke(_ partitions: [TopicPartition], lost: Bool) {
        guard !partitions.isEmpty else { return }
        let clock = ContinuousClock()
        let started = clock.now
        state.withLock { $0.beginRevoke(partitions, lost: lost) }
        (lost ? metrics.losses : metrics.revocations).increment()
        // Lost partitions (the session ended) may already belong to another member: their offsets are not
        // committed, but their in-flight work still drains, so that fewer effects reach the engine twice.
        // The gate's budget starts now, alongside this wait: admitted events that have not started are
        // abandoned at once, running ones at the deadline, so no work of these partitions outlives the hand-over.
        let admitted = state.withLock { $0.inFlightEvents(partitions) }
        if !admitted.isEmpty { requestCancellation(admitted) }
        waitForDrain(partitions, until: started + configuration.drainBudget + .seconds(1))
        let remaining = state.withLock { $0.inFlightCount(partitions) }
        if remaining > 0 {
            logger.warning(
                "kafka revoke: drain budget spent with events unsettled (redelivered to the next owner)",
                metadata: ["kafka.partitions": "\(partitions.sorted())", "count": "\(remaining)"])
        }
        if !lost { commitDue(async: false, only: partitions) }
        let unfinished = state.withLock { state -> Int in
            defer { state.remove(partitions) }
            return state.inFlightCount(partitions)
        }
        metrics.forgetLag(partitions)
        logger.info(
            "kafka partitions revoked",
            metadata: [
                "kafka.partitions": "\(partitions.sorted())", "lost": "\(lost)", "unfinished": "\(unfinished)",
                "took": "\(clock.now - started)",
            ])
    }

    /// Sleeps in short steps until `partitions` have nothing in flight or `deadline` passes (the poll thread may block).
    private func waitForDrain(_ partitions: [TopicPartition], until deadline: ContinuousClock.Instant) {
        let clock = ContinuousClock()
        while state.withLock({ $0.inFlightCount(partitions) }) > 0, clock.now < deadline {
            usleep(2_000)
        }
    }

    /// Asks the handler to cancel `events` within the gate's budget (waiting at most a second for the request
    /// itself; the poll thread may block).
    private func requestCancellation(_ events: [Event]) {
        let done = DispatchSemaphore(value: 0)
        let handler = self.handler
        Task {
            await handler.cancel(events: events, reason: "kafka partitions revoked")
            done.signal()
        }
        _ = done.wait(timeout: .now() + 1)
    }
}
