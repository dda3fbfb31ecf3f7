import Synchronization

/// The inbox rows this process is delivering (in the gate, waiting for room, or waiting to be admitted again),
/// so that a sweep of the inbox for rows left behind never starts a second delivery of one of them.
final class InboxRowsInHand: Sendable {
    private let ids = Mutex<Set<Int64>>([])

    /// Takes a row in hand; false when it is in hand already.
    func take(_ id: Int64) -> Bool {
        ids.withLock { $0.insert(id).inserted }
    }

    /// Lets a row go: it is decided (and gone), or left for a later sweep or start.
    func release(_ id: Int64) {
        _ = ids.withLock { $0.remove(id) }
    }

    func contains(_ id: Int64) -> Bool {
        ids.withLock { $0.contains(id) }
    }
}
