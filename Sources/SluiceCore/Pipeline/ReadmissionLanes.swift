import Synchronization

/// The inbox rows of an ordered webhook adapter waiting to be admitted again, one lane per ordering key, in arrival
/// (inbox id) order.
///
/// A row of an ordered adapter that ends undecided (the engine refused Sluice, the outcome could not be recorded)
/// takes the rows queued behind it in the gate with it. Admitted again each after a backoff of its own, a later row
/// could run first; and a new webhook of the key, admitted at once, would overtake them all. So while a lane is open
/// every row of its key waits in it, new arrivals included, and one drainer admits them in id order after the lane's
/// backoff. A row that ends undecided again comes back into the lane ahead of the later ones, and the drainer waits
/// out a backoff before it goes on.
final class ReadmissionLanes: Sendable {
    /// A row waiting in a lane (mapped again when it is admitted).
    struct Row: Sendable {
        var inboxID: Int64
        var delivery: Delivery
        /// The attempt its next admission makes (from 1 for a row that ended undecided once).
        var attempt: Int
    }

    /// What the drainer of a lane does next.
    enum Step: Sendable {
        /// Wait out the backoff of a row that ended undecided, then ask again.
        case wait(Duration)
        /// Admit this row (the lowest id in the lane).
        case admit(Row)
        /// The lane is empty and closed: rows of its key are admitted directly again.
        case done
    }

    private struct Lane {
        var rows: [Int64: Row] = [:]
        /// The backoff due before the next admission, set by a row that ended undecided.
        var backoff: Duration?
        /// Whether a row was admitted since the last backoff: a row undecided before that (one abandoned behind the
        /// row that opened the lane) is covered by the backoff already waited or pending.
        var admittedSinceBackoff = false
    }

    private let lanes = Mutex<[String: Lane]>([:])
    /// Rows in the lanes, and rows of unordered adapters sleeping out their backoff (``waitAlone()``).
    private let laneRows = Atomic<Int>(0)
    private let aloneRows = Atomic<Int>(0)

    /// The rows held in memory waiting to be admitted again: in lanes, or each in its own backoff. They are durable in
    /// the inbox; the count bounds what an engine that keeps failing every event makes this process hold.
    var heldRows: Int { laneRows.load(ordering: .relaxed) + aloneRows.load(ordering: .relaxed) }

    /// Counts a row of an unordered adapter that waits out its backoff on its own; false (nothing counted) when
    /// `limit` rows are held already: the row is let go, for a sweep of the inbox to take up later.
    func waitAlone(limit: Int) -> Bool {
        guard heldRows < limit else { return false }
        aloneRows.add(1, ordering: .relaxed)
        return true
    }

    /// A row counted by ``waitAlone(limit:)`` is admitted again (or let go).
    func doneWaitingAlone() {
        aloneRows.subtract(1, ordering: .relaxed)
    }

    /// Adds or replaces `row` in `lane`, counting it when it is new there.
    private func put(_ row: Row, in lane: inout Lane) {
        if lane.rows.updateValue(row, forKey: row.inboxID) == nil { laneRows.add(1, ordering: .relaxed) }
    }

    /// The wait before a row that ended undecided on `attempt` (0 for its first admission) is admitted again: 1 s,
    /// doubling up to 30 s.
    static func backoff(afterAttempt attempt: Int) -> Duration {
        .seconds(min(30, 1 << min(attempt, 5)))
    }

    /// Puts a row that ended undecided into its key's lane, with the backoff its failed attempt earned.
    ///
    /// - Returns: true when this opened the lane: the caller starts its drainer.
    func hold(_ row: Row, orderingKey: String, backoff: Duration) -> Bool {
        lanes.withLock { lanes in
            let opened = lanes[orderingKey] == nil
            var lane = lanes[orderingKey] ?? Lane()
            put(row, in: &lane)
            if opened || lane.admittedSinceBackoff || lane.backoff != nil {
                lane.backoff = max(lane.backoff ?? .zero, backoff)
            }
            lanes[orderingKey] = lane
            return opened
        }
    }

    /// Puts a row into its key's lane when one is open (it must wait behind the rows there).
    ///
    /// - Returns: false when no lane is open for the key: the caller admits the row itself.
    func joinIfOpen(_ row: Row, orderingKey: String) -> Bool {
        lanes.withLock { lanes in
            guard lanes[orderingKey] != nil else { return false }
            // In place: a copy of a long lane per arrival would cost its length each time.
            put(row, in: &lanes[orderingKey]!)
            return true
        }
    }

    /// Puts a row into its key's lane, at the moment of its admission into the gate, when it must wait there: a
    /// lane is open and the row is not the one its drainer is admitting (`taken` false), or it is, and the lane
    /// has taken back an earlier row since the drainer took this one up (that row ended undecided while this one
    /// was being checked, and must run first).
    ///
    /// - Returns: true when the row went into the lane (its drainer admits it in turn).
    func waitsInLane(_ row: Row, orderingKey: String, taken: Bool) -> Bool {
        lanes.withLock { lanes in
            guard var lane = lanes[orderingKey] else { return false }
            if taken, !lane.rows.keys.contains(where: { $0 < row.inboxID }) { return false }
            put(row, in: &lane)
            lanes[orderingKey] = lane
            return true
        }
    }

    /// The drainer's next step; closes the lane when it is empty.
    func next(orderingKey: String) -> Step {
        lanes.withLock { lanes in
            guard var lane = lanes[orderingKey] else { return .done }
            if let backoff = lane.backoff {
                lane.backoff = nil
                lane.admittedSinceBackoff = false
                lanes[orderingKey] = lane
                return .wait(backoff)
            }
            guard let first = lane.rows.keys.min(), let row = lane.rows.removeValue(forKey: first) else {
                lanes[orderingKey] = nil
                return .done
            }
            laneRows.subtract(1, ordering: .relaxed)
            lane.admittedSinceBackoff = true
            lanes[orderingKey] = lane
            return .admit(row)
        }
    }
}
