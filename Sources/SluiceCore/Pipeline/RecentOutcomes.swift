import Synchronization

/// The latest decisions, newest first, bounded: the status page's "recent outcomes".
final class RecentOutcomes: Sendable {
    private let limit: Int
    private let ring = Mutex<[Outcome]>([])

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    func append(_ outcome: Outcome) {
        ring.withLock { items in
            if items.count >= limit { items.removeFirst(items.count - limit + 1) }
            items.append(outcome)
        }
    }

    var snapshot: [Outcome] { ring.withLock { $0.reversed() } }
}
