import Synchronization

/// The inbox rows this process is delivering (in the gate, waiting for room, or waiting to be admitted again), and
/// their idempotency keys once known: a sweep of the inbox for rows left behind never starts a second delivery of
/// one of them, and a duplicate delivery of a key with a row in hand adds nothing.
final class InboxRowsInHand: Sendable {
    private struct Rows {
        var ids: Set<Int64> = []
        var keyByID: [Int64: String] = [:]
        var countByKey: [String: Int] = [:]
    }

    private let rows = Mutex(Rows())

    /// Takes a row in hand; false when it is in hand already.
    func take(_ id: Int64) -> Bool {
        rows.withLock { $0.ids.insert(id).inserted }
    }

    /// Notes the idempotency key of a row in hand (once its event is mapped).
    func attach(key: String, to id: Int64) {
        rows.withLock { rows in
            guard rows.ids.contains(id), rows.keyByID[id] == nil else { return }
            rows.keyByID[id] = key
            rows.countByKey[key, default: 0] += 1
        }
    }

    /// Lets a row go: it is decided (and gone), or left for a later sweep or start.
    func release(_ id: Int64) {
        rows.withLock { rows in
            guard rows.ids.remove(id) != nil, let key = rows.keyByID.removeValue(forKey: id) else { return }
            let left = (rows.countByKey[key] ?? 1) - 1
            rows.countByKey[key] = left > 0 ? left : nil
        }
    }

    func contains(_ id: Int64) -> Bool {
        rows.withLock { $0.ids.contains(id) }
    }

    /// The idempotency keys of the rows in hand (those mapped so far).
    var keys: [String] {
        rows.withLock { Array($0.countByKey.keys) }
    }

    /// Whether a row of this key is in hand: its delivery is durable and on its way.
    func holdsRow(forKey key: String) -> Bool {
        rows.withLock { $0.countByKey[key] != nil }
    }
}
