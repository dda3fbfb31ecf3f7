/// The offsets of one partition between fetch and commit: which offset may be committed.
///
/// Offsets are received in increasing order (not necessarily contiguous: compaction and transaction
/// markers leave gaps) and settle in any order. The committable offset is one past the highest
/// offset N such that every received offset up to N has settled — Kafka's "next offset to read".
/// A pure value: no I/O, tested on its own.
public struct CommitWatermark: Sendable, Hashable {
    /// Received offsets not yet passed by the watermark, in order, from `head`.
    private var received: [Int64] = []
    private var head = 0
    /// Offsets settled ahead of the watermark.
    private var settledAhead: Set<Int64> = []
    /// The offset to commit (one past the last contiguous settled offset); nil until something settles.
    public private(set) var committable: Int64?
    /// The highest offset received.
    public private(set) var lastReceived: Int64?

    public init() {}

    /// Records that `offset` was fetched.
    ///
    /// - Returns: false when the offset is not beyond the last one received: a redelivery, or the partition's
    ///   log went back (``rewind(to:)`` first to take the record).
    @discardableResult
    public mutating func receive(_ offset: Int64) -> Bool {
        if let lastReceived, offset <= lastReceived { return false }
        received.append(offset)
        lastReceived = offset
        return true
    }

    /// Records that `offset`'s outcome is durable.
    ///
    /// - Returns: whether ``committable`` advanced.
    @discardableResult
    public mutating func settle(_ offset: Int64) -> Bool {
        guard head < received.count, offset >= received[head] else { return false }
        guard offset == received[head] else {
            settledAhead.insert(offset)
            return false
        }
        head += 1
        var next = offset + 1
        while head < received.count, settledAhead.remove(received[head]) != nil {
            next = received[head] + 1
            head += 1
        }
        committable = next
        if head > 4096, head * 2 > received.count {
            received.removeFirst(head)
            head = 0
        }
        return true
    }

    /// Received offsets the watermark has not passed yet (settled ahead of it or not).
    public var outstanding: Int { received.count - head }

    /// Forgets received offsets from `offset` on (records dropped before dispatch, so never settled),
    /// so that a later redelivery of them is accepted again.
    public mutating func forget(from offset: Int64) {
        while received.count > head, let last = received.last, last >= offset {
            received.removeLast()
            settledAhead.remove(last)
        }
        lastReceived = received.count > head ? received.last : committable.map { $0 - 1 } ?? (offset - 1)
    }

    /// The log went back to `offset` under its reader (it was truncated, or its topic made again, and the
    /// position reset to an earlier offset): forgets the received offsets from there and what settled among
    /// them, so that the records read again are taken as new ones.
    ///
    /// The offset to commit becomes `offset` when it was past it, or when nothing was committable and nothing
    /// received before `offset` waits to settle: the group may hold a later offset (this reader's first, or the
    /// previous owner's), which a revoke must not leave standing over the records read again.
    public mutating func rewind(to offset: Int64) {
        forget(from: offset)
        let moveBack = committable.map { $0 > offset } ?? (outstanding == 0)
        if moveBack {
            committable = offset
            lastReceived = offset - 1
        }
    }
}
