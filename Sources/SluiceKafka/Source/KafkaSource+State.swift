import CRdKafka
import Foundation
import SluiceCore

extension KafkaSource {
    /// A record fetched for a partition generation (an assignment); stale once the partition is revoked, or
    /// once its log went back to this offset or an earlier one (the record there is fetched again).
    ///
    /// A class: a ticket is handed from the buffer to the dispatch loop, the in-flight table and a settlement
    /// closure, and copying a reference is one retain where copying the record and its event was dozens.
    final class Ticket: Sendable {
        let fetched: Fetched
        let generation: UInt64
        /// How many times the partition's log had gone back under this generation when the record was fetched.
        let epoch: Int
        let fetchedAt: ContinuousClock.Instant
        let partition: TopicPartition

        init(_ fetched: Fetched, generation: UInt64, epoch: Int = 0, fetchedAt: ContinuousClock.Instant) {
            self.fetched = fetched
            partition = fetched.record.topicPartition
            self.generation = generation
            self.epoch = epoch
            self.fetchedAt = fetchedAt
        }

        var record: KafkaRecord { fetched.record }
        /// The record's event (a placeholder when `invalid` says why it cannot be one).
        var event: Event { fetched.event }
        var invalid: Invalid? { fetched.invalid }
    }

    /// Why a record cannot become an event: it is dead-lettered with this reason.
    struct Invalid: Sendable {
        var reason: String
        var detail: String
    }

    /// A fetched record normalised on the poll thread, before it is buffered.
    ///
    /// A class, so that buffering it under the source's lock retains one reference instead of copying the
    /// record and its event (a copy and a destruction that showed in profiles of the poll thread).
    final class Fetched: Sendable {
        let record: KafkaRecord
        let event: Event
        let invalid: Invalid?

        init(record: KafkaRecord, event: Event, invalid: Invalid?) {
            self.record = record
            self.event = event
            self.invalid = invalid
        }
    }

    /// What the poll thread does next.
    struct FlowPlan {
        var running: Bool
        var pause: [TopicPartition]
        var resume: [TopicPartition]
        var fetchLimit: Int
        /// Whether the partitions are paused (so polling returns no records, only callbacks).
        var paused = false
    }

    /// What becomes of an event that must be submitted again (refused, abandoned, or not recorded).
    enum RetryDecision {
        /// Unordered: a retry job submits it again after a backoff.
        case retry
        /// Ordered: it waits first in its partition's queue; start the partition's drain job.
        case drain
        /// Ordered: it waits in its partition's queue, which a drain job is already working through.
        case queued
        /// The partition is leaving or the source stopping: left uncommitted for the partition's next owner.
        case giveUp
    }

    /// What the dispatch loop does with a buffered record.
    enum Admission {
        case submit
        /// Its partition has records waiting to be submitted again: it queues behind them, in offset order.
        case hold
        /// Its partition is leaving (or the source stopping): dropped, fetched again by the next owner.
        case drop
    }

    /// A partition's log that went back under its owner: records were fetched again from `to`, after `from`.
    struct Rewind: Equatable {
        let partition: TopicPartition
        let from: Int64?
        let to: Int64
    }

    /// A record of an ordered adapter waiting for its turn, and the earliest it may be submitted again.
    struct Held {
        let ticket: Ticket
        let attempt: Int
        let notBefore: ContinuousClock.Instant
    }

    /// What a partition's drain job does next.
    enum DrainStep {
        case submit(Held)
        case wait(until: ContinuousClock.Instant)
        /// The queue is empty (records flow again) or the partition is leaving: the job ends.
        case done
    }

    /// Everything the poll thread, the dispatch loop and settlements share, under one lock.
    ///
    /// Pure: no I/O, no awaiting; the owner acts on what the methods return after unlocking.
    struct State {
        enum Phase { case running, stopping, closed }

