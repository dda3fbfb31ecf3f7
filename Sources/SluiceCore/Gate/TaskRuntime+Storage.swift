// The runtime's internal storage: a slab of task records linked into intrusive lists, and one
// lane per busy ordering key. Every task is in exactly one list: the ready queue, its lane's
// pending queue, the running list, or the history. Lists are doubly linked through slot indices,
// so removal from the middle (cancel, retry) is O(1) and nothing is ever scanned on the hot path.

extension TaskRuntime {
    /// Whether the runtime admits work.
    enum Phase: Sendable, Hashable {
        /// Admitting work.
        case accepting
        /// Refusing work since ``TaskRuntime/beginCancellation(reason:now:)``; in-flight work has until `deadline`.
        case cancelling(reason: String, deadline: GateInstant)
    }

    /// A cancellation requested for an in-flight task: it is abandoned if still in flight at `deadline`.
    struct PendingCancellation: Sendable, Hashable {
        var reason: String
        var deadline: GateInstant
    }

    /// One task record in the slab.
    struct Slot: Sendable {
        /// The null slot index.
        static let none: Int32 = -1

        /// Which list the slot is linked into.
        enum Place: UInt8, Sendable {
            case free, ready, pending, running, history
        }

        var key: String
        var orderingKey: String?
        var state: TaskState
        var cancellation: PendingCancellation?
        /// The lane whose active or pending task this is, while queued or in flight; else `none`.
        var lane: Int32 = Slot.none
        var prev: Int32 = Slot.none
        var next: Int32 = Slot.none
        var place: Place = .free

        init(key: String, orderingKey: String?, state: TaskState) {
            self.key = key
            self.orderingKey = orderingKey
            self.state = state
            self.cancellation = nil
        }

        /// An empty record on the free chain (releases the key and reason strings).
        static func vacant(nextFree: Int32) -> Slot {
            var slot = Slot(key: "", orderingKey: nil, state: .succeeded(seq: 0))
            slot.next = nextFree
            return slot
        }
    }

    /// The tasks of one ordering key: at most one of them is ready or in flight (the lane's
    /// active task); the others wait in `pending`, in admission order.
    struct Lane: Sendable {
        var key: String
        var pending = SlotList()
        var nextFree: Int32 = Slot.none
    }

    /// A doubly linked list threaded through ``Slot/prev`` and ``Slot/next``.
    struct SlotList: Sendable, Hashable {
        var head: Int32 = Slot.none
        var tail: Int32 = Slot.none
        var count = 0

        mutating func append(_ s: Int32, as place: Slot.Place, in slots: inout [Slot]) {
            let i = Int(s)
            slots[i].prev = tail
            slots[i].next = Slot.none
            slots[i].place = place
            if tail != Slot.none { slots[Int(tail)].next = s } else { head = s }
            tail = s
            count += 1
        }

        mutating func remove(_ s: Int32, in slots: inout [Slot]) {
            let i = Int(s)
            let prev = slots[i].prev
            let next = slots[i].next
            if prev != Slot.none { slots[Int(prev)].next = next } else { head = next }
            if next != Slot.none { slots[Int(next)].prev = prev } else { tail = prev }
            slots[i].prev = Slot.none
            slots[i].next = Slot.none
            slots[i].place = .free
            count -= 1
        }

        mutating func popFirst(in slots: inout [Slot]) -> Int32? {
            guard head != Slot.none else { return nil }
            let s = head
            remove(s, in: &slots)
            return s
        }

        /// The slot indices in list order (for the signature and for tests).
        func indices(in slots: [Slot]) -> [Int32] {
            var result: [Int32] = []
            result.reserveCapacity(count)
            var s = head
            while s != Slot.none {
                result.append(s)
                s = slots[Int(s)].next
            }
            return result
        }
    }

    // MARK: - Helpers shared by the transitions

    /// Stores `candidate` in a dictionary entry that was just defaulted to `none`, or reports the
    /// entry's existing value: one hash lookup for "insert unless present".
    @inline(__always)
    static func claim(_ entry: inout Int32, candidate: Int32, existing: inout Int32) {
        if entry == Slot.none { entry = candidate } else { existing = entry }
    }

