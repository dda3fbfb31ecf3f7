import Synchronization

/// The bytes of request bodies being read, across every route, bounded: each route's `max_body_bytes` bounds one
/// body, this bounds what slow or stalled uploads hold in memory together (512 connections each stalling one byte
/// short of a 1 MiB limit would otherwise pin half a gigabyte for the body deadline, again and again).
///
/// A body alone is always let through, however large its route allows: the budget never stops every request.
public final class BodyBudget: Sendable {
    /// `http.max_buffered_bytes`.
    public let limit: Int
    private let used = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// The bytes held by bodies being read now.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `count` more bytes for a body that holds `held` already; false when that would pass the limit while
    /// other bodies hold bytes too.
    func take(_ count: Int, holding held: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            let others = current - held
            guard current + count <= limit || others <= 0 else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back bytes taken with ``take(_:holding:)``.
    func give(_ count: Int) {
        guard count > 0 else { return }
        used.subtract(count, ordering: .relaxed)
    }
}