        /// One owned partition's bookkeeping.
        ///
        /// A class, though only ever touched under the source's lock: read through `partitions.values[index]`, a
        /// struct was copied out whole (its in-flight table, queues and watermark retained and released) for every
        /// field read, several times per record on the poll thread and in the dispatch loop.
        final class Partition: @unchecked Sendable {
            let generation: UInt64
            var watermark = CommitWatermark()
            /// Admitted, unsettled records by offset.
            var inFlight: [Int64: Ticket] = [:]
            var revoking = false
            /// The last committable offset handed to a commit.
            var commitSent: Int64?
            /// Ordered adapters: records waiting to be submitted (again), in offset order. They are not in
            /// `inFlight`: none of them is in the gate.
            var held: [Held] = []
            /// Ordered adapters: a drain job is submitting `held` one by one; until it is done, every later
            /// record of the partition queues behind them, so that no record overtakes an earlier one of its key.
            var draining = false
            /// Unordered adapters: in-flight offsets waiting for a retry job (not in the gate).
            var retrying: Set<Int64> = []
            /// The offsets the log went back to under this generation, in order: the epoch `n` began at
            /// `rewinds[n - 1]`. A ticket of an earlier epoch at or past a later rewind's offset is stale.
            var rewinds: [Int64] = []
            /// librdkafka reset the partition's position after a fetch error (`OFFSET_OUT_OF_RANGE`) at this fetch
            /// offset: a record at or before the last offset received means the log went back, and one at or past it
            /// that the reset went forward (past retention) and the mark is spent. Without a mark, a lower record is
            /// a redelivery (librdkafka restarts a fetch from an earlier position when a resume races with a delivery).
            var resetAt: Int64?
            /// Earlier tickets that were in the gate when the log went back past them: no longer this partition's
            /// to commit, but a revoke still cancels them and waits for them, until they settle.
            var superseded: [ObjectIdentifier: Ticket] = [:]

            init(generation: UInt64) {
                self.generation = generation
            }

            var epoch: Int { rewinds.count }

            /// Admitted tickets still in the gate (or about to be), current or superseded.
            var running: Int { inFlight.count + superseded.count }

            /// Whether the log went back to `ticket`'s offset (or an earlier one) since it was fetched.
            func supersedes(_ ticket: Ticket) -> Bool {
                ticket.epoch < epoch && rewinds[ticket.epoch...].contains { $0 <= ticket.record.offset }
            }
        }

        var phase = Phase.running {
            didSet { publishHolds() }
        }
        var partitions: [TopicPartition: Partition] = [:]
        /// Whether any partition is draining or being revoked, or the source stopping: the only times a record may be
        /// taken back at the gate's door (``takeBack(_:attempt:fromQueue:at:)``). Read without the lock by the check's
        /// fast path, set under it at each change: an earlier record that ends undecided sets it before the gate lets
        /// its ordering key go, so a check made after that sees it.
        let holds = HoldGauge()
        var nextGeneration: UInt64 = 1
        private(set) var buffer: [Ticket] = []
        private var bufferHead = 0
        /// Buffered plus taken by the dispatch loop but not yet admitted or dropped.
        private(set) var undispatched = 0
        /// Records in the partitions' `held` queues: with `undispatched`, what the fetch limit counts.
        private(set) var heldCount = 0
        var paused: Set<TopicPartition> = []
        /// Newly assigned partitions that librdkafka may still hold paused (it keeps a partition's pause flag across
        /// assignments): they are resumed (or paused) explicitly on the next plan. A partition this consumer never
        /// left paused is not resumed: resuming restarts its fetch, which redelivers what it already handed out.
        var fresh: Set<TopicPartition> = []
        /// Partitions given up while paused: librdkafka still holds them paused if they come back.
        private var leftPaused: Set<TopicPartition> = []
        var wantsPause = false
        /// Since when the buffer has been full without a break (fetching stopped, partitions not paused yet).
        var fullSince: ContinuousClock.Instant?
        var dispatchWaiter: CheckedContinuation<Void, Never>?
        var readiness = KafkaReadiness.starting
        /// The group session was lost and no assignment has come since: the consumer is rejoining, not
        /// consuming, and is not ready however well the brokers answer.
        var sessionLost = false
        /// A dead letter or outcome the producer refuses for good (a missing topic, no authorization): the
        /// partition's commits wait for it, so the source is not ready until a produce succeeds again.
        var publishBlocked: KafkaError?
        var fatal: KafkaError?
        var statistics = KafkaSourceStatistics()
        /// Every 64th fetched record's offset and fetch time, per partition, until its offset is committed.
        private var latencyProbes: [TopicPartition: [(offset: Int64, fetchedAt: ContinuousClock.Instant)]] = [:]
        /// Fetch-to-commit latencies of the probed records (the most recent 65,536).
        private(set) var commitLatencies: [Duration] = []
        /// Logs that went back since the poll thread last took them (it logs each).
        private var rewound: [Rewind] = []

