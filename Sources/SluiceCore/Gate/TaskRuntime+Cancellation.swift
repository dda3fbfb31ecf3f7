// Cancellation budgets: shutdown, a revoked Kafka partition or a per-event deadline gives
// in-flight work the boundary's cancellation budget to finish; what is still running after that
// is abandoned without an ack (redelivered, never lost) and recorded as cancelled.

extension TaskRuntime {
    /// What ``TaskRuntime/beginCancellation(reason:now:)`` asks of its owner.
    public struct CancellationActions: Sendable, Hashable {
        /// Tasks that were queued and are now cancelled, in admission order. They never started:
        /// do not ack their source (they will be redelivered).
        public var cancelled: [String]
        /// Tasks in flight, in start order. Each may still succeed or fail; whatever is still in
        /// flight at its deadline is abandoned by ``TaskRuntime/expireCancellation(now:)``.
        public var draining: [String]
        /// When the runtime-wide budget runs out; the owner calls ``TaskRuntime/expireCancellation(now:)`` then.
        public var deadline: GateInstant
    }

    /// What ``TaskRuntime/requestCancellation(_:reason:now:)`` did to one task.
    public enum TaskCancellation: Sendable, Hashable {
        /// The task was queued and is now cancelled: it never started; do not ack it.
        case cancelled
        /// The task is in flight and must finish by `deadline`, or it is abandoned then.
        case draining(deadline: GateInstant)
    }

    /// Whether the runtime refuses new work because of ``beginCancellation(reason:now:)``.
    public var isCancelling: Bool {
        if case .cancelling = phase { return true }
        return false
    }

    /// The reason given to ``beginCancellation(reason:now:)`` while cancelling, else nil.
    public var cancellationReason: String? {
        if case .cancelling(let reason, _) = phase { return reason }
        return nil
    }

    /// Cancels the whole runtime (shutdown, partition revoked).
    ///
    /// From now on ``enqueue(_:orderingKey:)`` and ``retry(_:)`` refuse with
    /// ``TaskRuntimeError/cancelling(key:reason:)`` until ``reopen()``. Queued tasks become
    /// ``TaskState/cancelled(seq:reason:)`` at once. In-flight tasks get a deadline of
    /// `now + cancellationBudget` (an earlier per-task deadline is kept) and may still succeed or
    /// fail until then. Calling it again while cancelling keeps the first reason and deadline and
    /// reports the tasks still in flight.
    ///
    /// - Parameters:
    ///   - reason: Why (recorded in each cancelled task's state).
    ///   - now: The current instant.
    /// - Returns: The tasks cancelled at once, the tasks draining and the deadline.
    public mutating func beginCancellation(reason: String, now: GateInstant) -> CancellationActions {
        let effectiveReason: String
        let deadline: GateInstant
        switch phase {
        case .cancelling(let firstReason, let firstDeadline):
            effectiveReason = firstReason
            deadline = firstDeadline
        case .accepting:
            effectiveReason = reason
            deadline = now + boundary.cancellationBudget
            phase = .cancelling(reason: reason, deadline: deadline)
        }

        var queued: [Int32] = []
        queued.reserveCapacity(queuedCount)
        for (i, slot) in slots.enumerated() where slot.place == .ready || slot.place == .pending {
            queued.append(Int32(truncatingIfNeeded: i))
        }
        queued.sort { slots[Int($0)].state.seq < slots[Int($1)].state.seq }
        var cancelled: [String] = []
        cancelled.reserveCapacity(queued.count)
        for s in queued {
            cancelled.append(slots[Int(s)].key)
            dequeue(s)
            retire(s, as: .cancelled(seq: slots[Int(s)].state.seq, reason: effectiveReason))
            cancelledTotal += 1
        }

        var draining: [String] = []
        draining.reserveCapacity(running.count)
        var s = running.head
        while s != Slot.none {
            let i = Int(s)
            if let pending = slots[i].cancellation, pending.deadline <= deadline {
                // An earlier per-task deadline stands.
            } else {
                slots[i].cancellation = PendingCancellation(reason: effectiveReason, deadline: deadline)
            }
            draining.append(slots[i].key)
            s = slots[i].next
        }
        return CancellationActions(cancelled: cancelled, draining: draining, deadline: deadline)
    }

