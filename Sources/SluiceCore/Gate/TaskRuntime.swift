/// The boundary's task runtime: a pure, value-type state machine that admits, orders, starts and
/// retires tasks (seed 002's `Runtime`).
///
/// A task is named by a caller-chosen `key` (an event's idempotency key, a plan step's request id)
/// and may carry an ordering key: tasks that share an ordering key start one at a time, in
/// admission order; tasks with different ordering keys (or none) run in parallel, up to
/// ``Boundary/maxInFlight``. At most ``Boundary/maxQueued`` tasks wait; beyond that
/// ``enqueue(_:orderingKey:)`` refuses at once with ``TaskRuntimeError/queueSaturated(key:maxQueued:)``.
///
/// The runtime performs no I/O and reads no clock: calls that depend on time take `now`. Its
/// owner holds it under one lock, calls one mutating method per event, and acts on what it
/// returns after unlocking (start the returned keys' work, ack or not ack the source).
///
/// Finished tasks stay visible through ``state(key:)`` in a bounded history of the last
/// ``historyLimit`` terminal tasks; older ones are forgotten (and their keys may be admitted
/// again), so memory stays flat under endless traffic.
///
/// Every operation is O(1) amortised except ``signature``, ``beginCancellation(reason:now:)``
/// (O(tracked)) and ``expireCancellation(now:)`` / ``nextCancellationDeadline`` (O(in flight)).
///
/// ```swift
/// var runtime = TaskRuntime(boundary: .default)
/// try runtime.enqueue("evt-1", orderingKey: "order-42")
/// for key in runtime.startAvailable(now: now) { launch(key) }
/// try runtime.succeed("evt-1")
/// ```
public struct TaskRuntime: Sendable {
    /// An operation on one task, as named in ``TaskRuntimeError/invalidTransition(key:state:action:)``.
    public enum Action: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// ``TaskRuntime/succeed(_:)``: only from in flight.
        case succeed
        /// ``TaskRuntime/fail(_:reason:)``: only from in flight.
        case fail
        /// ``TaskRuntime/cancel(_:reason:)``: from queued or in flight.
        case cancel
        /// ``TaskRuntime/retry(_:)``: from failed or cancelled.
        case retry
        /// ``TaskRuntime/requestCancellation(_:reason:now:)``: from queued or in flight.
        case requestCancellation