        /// A fatal error: the source stops with it; returns the dispatch loop's waiter to resume, so that it ends.
        mutating func fail(_ error: KafkaError) -> CheckedContinuation<Void, Never>? {
            fatal = error
            readiness = .notReady(error)
            if phase == .running { phase = .stopping }
            defer { dispatchWaiter = nil }
            return dispatchWaiter
        }

        // MARK: Assignment

        mutating func assign(_ assigned: [TopicPartition]) {
            defer { publishHolds() }
            for partition in assigned {
                partitions[partition] = Partition(generation: nextGeneration)
                nextGeneration += 1
                // Another member may have committed it further since this one last did: unknown until the next commit.
                statistics.committed[partition] = nil
                if paused.remove(partition) != nil || leftPaused.remove(partition) != nil { fresh.insert(partition) }
            }
            statistics.assignments += 1
            sessionLost = false
            // An empty assignment proves nothing: a group on a topic that does not exist gets one too. The
            // metadata probe decides then (an existing topic with more members than partitions is ready).
            if !assigned.isEmpty, publishBlocked == nil { readiness = .ready }
        }

        /// Marks `revoked` as leaving: their buffered records are dropped, nothing new is admitted.
        mutating func beginRevoke(_ revoked: [TopicPartition], lost: Bool) {
            if lost {
                statistics.losses += 1
                sessionLost = true
                if phase == .running { readiness = .notReady(Self.sessionLostError) }
            }
            let leaving = Set(revoked)
            defer { publishHolds() }
            for partition in revoked where partitions[partition] != nil {
                partitions[partition]!.revoking = true
                // Records waiting for a retry are not in the gate: nothing of theirs is left to drain.
                heldCount -= partitions[partition]!.held.count
                partitions[partition]!.held = []
                for offset in partitions[partition]!.retrying { partitions[partition]!.inFlight[offset] = nil }
                partitions[partition]!.retrying = []
            }
            let kept = buffer[bufferHead...].filter { !leaving.contains($0.partition) }
            undispatched -= (buffer.count - bufferHead) - kept.count
            buffer = Array(kept)
            bufferHead = 0
            statistics.revocations += 1
        }

        /// What readiness reports between a lost session and the next assignment.
        static let sessionLostError = KafkaError(
            kind: .client, code: RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST.rawValue,
            message: "the consumer group assignment was lost (the session timed out or the rebalance failed): rejoining the group")

        func inFlightCount(_ partitions: [TopicPartition]) -> Int {
            partitions.reduce(0) { $0 + (self.partitions[$1]?.running ?? 0) }
        }

        func inFlightEvents(_ partitions: [TopicPartition]) -> [Event] {
            partitions.flatMap { partition in
                self.partitions[partition].map { $0.inFlight.values.map(\.event) + $0.superseded.values.map(\.event) } ?? []
            }
        }

