import CSQLite
import Foundation
public import SluiceCore

extension SQLiteLedger {
    public func record(_ request: RecordRequest) async throws(LedgerError) -> RecordResult {
        try await write(recording(request))
    }

    /// The requests as jobs of the writer submitted together, so that they share its transactions and this caller
    /// one resumption; each still succeeds or fails on its own (see ``commit(_:on:flusher:)``).
    public func record(batch requests: [RecordRequest]) async -> [Result<RecordResult, LedgerError>] {
        guard !requests.isEmpty else { return [] }
        let bodies = requests.map { recording($0) }
        return await withCheckedContinuation { continuation in
            let group = SQLiteWriteGroup(count: bodies.count, continuation: continuation)
            let jobs: [any SQLiteWriteJob] = bodies.enumerated().map { group.member($0.offset, body: $0.element) }
            if !writes.submit(contentsOf: jobs) { for job in jobs { job.finish(Self.closed) } }
        }
    }

    /// The writer's work for one request: the inbox row deleted, the claim dropped, the outcome inserted (or the
    /// key's earlier decision found) and the dead letter filed, in the job's transaction.
    private func recording(_ request: RecordRequest)
        -> @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Result<RecordResult, LedgerError>
    {
        let row = LedgerCoding.Row(request.outcome)
        let letter = request.deadLetter.map { LedgerCoding.DeadLetterRow(outcome: request.outcome, content: $0) }
        let inboxID = request.inboxID
        let now = self.now
        let window = windowMilliseconds(row.adapter)
        let keys = decidedKeys
        return { connection throws(SQLiteFailure) -> Result<RecordResult, LedgerError> in
            if let inboxID {
                let delete = try connection.statement("DELETE FROM inbox WHERE id = ?")
                delete.bind(1, inboxID)
                try delete.step()
            }
            try Self.dropClaim(row.adapter, row.idempotencyKey, on: connection)
            if let id = try Self.insert(row, at: now, on: connection, noting: keys) {
                if let letter { try Self.insert(letter, row: row, at: now, on: connection) }
                return .success(.recorded(id: id))
            }
            let existing = try connection.statement(
                "SELECT id, recorded_at, body FROM outcomes WHERE adapter = ? AND idempotency_key = ?")
            existing.bind(1, row.adapter)
            existing.bind(2, row.idempotencyKey)
            // Failures after a change throw, so that the transaction rolls the job back: a result of
            // `.failure` would commit the inbox row's deletion with no outcome.
            guard try existing.step() else { throw SQLiteFailure(code: SQLITE_INTERNAL, message: "a conflicting outcome vanished") }
            let (id, recordedAt, body) = (existing.int64(0), existing.int64(1), existing.text(2) ?? "")
            existing.reset()
            // The same outcome again: a write retried after an unknown result.
            if body == row.body { return .success(.recorded(id: id)) }
            if let window, LedgerCoding.elapsed(since: recordedAt, now: now) >= window {
                let delete = try connection.statement("DELETE FROM outcomes WHERE id = ?")
                delete.bind(1, id)
                try delete.step()
                keys.deleted(adapter: row.adapter, key: row.idempotencyKey)
                guard let newID = try Self.insert(row, at: now, on: connection, noting: keys) else {
                    throw SQLiteFailure(code: SQLITE_INTERNAL, message: "cannot replace an expired decision")
                }
                if let letter { try Self.insert(letter, row: row, at: now, on: connection) }
                return .success(.recorded(id: newID))
            }
            // Read before anything more changes, and thrown: the inbox row's deletion must roll back with it.
            let decided: Outcome
            do throws(LedgerError) {
                decided = try LedgerCoding.outcome(body)
            } catch {
                throw SQLiteFailure(
                    code: SQLITE_INTERNAL, message: "the stored decision for \(row.idempotencyKey) cannot be read: \(error.detail)")
            }
            let count = try connection.statement("UPDATE outcomes SET duplicates = duplicates + 1 WHERE id = ?")
            count.bind(1, id)
            try count.step()
            return .success(.alreadyDecided(decided))
        }
    }

