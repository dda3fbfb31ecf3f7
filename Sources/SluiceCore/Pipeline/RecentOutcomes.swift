import Synchronization

/// The latest decisions, newest first, bounded: the status page's "recent outcomes".
///
/// A ring: recording an outcome overwrites the oldest slot instead of shifting the whole list, since it
/// happens once per event on the hot path while the status page reads it a few times a minute.
final class RecentOutcomes: Sendable {
    private struct Ring {
        var items: [Outcome] = []
        /// The slot the next outcome overwrites once the ring is full (the oldest).
        var next = 0
    }

    private let limit: Int
    private let ring = Mutex(Ring())

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func append(_ outcome: Outcome) {
        ring.withLock { ring in
            if ring.items.count < limit {
                ring.items.append(outcome)
            } else {
                ring.items[ring.next] = outcome
                ring.next = (ring.next + 1) % limit
            }
        }
    }

    /// Newest first.
    var snapshot: [Outcome] {
        ring.withLock { ring in
            Array((ring.items[ring.next...] + ring.items[..<ring.next]).reversed())
        }
    }
}