        /// Forgets `revoked` partitions: later settlements for them are ignored.
        mutating func remove(_ revoked: [TopicPartition]) {
            defer { publishHolds() }
            for partition in revoked {
                heldCount -= partitions[partition]?.held.count ?? 0
                partitions[partition] = nil
                // Still fresh: assigned and given up before a plan resumed it, so librdkafka may hold it paused.
                if paused.remove(partition) != nil || fresh.remove(partition) != nil { leftPaused.insert(partition) }
                latencyProbes[partition] = nil
            }
        }

        // MARK: Fetch and dispatch

        /// What the poll thread should do: fetch only what fits under `pauseAbove`; when the buffer has stayed at
        /// `pauseAbove` without a break for `pauseAfter` (the poll thread could not fetch, so the gate is full),
        /// pause the partitions; resume below `resumeBelow`.
        ///
        /// Pausing makes librdkafka drop what it prefetched and fetch it again on resume, so a buffer that only
        /// brushes the limit — a busy dispatcher, a gate that drains steadily — just stops fetching now and then.
        ///
        /// Records received and not yet committed count too, up to `maxUncommitted` (resumed below half): one record
        /// that cannot be settled (its dead letter cannot be produced) holds back its partition's commits, and the
        /// records behind it would otherwise pile up in memory.
        mutating func plan(
            pauseAbove: Int, resumeBelow: Int, maxBatch: Int, now: ContinuousClock.Instant = .now,
            pauseAfter: Duration = .zero, maxUncommitted: Int = .max
        ) -> FlowPlan {
            guard phase == .running else { return FlowPlan(running: false, pause: [], resume: [], fetchLimit: 0) }
            // Full while nothing can be fetched; paused partitions resume only below `resumeBelow` (hysteresis).
            let backlog = undispatched + heldCount
            var uncommitted = 0
            for partition in partitions.values { uncommitted += partition.watermark.outstanding }
            if backlog >= pauseAbove || uncommitted >= maxUncommitted {
                fullSince = fullSince ?? now
            } else {
                fullSince = nil
                if backlog < resumeBelow, uncommitted < maxUncommitted / 2 { wantsPause = false }
            }
            if let since = fullSince, !wantsPause, now - since >= pauseAfter {
                wantsPause = true
                statistics.pauses += 1
            }
            statistics.paused = wantsPause
            var pause: [TopicPartition] = []
            var resume: [TopicPartition] = []
            // Most turns change nothing: only build the sets when some partition must change.
            if wantsPause, paused.count != partitions.count || !fresh.isEmpty {
                pause = Set(partitions.keys).subtracting(paused).sorted()
                paused.formUnion(pause)
            } else if !wantsPause, !paused.isEmpty || !fresh.isEmpty {
                resume = paused.union(fresh).intersection(partitions.keys).sorted()
                paused = []
            }
            fresh = []
            return FlowPlan(
                running: true, pause: pause, resume: resume,
                fetchLimit: min(maxBatch, max(0, pauseAbove - backlog), max(0, maxUncommitted - uncommitted)),
                paused: wantsPause)
        }

