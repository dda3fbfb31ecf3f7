import Foundation
public import SluiceCore

extension SQLiteLedger {
    public func decision(adapter: String, idempotencyKey: String) async throws(LedgerError) -> Outcome? {
        try checkServing()
        let now = self.now
        let window = windowMilliseconds(adapter)
        guard decidedKeys.knowledge(adapter: adapter, key: idempotencyKey, now: now, window: window) != .absent else { return nil }
        // On a reader thread: the table row and its body are more pages than the check's covering-index probe.
        let body: String? = try await read { connection in
            try Self.decisionBody(adapter: adapter, idempotencyKey: idempotencyKey, now: now, window: window, on: connection)
        }
        return try body.map { text throws(LedgerError) in try LedgerCoding.outcome(text) }
    }

    /// Answered from memory (the ``DecisionMemo``) once the start-up scan has filled it; otherwise keys the
    /// ``DecidedKeyFilter`` has never seen are answered without a query and the rest probe the file.
    public func decisionSummary(adapter: String, idempotencyKey: String) async throws(LedgerError) -> DecisionSummary? {
        try checkServing()
        let now = self.now
        let window = windowMilliseconds(adapter)
        switch decidedKeys.knowledge(adapter: adapter, key: idempotencyKey, now: now, window: window) {
        case .absent: return nil
        case .decided(let summary): return summary
        case .ask: break
        }
        return try await probe { connection throws(SQLiteFailure) in
            try Self.summary(adapter: adapter, key: idempotencyKey, now: now, window: window, on: connection)
        }
    }

    /// One turn for all the keys: the same prepared statement, on the calling thread for a few keys
    /// (``inlineProbeLimit``) and with one hand-off to a reader thread for more.
    ///
    /// Keys the memory answers (the ``DecisionMemo``, or the ``DecidedKeyFilter`` for a key it has never seen)
    /// cost no query (no query at all when none is left); each remaining probe reads only the covering index
    /// `outcomes_decisions`.
    public func decisionSummaries(adapter: String, idempotencyKeys: [String]) async throws(LedgerError)
        -> [String: DecisionSummary]
    {
        try checkServing()
        let now = self.now
        let window = windowMilliseconds(adapter)
        var known: [String: DecisionSummary] = [:]
        var asked: [String] = []
        for key in idempotencyKeys {
            switch decidedKeys.knowledge(adapter: adapter, key: key, now: now, window: window) {
            case .absent: continue
            case .decided(let summary): known[key] = summary
            case .ask: asked.append(key)
            }
        }
        guard !asked.isEmpty else { return known }
        let (keys, answered) = (asked, known)
        let lookUp = { @Sendable (connection: SQLiteConnection) throws(SQLiteFailure) -> [String: DecisionSummary] in
            var found = answered
            for key in keys {
                found[key] = try Self.summary(adapter: adapter, key: key, now: now, window: window, on: connection)
            }
            return found
        }
        return try await keys.count <= Self.inlineProbeLimit ? probe(lookUp) : read(lookUp)
    }

    /// The most keys of one ``decisionSummaries(adapter:idempotencyKeys:)`` looked up on the calling
    /// thread (tens of microseconds); more (a fetch redelivered after a rebalance) go to a reader thread,
    /// so that a turn of Swift's cooperative pool stays short.
    static let inlineProbeLimit = 16

    /// One probe of the covering index `outcomes_decisions`: the live decision's summary, or nil.
    private static func summary(adapter: String, key: String, now: Int64, window: Int64?, on connection: SQLiteConnection)
        throws(SQLiteFailure) -> DecisionSummary?
    {
        let select = try connection.statement(
            """
            SELECT recorded_at, outcome, reason FROM outcomes INDEXED BY outcomes_decisions
            WHERE adapter = ? AND idempotency_key = ?
            """)
        select.bind(1, adapter)
        select.bind(2, key)
        defer { select.reset() }
        guard try select.step() else { return nil }
        let recordedAt = select.int64(0)
        if let window, LedgerCoding.elapsed(since: recordedAt, now: now) >= window { return nil }
        return DecisionSummary(
            kind: Outcome.Kind(rawValue: select.text(1) ?? "") ?? .rejected,
            reason: select.text(2).map(OutcomeReason.init(rawValue:)), recordedAt: LedgerCoding.date(recordedAt))
    }