    /// Links a slot whose state is already `queued` into the ready queue or its lane.
    mutating func placeQueued(_ s: Int32) {
        queuedCount += 1
        guard let orderingKey = slots[Int(s)].orderingKey else {
            ready.append(s, as: .ready, in: &slots)
            return
        }
        let candidate = freeLane != Slot.none ? freeLane : Int32(truncatingIfNeeded: lanes.count)
        var existing = Slot.none
        Self.claim(&laneByKey[orderingKey, default: Slot.none], candidate: candidate, existing: &existing)
        if existing != Slot.none {
            slots[Int(s)].lane = existing
            lanes[Int(existing)].pending.append(s, as: .pending, in: &slots)
            return
        }
        if candidate == freeLane {
            freeLane = lanes[Int(candidate)].nextFree
            lanes[Int(candidate)] = Lane(key: orderingKey)
        } else {
            lanes.append(Lane(key: orderingKey))
        }
        slots[Int(s)].lane = candidate
        ready.append(s, as: .ready, in: &slots)
    }

    /// Unlinks a queued slot from the ready queue or its lane (promoting the lane's next task).
    mutating func dequeue(_ s: Int32) {
        let i = Int(s)
        switch slots[i].place {
        case .ready:
            ready.remove(s, in: &slots)
            releaseLane(of: s)
        case .pending:
            lanes[Int(slots[i].lane)].pending.remove(s, in: &slots)
            slots[i].lane = Slot.none
        case .free, .running, .history:
            preconditionFailure("dequeue of a slot that is not queued")
        }
        queuedCount -= 1
    }

    /// The keys waiting behind `key`'s task in its ordering lane, in order: the lane's pending tasks when it is the
    /// lane's active task, those after it when it is pending itself; none when it has no ordering key or has ended.
    public func keysQueued(behind key: String) -> [String] {
        guard let s = slotByKey[key] else { return [] }
        let l = slots[Int(s)].lane
        guard l != Slot.none else { return [] }
        var keys: [String] = []
        var cursor = slots[Int(s)].place == .pending ? slots[Int(s)].next : lanes[Int(l)].pending.head
        while cursor != Slot.none {
            keys.append(slots[Int(cursor)].key)
            cursor = slots[Int(cursor)].next
        }
        return keys
    }

    /// The lane's active task is leaving: promote the lane's next pending task to the ready queue,
    /// or free the lane when nothing of its key is left.
    mutating func releaseLane(of s: Int32) {
        let l = slots[Int(s)].lane
        guard l != Slot.none else { return }
        slots[Int(s)].lane = Slot.none
        let li = Int(l)
        if let next = lanes[li].pending.popFirst(in: &slots) {
            ready.append(next, as: .ready, in: &slots)
            return
        }
        laneByKey.removeValue(forKey: lanes[li].key)
        lanes[li] = Lane(key: "", nextFree: freeLane)
        freeLane = l
    }

    /// Looks up an in-flight task for `succeed` / `fail`.
    func runningSlot(_ key: String, for action: Action) throws(TaskRuntimeError) -> Int32 {
        guard let s = slotByKey[key] else { throw .unknownTask(key: key) }
        let state = slots[Int(s)].state
        guard case .inFlight = state else {
            throw .invalidTransition(key: key, state: state.kind, action: action)
        }
        return s
    }

    /// Takes an in-flight task out of flight into a terminal state.
    mutating func finishRunning(_ s: Int32, as state: TaskState) {
        running.remove(s, in: &slots)
        completedTotal += 1
        releaseLane(of: s)
        retire(s, as: state)
    }

    /// Records a terminal state and appends the task to the history, forgetting the oldest
    /// terminal tasks beyond ``historyLimit``.
    mutating func retire(_ s: Int32, as state: TaskState) {
        let i = Int(s)
        slots[i].state = state
        slots[i].cancellation = nil
        history.append(s, as: .history, in: &slots)
        while history.count > historyLimit {
            forget(history.head)
        }
    }

    /// Forgets a key that ended decided (`succeeded`, or `failed`: a rejection recorded), so that it may be admitted
    /// again: its owner found that the decision no longer holds (past the adapter's dedupe window, or pruned from the
    /// ledger). Returns whether the key was forgotten (false for a key unknown or not decided).
    public mutating func forgetDecided(_ key: String) -> Bool {
        guard let s = slotByKey[key] else { return false }
        switch slots[Int(s)].state {
        case .succeeded, .failed:
            forget(s)
            return true
        default:
            return false
        }
    }

    /// Drops a terminal task entirely: its key is unknown afterwards and may be admitted again.
    mutating func forget(_ s: Int32) {
        let i = Int(s)
        history.remove(s, in: &slots)
        slotByKey.removeValue(forKey: slots[i].key)
        slots[i] = .vacant(nextFree: freeSlot)
        freeSlot = s
    }
}