        /// Buffers fetched records of owned partitions; returns the dispatch loop's waiter to resume.
        mutating func append(_ fetched: [Fetched], at now: ContinuousClock.Instant) -> CheckedContinuation<Void, Never>? {
            // A fetch holds runs of records of one partition: its entry is looked up once per run.
            var run: (partition: TopicPartition, index: Dictionary<TopicPartition, Partition>.Index?)?
            for item in fetched {
                let partition = item.record.topicPartition
                if run?.partition != partition { run = (partition, partitions.index(forKey: partition)) }
                guard phase == .running, let index = run?.index else { continue }
                let owned = partitions.values[index]
                guard !owned.revoking else { continue }
                // Nothing read yet in this assignment: no record can be read again, so a reset announced before it
                // has nothing to tell (kept, it would take a redelivery before its offset for a log that went back).
                let firstOfAssignment = owned.watermark.lastReceived == nil
                if !owned.watermark.receive(item.record.offset) {
                    guard owned.resetAt != nil else {
                        statistics.redelivered += 1
                        continue
                    }
                    rewind(at: index, to: item.record.offset)
                    owned.watermark.receive(item.record.offset)
                } else if let resetAt = owned.resetAt, item.record.offset >= resetAt || firstOfAssignment {
                    owned.resetAt = nil
                }
                buffer.append(Ticket(item, generation: owned.generation, epoch: owned.epoch, fetchedAt: now))
                undispatched += 1
                statistics.received += 1
                if statistics.received % 64 == 0 { latencyProbes[partition, default: []].append((item.record.offset, now)) }
            }
            statistics.maxBuffered = max(statistics.maxBuffered, undispatched)
            guard buffer.count > bufferHead, let waiter = dispatchWaiter else { return nil }
            dispatchWaiter = nil
            return waiter
        }

        /// librdkafka announced (in its log) that it reset `partition`'s position after a fetch error at `offset`.
        mutating func announceReset(_ partition: TopicPartition, at offset: Int64) {
            partitions[partition]?.resetAt = offset
        }

        /// The partition's log went back to `offset` (at or before a record already fetched) after librdkafka
        /// announced a reset: the log was truncated (an unclean leader election) or its topic was made again. The
        /// records from `offset` on are fetched again and taken as new ones (the ledger answers the ones already
        /// decided): their earlier tickets go stale wherever they are (buffered, held, waiting for a retry, in the
        /// gate, whose late settlements no longer count), and the committable offset goes back to `offset` if it was
        /// past it. Dropping them instead, as a redelivery, would skip the new records at those offsets for good.
        private mutating func rewind(at index: Dictionary<TopicPartition, Partition>.Index, to offset: Int64) {
            let partition = partitions.keys[index]
            rewound.append(Rewind(partition: partition, from: partitions.values[index].watermark.lastReceived, to: offset))
            statistics.rewinds += 1
            partitions.values[index].resetAt = nil
            partitions.values[index].watermark.rewind(to: offset)
            partitions.values[index].rewinds.append(offset)
            // Those waiting for a retry job are not in the gate: their jobs find them stale and stop.
            let retrying = partitions.values[index].retrying
            for (key, ticket) in partitions.values[index].inFlight where key >= offset && !retrying.contains(key) {
                partitions.values[index].superseded[ObjectIdentifier(ticket)] = ticket
            }
            partitions.values[index].inFlight = partitions.values[index].inFlight.filter { $0.key < offset }
            partitions.values[index].retrying = retrying.filter { $0 < offset }
            let held = partitions.values[index].held.count
            partitions.values[index].held.removeAll { $0.ticket.record.offset >= offset }
            heldCount -= held - partitions.values[index].held.count
            latencyProbes[partition]?.removeAll { $0.offset >= offset }
        }

        /// The logs that went back since the last call.
        mutating func takeRewinds() -> [Rewind] {
            guard !rewound.isEmpty else { return [] }
            defer { rewound = [] }
            return rewound
        }

        var hasBuffered: Bool { buffer.count > bufferHead }

        /// How many taken tickets the buffer may keep ahead of the ones not taken yet before it drops them.
        static let compactionThreshold = 4_096

        /// The tickets the buffer holds, taken ones not yet dropped included (for tests).
        var bufferedTicketsHeld: Int { buffer.count }