    public func claim(adapter: String, idempotencyKey: String, owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimResult
    {
        let now = self.now
        let window = windowMilliseconds(adapter)
        let until = now + Int64((duration.timeInterval * 1000).rounded())
        return try await write { connection throws(SQLiteFailure) -> Result<ClaimResult, LedgerError> in
            let decided = try connection.statement(
                "SELECT recorded_at, body FROM outcomes WHERE adapter = ? AND idempotency_key = ?")
            decided.bind(1, adapter)
            decided.bind(2, idempotencyKey)
            if try decided.step(), window.map({ LedgerCoding.elapsed(since: decided.int64(0), now: now) < $0 }) ?? true {
                let body = decided.text(1) ?? ""
                decided.reset()
                return Result { () throws(LedgerError) in .decided(try LedgerCoding.outcome(body)) }
            }
            decided.reset()
            let held = try connection.statement(
                "SELECT owner, expires_at FROM claims WHERE adapter = ? AND idempotency_key = ?")
            held.bind(1, adapter)
            held.bind(2, idempotencyKey)
            if try held.step(), let holder = held.text(0), holder != owner, held.int64(1) > now {
                let expires = held.int64(1)
                held.reset()
                return .success(.held(by: holder, until: LedgerCoding.date(expires)))
            }
            held.reset()
            let take = try connection.statement(
                """
                INSERT INTO claims (adapter, idempotency_key, owner, expires_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (adapter, idempotency_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                """)
            take.bind(1, adapter)
            take.bind(2, idempotencyKey)
            take.bind(3, owner)
            take.bind(4, until)
            try take.step()
            return .success(.claimed(until: LedgerCoding.date(until)))
        }
    }

    public func renewClaims(adapter: String, idempotencyKeys: [String], owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimRenewal
    {
        guard !idempotencyKeys.isEmpty else { return ClaimRenewal() }
        let until = self.now + Int64((duration.timeInterval * 1000).rounded())
        return try await write { connection throws(SQLiteFailure) -> Result<ClaimRenewal, LedgerError> in
            let extend = try connection.statement(
                "UPDATE claims SET expires_at = ? WHERE adapter = ? AND idempotency_key = ? AND owner = ?")
            let holder = try connection.statement("SELECT owner FROM claims WHERE adapter = ? AND idempotency_key = ?")
            var renewal = ClaimRenewal()
            for key in Set(idempotencyKeys) {
                extend.bind(1, until)
                extend.bind(2, adapter)
                extend.bind(3, key)
                extend.bind(4, owner)
                try extend.step()
                extend.reset()
                if connection.changes > 0 {
                    renewal.renewed += 1
                    continue
                }
                holder.bind(1, adapter)
                holder.bind(2, key)
                if try holder.step(), let other = holder.text(0) { renewal.lost[key] = other }
                holder.reset()
            }
            return .success(renewal)
        }
    }

    public func release(adapter: String, idempotencyKey: String, owner: String) async throws(LedgerError) {
        try await write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
            let delete = try connection.statement(
                "DELETE FROM claims WHERE adapter = ? AND idempotency_key = ? AND owner = ?")
            delete.bind(1, adapter)
            delete.bind(2, idempotencyKey)
            delete.bind(3, owner)
            try delete.step()
            return .success(())
        }
    }

    public func appendInbox(_ delivery: Delivery) async throws(LedgerError) -> Int64 {
        let headers = LedgerCoding.headersText(delivery)
        let received = LedgerCoding.milliseconds(delivery.receivedAt)
        return try await write { connection throws(SQLiteFailure) -> Result<Int64, LedgerError> in
            let insert = try connection.statement(
                "INSERT INTO inbox (adapter, target, headers, body, received_at) VALUES (?, ?, ?, ?, ?)")
            insert.bind(1, delivery.adapter)
            insert.bind(2, delivery.target)
            insert.bind(3, headers)
            insert.bind(4, blob: delivery.body)
            insert.bind(5, received)
            try insert.step()
            return .success(connection.lastInsertRowID)
        }
    }

    public func markRedriven(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        let row = LedgerCoding.Row(outcome)
        let now = self.now
        let keys = decidedKeys
        try await write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
            // Once: two replays running at once must not both replace the key's decision. The letter's key is
            // matched too: retention may have pruned the letter during the replay, and SQLite hands a deleted
            // newest id out again, to a letter this replay never sent.
            let mark = try connection.statement(
                """
                UPDATE dead_letters SET redriven_at = ?, redrive_count = redrive_count + 1
                WHERE id = ? AND adapter = ? AND idempotency_key = ? AND redriven_at IS NULL
                """)
            mark.bind(1, now)
            mark.bind(2, deadLetterID)
            mark.bind(3, row.adapter)
            mark.bind(4, row.idempotencyKey)
            try mark.step()
            guard connection.changes == 1 else {
                let exists = try connection.statement(
                    "SELECT 1 FROM dead_letters WHERE id = ? AND adapter = ? AND idempotency_key = ?")
                exists.bind(1, deadLetterID)
                exists.bind(2, row.adapter)
                exists.bind(3, row.idempotencyKey)
                defer { exists.reset() }
                if try exists.step() {
                    return .failure(
                        .invalidRequest("already_redriven", "dead letter \(deadLetterID) was already re-driven (another replay)"))
                }
                return .failure(.invalidRequest("not_found", "there is no dead letter \(deadLetterID)"))
            }
            // The letter's own decision (recorded with it) gives way; a newer one stays: the key was decided again
            // after the letter, once its first decision was pruned or its dedupe window had passed.
            let delete = try connection.statement(
                """
                DELETE FROM outcomes WHERE adapter = ? AND idempotency_key = ?
                AND recorded_at <= (SELECT created_at FROM dead_letters WHERE id = ?)
                """)
            delete.bind(1, row.adapter)
            delete.bind(2, row.idempotencyKey)
            delete.bind(3, deadLetterID)
            try delete.step()
            if connection.changes > 0 { keys.deleted(adapter: row.adapter, key: row.idempotencyKey) }
            _ = try Self.insert(row, at: now, on: connection, noting: keys)
            return .success(())
        }
    }