    /// The stored JSON of a live decision: the lookup behind ``decision(adapter:idempotencyKey:)``.
    static func decisionBody(adapter: String, idempotencyKey: String, now: Int64, window: Int64?, on connection: SQLiteConnection)
        throws(SQLiteFailure) -> String?
    {
        let select = try connection.statement("SELECT recorded_at, body FROM outcomes WHERE adapter = ? AND idempotency_key = ?")
        select.bind(1, adapter)
        select.bind(2, idempotencyKey)
        defer { select.reset() }
        guard try select.step() else { return nil }
        if let window, LedgerCoding.elapsed(since: select.int64(0), now: now) >= window { return nil }
        return select.text(1)
    }

    public func inboxDepth() async throws(LedgerError) -> [String: Int] {
        try await read { connection in
            let select = try connection.statement("SELECT adapter, count(*) FROM inbox GROUP BY adapter")
            defer { select.reset() }
            var depth: [String: Int] = [:]
            while try select.step() { depth[select.text(0) ?? ""] = Int(select.int64(1)) }
            return depth
        }
    }

    public func pendingInbox(after: Int64?, limit: Int) async throws(LedgerError) -> [InboxItem] {
        try await read { connection in
            let select = try connection.statement(
                "SELECT id, adapter, target, headers, body, received_at FROM inbox WHERE id > ? ORDER BY id LIMIT ?")
            select.bind(1, after ?? 0)
            select.bind(2, Int64(limit))
            defer { select.reset() }
            var items: [InboxItem] = []
            while try select.step() {
                let delivery = Delivery(
                    adapter: select.text(1) ?? "", target: select.text(2) ?? "",
                    headers: try LedgerCoding.headers(select.text(3) ?? "[]"), body: select.blob(4),
                    receivedAt: LedgerCoding.date(select.int64(5)))
                items.append(InboxItem(id: select.int64(0), delivery: delivery))
            }
            return items
        }
    }

    public func deadLetters(_ query: DeadLetterQuery) async throws(LedgerError) -> [DeadLetter] {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        if let adapter = query.adapter {
            conditions.append("adapter = ?")
            values.append(.text(adapter))
        }
        if let since = query.since {
            conditions.append("created_at >= ?")
            values.append(.integer(LedgerCoding.milliseconds(since)))
        }
        if !query.includeRedriven { conditions.append("redriven_at IS NULL") }
        if let afterID = query.afterID {
            conditions.append("id > ?")
            values.append(.integer(afterID))
        }
        values.append(.integer(Int64(query.limit)))
        let sql = """
            SELECT id, created_at, redriven_at, redrive_count, outcome, commands, delivery, delivery_body FROM dead_letters
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id \(query.oldestFirst ? "ASC" : "DESC") LIMIT ?
            """
        let bound = values
        return try await read { connection in
            let select = try connection.prepare(sql)
            select.bind(bound)
            var letters: [DeadLetter] = []
            while try select.step() {
                let delivery = try select.text(6).map { text throws(LedgerError) in
                    try LedgerCoding.delivery(text, body: select.blob(7))
                }
                letters.append(
                    DeadLetter(
                        id: select.int64(0), outcome: try LedgerCoding.outcome(select.text(4) ?? ""),
                        content: DeadLetterContent(commands: try LedgerCoding.commands(select.text(5) ?? "[]"), delivery: delivery),
                        createdAt: LedgerCoding.date(select.int64(1)),
                        redrivenAt: select.isNull(2) ? nil : LedgerCoding.date(select.int64(2)),
                        redriveCount: Int(select.int64(3))))
            }
            return letters
        }
    }

    public func outcomes(_ query: OutcomeQuery) async throws(LedgerError) -> [StoredOutcome] {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        func add(_ condition: String, _ value: SQLiteValue) {
            conditions.append(condition)
            values.append(value)
        }
        if let adapter = query.adapter { add("adapter = ?", .text(adapter)) }
        if let key = query.idempotencyKey { add("idempotency_key = ?", .text(key)) }
        if let kind = query.kind { add("outcome = ?", .text(kind.rawValue)) }
        if let reason = query.reason { add("reason = ?", .text(reason.rawValue)) }
        if let workflowID = query.workflowID { add("workflow_id = ?", .text(workflowID)) }
        if let since = query.since { add("recorded_at >= ?", .integer(LedgerCoding.milliseconds(since))) }
        values.append(.integer(Int64(query.limit)))
        let sql = """
            SELECT id, recorded_at, duplicates, body FROM outcomes
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
            """
        let bound = values
        return try await read { connection in
            let select = try connection.prepare(sql)
            select.bind(bound)
            var rows: [StoredOutcome] = []
            while try select.step() {
                rows.append(
                    StoredOutcome(
                        id: select.int64(0), outcome: try LedgerCoding.outcome(select.text(3) ?? ""),
                        recordedAt: LedgerCoding.date(select.int64(1)), duplicates: Int(select.int64(2))))
            }
            return rows
        }
    }
}