        /// Takes up to `limit` buffered records; nil when there are none (the caller waits) — or, once stopping,
        /// an empty batch to end the loop.
        mutating func takeBatch(limit: Int) -> [Ticket]? {
            guard phase == .running else { return [] }
            guard buffer.count > bufferHead else { return nil }
            let end = min(buffer.count, bufferHead + limit)
            let batch = Array(buffer[bufferHead..<end])
            bufferHead = end
            if bufferHead == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                bufferHead = 0
            } else if bufferHead >= Self.compactionThreshold, bufferHead * 2 >= buffer.count {
                // A buffer that never empties (a gate that drains steadily while the poll thread refills it) would
                // otherwise keep every ticket it ever held, with its record's value, until the next revoke. Dropped
                // once the taken ones are at least half of it: each ticket is moved at most once on average.
                buffer.removeSubrange(..<bufferHead)
                bufferHead = 0
            }
            return batch
        }

        /// Admits a ticket whose partition is still owned by the same generation, or queues it behind its
        /// partition's held records (`ordered`, a valid event: a dead letter has no effect to keep in order).
        mutating func admit(_ ticket: Ticket, ordered: Bool, at now: ContinuousClock.Instant) -> Admission {
            undispatched -= 1
            guard phase == .running, let index = current(ticket), !partitions.values[index].revoking else {
                forgetUndispatched(ticket)
                return .drop
            }
            let owned = partitions.values[index]
            if ordered, owned.draining, ticket.invalid == nil {
                owned.held.append(Held(ticket: ticket, attempt: 0, notBefore: now))
                heldCount += 1
                return .hold
            }
            owned.inFlight[ticket.record.offset] = ticket
            return .submit
        }

        /// A record dropped before admission (its partition is leaving): make the watermark accept it again if
        /// it is fetched again by this owner.
        private mutating func forgetUndispatched(_ ticket: Ticket) {
            guard isCurrent(ticket) else { return }
            partitions[ticket.partition]!.watermark.forget(from: ticket.record.offset)
        }

        /// Whether the ticket's partition is owned by the generation that fetched it.
        private func isCurrent(_ ticket: Ticket) -> Bool {
            current(ticket) != nil
        }

        /// The index of the ticket's partition when it is owned by the generation that fetched it, and its log has
        /// not gone back past the ticket's record since.
        private func current(_ ticket: Ticket) -> Dictionary<TopicPartition, Partition>.Index? {
            guard let index = partitions.index(forKey: ticket.partition) else { return nil }
            let owned = partitions.values[index]
            guard owned.generation == ticket.generation, !owned.supersedes(ticket) else { return nil }
            return index
        }

        // MARK: Settlement

        /// The offset's outcome is durable: it may be committed once every earlier offset is.
        mutating func settle(_ ticket: Ticket) {
            guard let index = current(ticket) else { return releaseSuperseded(ticket) }
            let owned = partitions.values[index]
            guard owned.inFlight.removeValue(forKey: ticket.record.offset) != nil else { return }
            owned.watermark.settle(ticket.record.offset)
            statistics.settled += 1
        }

        /// The event was not decided: submit it again (`attempt`, not before `notBefore`) while its partition is
        /// owned and the source runs; otherwise leave it uncommitted for the partition's next owner.
        ///
        /// For an `ordered` adapter it leaves the gate's count and waits in its partition's queue, in offset
        /// order, and the partition's later records queue behind it until the drain job has submitted it:
        /// independent retries could otherwise hand a later record of its key to the gate first.
        mutating func unsettled(
            _ ticket: Ticket, attempt: Int, notBefore: ContinuousClock.Instant, ordered: Bool
        ) -> RetryDecision {
            guard let index = current(ticket) else {
                releaseSuperseded(ticket)
                return .giveUp
            }
            let offset = ticket.record.offset
            guard phase == .running, !partitions.values[index].revoking else {
                partitions.values[index].inFlight[offset] = nil
                return .giveUp
            }
            statistics.retried += 1
            guard ordered else {
                partitions.values[index].retrying.insert(offset)
                return .retry
            }
            partitions.values[index].inFlight[offset] = nil
            queue(Held(ticket: ticket, attempt: attempt, notBefore: notBefore), at: index)
            guard !partitions.values[index].draining else { return .queued }
            partitions.values[index].draining = true
            publishHolds()
            return .drain
        }