        /// The method name, for example `succeed`.
        public var description: String { rawValue }
    }

    /// The limits this runtime enforces.
    public let boundary: Boundary
    /// How many terminal tasks are remembered before the oldest is forgotten.
    public let historyLimit: Int

    // MARK: - Storage (see TaskRuntime+Storage.swift)

    /// Task records, addressed by slot index; freed slots are chained through `next` from `freeSlot`.
    var slots: [Slot] = []
    var freeSlot: Int32 = Slot.none
    var slotByKey: [String: Int32]
    /// Ordering lanes, one per ordering key with a queued or in-flight task; freed lanes chain from `freeLane`.
    var lanes: [Lane] = []
    var freeLane: Int32 = Slot.none
    var laneByKey: [String: Int32]
    /// Queued tasks that may start now: unordered tasks and the head of each idle lane, in readiness order.
    var ready = SlotList()
    /// In-flight tasks, in start order.
    var running = SlotList()
    /// Terminal tasks, oldest first.
    var history = SlotList()
    var nextSeq = 1
    var phase: Phase = .accepting
    var drain: DrainRateEstimator

    // MARK: - Counters (cheap to read for metrics)

    /// Tasks waiting to start.
    public internal(set) var queuedCount = 0
    /// Successful ``enqueue(_:orderingKey:)`` and ``retry(_:)`` calls since creation.
    public internal(set) var admittedTotal = 0
    /// Admissions refused as backpressure (queue saturated or cancelling) since creation.
    public internal(set) var refusedTotal = 0
    /// Tasks that succeeded since creation.
    public internal(set) var succeededTotal = 0
    /// Tasks that failed since creation.
    public internal(set) var failedTotal = 0
    /// Tasks cancelled since creation (queued or in flight, including abandoned ones).
    public internal(set) var cancelledTotal = 0
    /// In-flight tasks abandoned after their cancellation budget since creation (a subset of ``cancelledTotal``).
    public internal(set) var abandonedTotal = 0
    /// In-flight tasks that left flight in any way since creation: the drain that
    /// ``suggestedRetryAfter(now:minimum:maximum:)`` measures.
    public internal(set) var completedTotal = 0

    /// Tasks in flight now.
    public var inFlightCount: Int { running.count }
    /// Terminal tasks still remembered (at most ``historyLimit``).
    public var historyCount: Int { history.count }
    /// All tasks the runtime remembers: queued, in flight and in the history.
    public var trackedCount: Int { slotByKey.count }

    /// Creates an empty runtime.
    ///
    /// - Parameters:
    ///   - boundary: The limits to enforce; validate user input first with ``Boundary/init(validating:)``.
    ///     A non-positive `maxInFlight` starts nothing and a non-positive `maxQueued` admits nothing.
    ///   - historyLimit: How many terminal tasks to remember (negative counts as 0). Default 1,024.
    ///   - drainWindow: The sliding window over which the drain rate is measured for
    ///     ``suggestedRetryAfter(now:minimum:maximum:)``. Default 10 s.
    public init(boundary: Boundary = .default, historyLimit: Int = 1_024, drainWindow: Duration = .seconds(10)) {
        self.boundary = boundary
        self.historyLimit = max(0, historyLimit)
        let cap = 1 << 16
        let expected =
            min(max(0, boundary.maxQueued), cap) + min(max(0, boundary.maxInFlight), cap)
            + min(self.historyLimit, cap)
        self.slotByKey = Dictionary(minimumCapacity: expected)
        self.laneByKey = Dictionary(minimumCapacity: min(expected, cap))
        self.slots.reserveCapacity(expected)
        self.drain = DrainRateEstimator(window: drainWindow)
    }

    // MARK: - Queries

    /// The state of the task named `key`, or nil if it is not tracked (never admitted, or forgotten).
    ///
    /// - Parameter key: The task's key.
    /// - Returns: Its current state, or nil.
    public func state(key: String) -> TaskState? {
        guard let s = slotByKey[key] else { return nil }
        return slots[Int(s)].state
    }

    // MARK: - Transitions

    /// Admits a task to the queue.
    ///
    /// Checks, in order: the runtime is not cancelling, the key is not tracked, the queue has room.
    ///
    /// - Parameters:
    ///   - key: The task's key, unique among tracked tasks.
    ///   - orderingKey: Tasks sharing this key start one at a time in admission order; nil for no ordering.
    /// - Throws: ``TaskRuntimeError/cancelling(key:reason:)``, ``TaskRuntimeError/duplicateTask(key:)``
    ///   or ``TaskRuntimeError/queueSaturated(key:maxQueued:)``; nothing changes then.
    public mutating func enqueue(_ key: String, orderingKey: String? = nil) throws(TaskRuntimeError) {
        if case .cancelling(let reason, _) = phase {
            refusedTotal += 1
            throw .cancelling(key: key, reason: reason)
        }
        let candidate = freeSlot != Slot.none ? freeSlot : Int32(truncatingIfNeeded: slots.count)
        var existing = Slot.none
        Self.claim(&slotByKey[key, default: Slot.none], candidate: candidate, existing: &existing)
        guard existing == Slot.none else { throw .duplicateTask(key: key) }
        guard queuedCount < boundary.maxQueued else {
            slotByKey.removeValue(forKey: key)
            refusedTotal += 1
            throw .queueSaturated(key: key, maxQueued: boundary.maxQueued)
        }
        let record = Slot(key: key, orderingKey: orderingKey, state: .queued(seq: nextSeq))
        nextSeq += 1
        if candidate == freeSlot {
            freeSlot = slots[Int(candidate)].next
            slots[Int(candidate)] = record
        } else {
            precondition(slots.count < Int(Int32.max), "TaskRuntime tracks at most Int32.max tasks")
            slots.append(record)
        }
        admittedTotal += 1
        placeQueued(candidate)
    }

    /// Starts queued tasks, oldest ready first, until ``Boundary/maxInFlight`` are in flight.
    ///
    /// A task whose ordering key already has a task in flight is skipped without cost (it waits
    /// in its key's lane, not in the ready queue). Also samples the drain rate.
    ///
    /// - Parameter now: The current instant, recorded as each task's `startedAt`.
    /// - Returns: The keys of the tasks started, in start order; the owner starts their work.
    public mutating func startAvailable(now: GateInstant) -> [String] {
        var started: [String] = []
        startAvailable(now: now, into: &started)
        return started
    }

    /// Starts queued tasks like ``startAvailable(now:)``, appending their keys to a caller-owned
    /// buffer (no allocation when the buffer has capacity).
    ///
    /// - Parameters:
    ///   - now: The current instant, recorded as each task's `startedAt`.
    ///   - reserving: Places of `maxInFlight` taken outside the runtime (the owner's cut tasks still winding down).
    ///   - started: Receives the started keys, in start order.
    /// - Returns: How many tasks were started.
    @discardableResult
    public mutating func startAvailable(now: GateInstant, reserving: Int = 0, into started: inout [String]) -> Int {
        if now >= drain.nextSampleAt { drain.observe(total: completedTotal, now: now) }
        var count = 0
        while running.count + reserving < boundary.maxInFlight, ready.head != Slot.none {
            let s = ready.head
            ready.remove(s, in: &slots)
            let i = Int(s)
            slots[i].state = .inFlight(seq: slots[i].state.seq, startedAt: now)
            running.append(s, as: .running, in: &slots)
            queuedCount -= 1
            started.append(slots[i].key)
            count += 1
        }
        return count
    }

    /// Marks an in-flight task as succeeded.
    ///
    /// - Parameter key: The task's key.
    /// - Throws: ``TaskRuntimeError/unknownTask(key:)``, or ``TaskRuntimeError/invalidTransition(key:state:action:)``
    ///   unless the task is in flight (for example after it was abandoned: do not ack it then).
    public mutating func succeed(_ key: String) throws(TaskRuntimeError) {
        let s = try runningSlot(key, for: .succeed)
        finishRunning(s, as: .succeeded(seq: slots[Int(s)].state.seq))
        succeededTotal += 1
    }

    /// Marks an in-flight task as failed.
    ///
    /// - Parameters:
    ///   - key: The task's key.
    ///   - reason: Why it failed (kept in the state and the signature).
    /// - Throws: ``TaskRuntimeError/unknownTask(key:)``, or ``TaskRuntimeError/invalidTransition(key:state:action:)``
    ///   unless the task is in flight.
    public mutating func fail(_ key: String, reason: String) throws(TaskRuntimeError) {
        let s = try runningSlot(key, for: .fail)
        finishRunning(s, as: .failed(seq: slots[Int(s)].state.seq, reason: reason))
        failedTotal += 1
    }

    /// Cancels a queued or in-flight task at once.
    ///
    /// A queued task never starts; an in-flight task is recorded cancelled and its owner must stop
    /// the work and not ack it. For a cancellation that lets in-flight work finish within the
    /// budget, use ``requestCancellation(_:reason:now:)``.
    ///
    /// - Parameters:
    ///   - key: The task's key.
    ///   - reason: Why it was cancelled.
    /// - Throws: ``TaskRuntimeError/unknownTask(key:)``, or ``TaskRuntimeError/invalidTransition(key:state:action:)``
    ///   if the task is already terminal.
    public mutating func cancel(_ key: String, reason: String) throws(TaskRuntimeError) {
        guard let s = slotByKey[key] else { throw .unknownTask(key: key) }
        switch slots[Int(s)].state {
        case .queued(let seq):
            dequeue(s)
            retire(s, as: .cancelled(seq: seq, reason: reason))
        case .inFlight(let seq, _):
            finishRunning(s, as: .cancelled(seq: seq, reason: reason))
        case let state:
            throw .invalidTransition(key: key, state: state.kind, action: .cancel)
        }
        cancelledTotal += 1
    }

    /// Puts a failed or cancelled task back at the end of the queue (and of its ordering lane)
    /// with a new `seq`.
    ///
    /// - Parameter key: The task's key.
    /// - Throws: ``TaskRuntimeError/unknownTask(key:)`` (also once forgotten from the history),
    ///   ``TaskRuntimeError/invalidTransition(key:state:action:)`` unless failed or cancelled, then
    ///   ``TaskRuntimeError/cancelling(key:reason:)`` or ``TaskRuntimeError/queueSaturated(key:maxQueued:)``
    ///   as for ``enqueue(_:orderingKey:)``; nothing changes then.
    public mutating func retry(_ key: String) throws(TaskRuntimeError) {
        guard let s = slotByKey[key] else { throw .unknownTask(key: key) }
        let state = slots[Int(s)].state
        switch state {
        case .failed, .cancelled: break
        default: throw .invalidTransition(key: key, state: state.kind, action: .retry)
        }
        if case .cancelling(let reason, _) = phase {
            refusedTotal += 1
            throw .cancelling(key: key, reason: reason)
        }
        guard queuedCount < boundary.maxQueued else {
            refusedTotal += 1
            throw .queueSaturated(key: key, maxQueued: boundary.maxQueued)
        }
        history.remove(s, in: &slots)
        slots[Int(s)].state = .queued(seq: nextSeq)
        nextSeq += 1
        admittedTotal += 1
        placeQueued(s)
    }
}