    public func keepReplayProgress(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        let row = LedgerCoding.Row(outcome)
        try await write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
            let keep = try connection.statement(
                """
                UPDATE dead_letters SET outcome = ?
                WHERE id = ? AND adapter = ? AND idempotency_key = ? AND redriven_at IS NULL
                """)
            keep.bind(1, row.body)
            keep.bind(2, deadLetterID)
            keep.bind(3, row.adapter)
            keep.bind(4, row.idempotencyKey)
            try keep.step()
            return .success(())
        }
    }

    public func pruneBatch(_ policy: RetentionPolicy, batchSize: Int) async throws(LedgerError) -> PruneResult {
        let now = self.now
        let cutoff = policy.cutoff(now: configuration.now()).map(LedgerCoding.milliseconds)
        let limit = Int64(max(1, batchSize))
        // The newest id past `max_outcomes` is found on a reader: it walks that many rows, which on the writer would
        // hold up every write behind it (seconds at ten million). The writer deletes at most `limit` rows up to it;
        // rows recorded meanwhile only make the bound conservative, so the batches after this one reuse it until
        // they have deleted every row up to it: one walk per pruning run, not one per batch.
        var countThreshold: Int64?
        if let maxOutcomes = policy.maxOutcomes, let kept = pruneThreshold.kept(for: maxOutcomes) {
            countThreshold = kept
        } else if let maxOutcomes = policy.maxOutcomes {
            countThreshold = try await read { connection -> Int64? in
                // Fewer ids than the maximum between the oldest and the newest: nothing to count.
                let span = try connection.prepare("SELECT max(id) - min(id) + 1 FROM outcomes")
                guard try span.step(), span.int64(0) > Int64(maxOutcomes) else { return nil }
                let threshold = try connection.prepare("SELECT id FROM outcomes ORDER BY id DESC LIMIT 1 OFFSET ?")
                threshold.bind([.integer(Int64(max(0, maxOutcomes)))])
                return try threshold.step() ? threshold.int64(0) : nil
            }
        }
        let excessUpTo = countThreshold
        let keys = decidedKeys
        pruneThreshold.keep(countThreshold, for: policy.maxOutcomes)
        let pruned = try await write { connection throws(SQLiteFailure) -> Result<(PruneResult, Bool), LedgerError> in
            var result = PruneResult()
            if let cutoff {
                // The newest outcome stays whatever its age (here and below): without AUTOINCREMENT, SQLite gives a
                // new row max(id) + 1, so deleting the newest would hand its id out again, and another process's
                // filter, which reads decisions past the last id it saw, would miss the new one.
                let old = try connection.statement(
                    """
                    DELETE FROM outcomes WHERE id IN (
                        SELECT id FROM outcomes WHERE recorded_at < ? AND id < (SELECT max(id) FROM outcomes)
                        ORDER BY recorded_at LIMIT ?)
                    RETURNING adapter, idempotency_key
                    """)
                old.bind(1, cutoff)
                old.bind(2, limit)
                result.outcomes = try Self.forgetDeleted(old, keys: keys)
                let letters = try connection.statement(
                    "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE created_at < ? ORDER BY created_at LIMIT ?)")
                letters.bind(1, cutoff)
                letters.bind(2, limit)
                try letters.step()
                result.deadLetters = connection.changes
            }
            // Whether rows up to the threshold may be left: the next batch reuses it only then.
            var excessLeft = false
            if let excessUpTo, result.outcomes < Int(limit) {
                let excess = try connection.statement(
                    """
                    DELETE FROM outcomes WHERE id IN (
                        SELECT id FROM outcomes WHERE id <= ? AND id < (SELECT max(id) FROM outcomes) ORDER BY id LIMIT ?)
                    RETURNING adapter, idempotency_key
                    """)
                excess.bind(1, excessUpTo)
                excess.bind(2, limit - Int64(result.outcomes))
                let deleted = try Self.forgetDeleted(excess, keys: keys)
                excessLeft = deleted == Int(limit) - result.outcomes
                result.outcomes += deleted
            } else if excessUpTo != nil {
                excessLeft = true
            }
            let claims = try connection.statement("DELETE FROM claims WHERE expires_at <= ?")
            claims.bind(1, now)
            try claims.step()
            result.claims = connection.changes
            return .success((result, excessLeft))
        }
        if !pruned.1 { pruneThreshold.forget() }
        return pruned.0
    }

    public func checkReadiness() async throws(LedgerError) {
        // An empty transaction writes nothing: on a full disk it passes while every real write fails.
        if let refused = storage.current { throw refused }
        try await write { _ throws(SQLiteFailure) -> Result<Void, LedgerError> in .success(()) }
    }

    // MARK: - Statements shared by the writes

    /// Inserts a decision and tells `keys`; nil when the key is already decided.
    static func insert(_ row: LedgerCoding.Row, at now: Int64, on connection: SQLiteConnection, noting keys: DecidedKeys)
        throws(SQLiteFailure) -> Int64?
    {
        let insert = try connection.statement(
            """
            INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (adapter, idempotency_key) DO NOTHING
            """)
        insert.bind(1, row.adapter)
        insert.bind(2, row.idempotencyKey)
        insert.bind(3, row.kind)
        insert.bind(4, row.reason)
        insert.bind(5, row.workflowID)
        insert.bind(6, row.sourcePosition)
        insert.bind(7, now)
        insert.bind(8, row.body)
        keys.willInsert(row)
        try insert.step()
        guard connection.changes == 1 else { return nil }
        keys.inserted(row, at: now)
        return connection.lastInsertRowID
    }

    /// Steps a `DELETE … RETURNING adapter, idempotency_key` of outcomes, taking each deleted key out of
    /// the memo; returns how many were deleted.
    static func forgetDeleted(_ delete: SQLiteStatement, keys: DecidedKeys) throws(SQLiteFailure) -> Int {
        defer { delete.reset() }
        var deleted = 0
        while try delete.step() {
            keys.deleted(adapter: delete.text(0) ?? "", key: delete.text(1) ?? "")
            deleted += 1
        }
        return deleted
    }

    static func insert(_ letter: LedgerCoding.DeadLetterRow, row: LedgerCoding.Row, at now: Int64, on connection: SQLiteConnection)
        throws(SQLiteFailure)
    {
        let insert = try connection.statement(
            """
            INSERT INTO dead_letters (adapter, idempotency_key, reason, created_at, outcome, commands, delivery, delivery_body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insert.bind(1, row.adapter)
        insert.bind(2, row.idempotencyKey)
        insert.bind(3, letter.reason)
        insert.bind(4, now)
        insert.bind(5, row.body)
        insert.bind(6, letter.commands)
        insert.bind(7, letter.delivery)
        insert.bind(8, blob: letter.deliveryBody)
        try insert.step()
    }

    static func dropClaim(_ adapter: String, _ key: String, on connection: SQLiteConnection) throws(SQLiteFailure) {
        let delete = try connection.statement("DELETE FROM claims WHERE adapter = ? AND idempotency_key = ?")
        delete.bind(1, adapter)
        delete.bind(2, key)
        try delete.step()
    }
}