        /// Ordered adapters: the check made just before `ticket` enters the gate, in the same step as its admission.
        /// While the partition's queue is being drained, a record of the flow must not go ahead of it; a record the
        /// drain job took from the queue (`fromQueue`) waits only behind an earlier one that came back into the queue
        /// since (it ended undecided while this one was being mapped and checked). A ticket that waits leaves
        /// `inFlight` for the queue, in offset order, and the drain job submits it in turn.
        ///
        /// An earlier record that ends undecided is queued here before the gate lets its ordering key go, so a ticket
        /// checked after that sees it, and one checked before queues behind it in the gate (and is abandoned with it).
        ///
        /// A ticket of a partition being revoked (or of a stopping source) is taken back too, and left for the
        /// partition's next owner: nothing of it enters the gate to run on past the hand-over.
        ///
        /// - Returns: true when the ticket was taken back (the gate must not admit it).
        mutating func takeBack(
            _ ticket: Ticket, attempt: Int, fromQueue: Bool, at now: ContinuousClock.Instant
        ) -> Bool {
            let offset = ticket.record.offset
            guard let index = current(ticket), partitions.values[index].inFlight[offset] === ticket else { return false }
            guard phase == .running, !partitions.values[index].revoking else {
                partitions.values[index].inFlight[offset] = nil
                return true
            }
            guard partitions.values[index].draining else { return false }
            if fromQueue {
                guard let first = partitions.values[index].held.first, first.ticket.record.offset < offset else { return false }
            }
            partitions.values[index].inFlight[offset] = nil
            queue(Held(ticket: ticket, attempt: attempt, notBefore: now), at: index)
            statistics.takenBack += 1
            return true
        }

        /// Sets ``holds`` from the partitions and the phase (a pass over the partitions, at the rare changes only).
        private mutating func publishHolds() {
            holds.set(phase != .running || partitions.values.contains { $0.draining || $0.revoking })
        }

        /// Puts a record into its partition's queue, in offset order.
        private mutating func queue(_ held: Held, at index: Dictionary<TopicPartition, Partition>.Index) {
            let offset = held.ticket.record.offset
            let position = partitions.values[index].held.firstIndex { $0.ticket.record.offset > offset }
            partitions.values[index].held.insert(held, at: position ?? partitions.values[index].held.endIndex)
            heldCount += 1
        }

        /// A retry job's turn (unordered): whether the ticket is still wanted, and it is no longer waiting.
        mutating func resubmitting(_ ticket: Ticket) -> Bool {
            let offset = ticket.record.offset
            guard let index = current(ticket), partitions.values[index].retrying.remove(offset) != nil else { return false }
            guard phase == .running, !partitions.values[index].revoking else {
                // Not submitted again: nothing of it is in the gate for a revoke (or the close) to wait for.
                partitions.values[index].inFlight[offset] = nil
                return false
            }
            return true
        }

        /// The drain job's next step for `partition`: its first held record once due (moved into `inFlight`, as it
        /// goes to the gate now), a wait, or done (the queue is empty: records of the partition flow again).
        mutating func nextHeld(
            _ partition: TopicPartition, generation: UInt64, now: ContinuousClock.Instant
        ) -> DrainStep {
            guard let index = partitions.index(forKey: partition), partitions.values[index].generation == generation
            else { return .done }
            guard phase == .running, !partitions.values[index].revoking, let first = partitions.values[index].held.first
            else {
                partitions.values[index].draining = false
                publishHolds()
                return .done
            }
            guard first.notBefore <= now else { return .wait(until: first.notBefore) }
            partitions.values[index].held.removeFirst()
            heldCount -= 1
            partitions.values[index].inFlight[first.ticket.record.offset] = first.ticket
            return .submit(first)
        }