    /// Cancels one task within the budget (per-event deadline).
    ///
    /// A queued task is cancelled at once. An in-flight task gets a deadline of
    /// `now + cancellationBudget` (an earlier deadline already set is kept, never extended) and
    /// is abandoned by ``expireCancellation(now:)`` if still in flight then.
    ///
    /// - Parameters:
    ///   - key: The task's key.
    ///   - reason: Why (recorded if the task ends cancelled).
    ///   - now: The current instant.
    /// - Returns: Whether the task was cancelled at once or is draining, and until when.
    /// - Throws: ``TaskRuntimeError/unknownTask(key:)``, or ``TaskRuntimeError/invalidTransition(key:state:action:)``
    ///   if the task is already terminal.
    public mutating func requestCancellation(
        _ key: String, reason: String, now: GateInstant
    ) throws(TaskRuntimeError) -> TaskCancellation {
        guard let s = slotByKey[key] else { throw .unknownTask(key: key) }
        let i = Int(s)
        switch slots[i].state {
        case .queued(let seq):
            dequeue(s)
            retire(s, as: .cancelled(seq: seq, reason: reason))
            cancelledTotal += 1
            return .cancelled
        case .inFlight:
            let deadline = now + boundary.cancellationBudget
            if let pending = slots[i].cancellation, pending.deadline <= deadline {
                return .draining(deadline: pending.deadline)
            }
            slots[i].cancellation = PendingCancellation(reason: reason, deadline: deadline)
            return .draining(deadline: deadline)
        case let state:
            throw .invalidTransition(key: key, state: state.kind, action: .requestCancellation)
        }
    }

    /// The in-flight tasks whose cancellation deadline is at or before `now`, in start order: what
    /// ``expireCancellation(now:)`` abandons.
    public func cancellationsDue(now: GateInstant) -> [String] {
        var due: [String] = []
        var s = running.head
        while s != Slot.none {
            let i = Int(s)
            if let pending = slots[i].cancellation, pending.deadline <= now { due.append(slots[i].key) }
            s = slots[i].next
        }
        return due
    }

    /// Abandons every in-flight task whose cancellation deadline is at or before `now`.
    ///
    /// Each becomes ``TaskState/cancelled(seq:reason:)`` with its cancellation's reason; the owner
    /// must not ack their sources (they are redelivered, never lost) and should ignore their late
    /// completions (``succeed(_:)`` then throws ``TaskRuntimeError/invalidTransition(key:state:action:)``).
    ///
    /// - Parameter now: The current instant.
    /// - Returns: The abandoned tasks' keys, in start order.
    public mutating func expireCancellation(now: GateInstant) -> [String] {
        var abandoned: [String] = []
        var s = running.head
        while s != Slot.none {
            let i = Int(s)
            let next = slots[i].next
            if let pending = slots[i].cancellation, pending.deadline <= now {
                abandoned.append(slots[i].key)
                finishRunning(s, as: .cancelled(seq: slots[i].state.seq, reason: pending.reason))
                cancelledTotal += 1
                abandonedTotal += 1
            }
            s = next
        }
        return abandoned
    }

    /// Takes an in-flight task out of its cancellation budget because its result is in and its
    /// owner is recording it: expiry must not abandon work whose outcome already exists (the
    /// owner would count it twice and could cancel the recording). Does nothing for a task that
    /// is not in flight or has no deadline.
    ///
    /// - Parameter key: The task's key.
    public mutating func withdrawCancellation(_ key: String) {
        guard let s = slotByKey[key], case .inFlight = slots[Int(s)].state else { return }
        slots[Int(s)].cancellation = nil
    }

    /// The earliest cancellation deadline among in-flight tasks, or nil if none is draining:
    /// when the owner's timer should call ``expireCancellation(now:)``.
    public var nextCancellationDeadline: GateInstant? {
        var earliest: GateInstant?
        var s = running.head
        while s != Slot.none {
            let i = Int(s)
            if let deadline = slots[i].cancellation?.deadline, earliest.map({ deadline < $0 }) ?? true {
                earliest = deadline
            }
            s = slots[i].next
        }
        return earliest
    }

    /// Ends a runtime-wide cancellation: the runtime admits work again (a partition reassigned).
    ///
    /// Deadlines already given to in-flight tasks stand. Does nothing when not cancelling.
    public mutating func reopen() {
        phase = .accepting
    }
}