        /// Whether `partition` is being given up (its in-flight work draining).
        func isRevoking(_ partition: TopicPartition) -> Bool {
            partitions[partition]?.revoking == true
        }

        /// Whether the ticket's partition is being revoked, or is gone (revoked, or assigned again since), with the
        /// ticket in the gate: in flight, or superseded. A ticket taken back at the gate's door is not.
        func isLeaving(_ ticket: Ticket) -> Bool {
            guard let index = current(ticket) else { return true }
            return partitions.values[index].revoking && partitions.values[index].inFlight[ticket.record.offset] === ticket
        }

        /// A superseded ticket left the gate (settled, given up): nothing of it is left for a revoke to wait for.
        mutating func releaseSuperseded(_ ticket: Ticket) {
            guard let index = partitions.index(forKey: ticket.partition),
                partitions.values[index].generation == ticket.generation
            else { return }
            partitions.values[index].superseded[ObjectIdentifier(ticket)] = nil
        }

        func owns(_ ticket: Ticket) -> Bool {
            guard let index = current(ticket) else { return false }
            return partitions.values[index].inFlight[ticket.record.offset] === ticket
        }

        // MARK: Commits

        /// Committable offsets not yet handed to a commit (of `only` partitions when given); marks them sent.
        ///
        /// With `includingSent`, also the offsets an asynchronous commit already carries: the synchronous commit
        /// before a partition is given up (or the consumer closes) must not rely on an answer that may still fail
        /// after the partition is gone, when nothing would send it again.
        mutating func dueCommits(
            only: [TopicPartition]? = nil, includingSent: Bool = false
        ) -> [(TopicPartition, Int64)] {
            var due: [(TopicPartition, Int64)] = []
            for partition in only ?? Array(partitions.keys) {
                guard let offset = partitions[partition]?.watermark.committable,
                    includingSent || offset != partitions[partition]?.commitSent
                else { continue }
                partitions[partition]!.commitSent = offset
                due.append((partition, offset))
            }
            return due
        }

        /// A commit failed: hand these offsets to the next commit again.
        mutating func commitFailed(_ offsets: [(TopicPartition, Int64)]) {
            for (partition, offset) in offsets where partitions[partition]?.commitSent == offset {
                partitions[partition]?.commitSent = nil
            }
        }

        /// Commits acknowledged by the group coordinator, in the order it answered them.
        ///
        /// An acknowledged offset below one acknowledged before is a stale commit that librdkafka retried
        /// (the coordinator moved, a rebalance was in progress) and that landed after a newer one: the group now
        /// holds the older offset, so the partition's latest committable offset is sent again. So is one past the
        /// committable offset: sent before the partition's log went back, it must not stand over the records
        /// read again.
        mutating func committed(_ offsets: [(TopicPartition, Int64)], at now: ContinuousClock.Instant) {
            for (partition, offset) in offsets {
                let stale =
                    statistics.committed[partition].map { offset < $0 } == true
                    || partitions[partition]?.watermark.committable.map { offset > $0 } == true
                if stale {
                    statistics.committed[partition] = offset
                    partitions[partition]?.commitSent = nil
                    continue
                }
                statistics.committed[partition] = offset
                guard var probes = latencyProbes[partition], !probes.isEmpty else { continue }
                let done = probes.prefix { $0.offset < offset }
                guard !done.isEmpty else { continue }
                if commitLatencies.count + done.count > 65_536 { commitLatencies.removeFirst(min(commitLatencies.count, 16_384)) }
                commitLatencies.append(contentsOf: done.map { now - $0.fetchedAt })
                probes.removeFirst(done.count)
                latencyProbes[partition] = probes
            }
        }

        var snapshot: KafkaSourceStatistics {
            var copy = statistics
            copy.buffered = undispatched + heldCount
            copy.inFlight = partitions.values.reduce(0) { $0 + $1.running }
            copy.assigned = partitions.keys.sorted()
            return copy
        }
    }
}
