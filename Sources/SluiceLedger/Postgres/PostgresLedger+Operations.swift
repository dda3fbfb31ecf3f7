import Foundation
import Logging
import NIOCore
import PostgresNIO
public import SluiceCore

extension PostgresLedger {
    public func record(_ request: RecordRequest) async throws(LedgerError) -> RecordResult {
        let work = PostgresWriteJob.Work.record(
            request.outcome, LedgerCoding.Row(request.outcome), inboxID: request.inboxID,
            letter: request.deadLetter.map { LedgerCoding.DeadLetterRow(outcome: request.outcome, content: $0) })
        guard case .record(let result) = try await write(work) else { throw Self.unexpected }
        return result
    }

    public func claim(adapter: String, idempotencyKey: String, owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimResult
    {
        let now = self.now
        let claimNow = self.claimNow
        let seconds = duration.timeInterval
        let dedupe = configuration.dedupe
        let answer = try await write(
            .statements { connection, logger in
                // Claim first, then look for a decision: a replica recording the key concurrently either
                // holds the claim row (we wait for its commit) or has committed its decision (we see it).
                var claimedUntil: Date?
                for (expires, claimClockNow) in try await connection.query(
                    """
                    INSERT INTO sluice_claims (adapter, idempotency_key, owner, expires_at)
                    VALUES (\(adapter), \(idempotencyKey), \(owner), coalesce(\(claimNow), clock_timestamp()) + \(seconds) * interval '1 second')
                    ON CONFLICT (adapter, idempotency_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE sluice_claims.owner = excluded.owner OR sluice_claims.expires_at <= coalesce(\(claimNow), clock_timestamp())
                    RETURNING expires_at, coalesce(\(claimNow), clock_timestamp())
                    """, logger: logger
                ).decode((Date, Date).self) {
                    claimedUntil = Self.localTime(of: expires, claimClockNow: claimClockNow, localNow: now)
                }
                let claimed = claimedUntil != nil
                for (recordedAt, body) in try await connection.query(
                    "SELECT recorded_at, body FROM sluice_outcomes WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey)",
                    logger: logger
                ).decode((Date, String).self) where dedupe.isLive(adapter: adapter, recordedAt: recordedAt, now: now) {
                    if claimed {
                        try await connection.query(
                            "DELETE FROM sluice_claims WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey) AND owner = \(owner)",
                            logger: logger)
                    }
                    return Result { () throws(LedgerError) in .claim(.decided(try LedgerCoding.outcome(body))) }
                }
                if let claimedUntil { return .success(.claim(.claimed(until: claimedUntil))) }
                for (holder, expires, claimClockNow) in try await connection.query(
                    """
                    SELECT owner, expires_at, coalesce(\(claimNow), clock_timestamp()) FROM sluice_claims
                    WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey)
                    """, logger: logger
                ).decode((String, Date, Date).self) {
                    let until = Self.localTime(of: expires, claimClockNow: claimClockNow, localNow: now)
                    return .success(.claim(.held(by: holder, until: until)))
                }
                return .failure(.retryable("conflict", "the claim on \(idempotencyKey) changed hands; try again"))
            })
        guard case .claim(let result) = answer else { throw Self.unexpected }
        return result
    }

    /// A claim's expiry on the claims' clock, moved onto this replica's: as far from `localNow` as it is from the claims'
    /// clock's now. Callers wait until it on their own clock, whatever the two clocks' difference.
    static func localTime(of expiry: Date, claimClockNow: Date, localNow: Date) -> Date {
        localNow.addingTimeInterval(expiry.timeIntervalSince(claimClockNow))
    }

    public func renewClaims(adapter: String, idempotencyKeys: [String], owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimRenewal
    {
        guard !idempotencyKeys.isEmpty else { return ClaimRenewal() }
        let claimNow = self.claimNow
        let seconds = duration.timeInterval
        let keys = Array(Set(idempotencyKeys))
        let answer = try await write(
            .statements { connection, logger in
                var renewal = ClaimRenewal()
                renewal.renewed = try await connection.query(
                    """
                    UPDATE sluice_claims SET expires_at = coalesce(\(claimNow), clock_timestamp()) + \(seconds) * interval '1 second'
                    WHERE adapter = \(adapter) AND owner = \(owner) AND idempotency_key = ANY(\(keys)) RETURNING owner
                    """, logger: logger
                ).count
                for (key, holder) in try await connection.query(
                    """
                    SELECT idempotency_key, owner FROM sluice_claims
                    WHERE adapter = \(adapter) AND owner <> \(owner) AND idempotency_key = ANY(\(keys))
                    """, logger: logger
                ).decode((String, String).self) {
                    renewal.lost[key] = holder
                }
                return .success(.renewal(renewal))
            })
        guard case .renewal(let renewal) = answer else { throw Self.unexpected }
        return renewal
    }

    public func release(adapter: String, idempotencyKey: String, owner: String) async throws(LedgerError) {
        _ = try await write(
            .statements { connection, logger in
                try await connection.query(
                    "DELETE FROM sluice_claims WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey) AND owner = \(owner)",
                    logger: logger)
                return .success(.done)
            })
    }

    public func appendInbox(_ delivery: Delivery) async throws(LedgerError) -> Int64 {
        let headers = LedgerCoding.headersText(delivery)
        let answer = try await write(
            .statements(idempotent: false) { connection, logger in
                let rows = try await connection.query(
                    """
                    INSERT INTO sluice_inbox (adapter, target, headers, body, received_at)
                    VALUES (\(delivery.adapter), \(delivery.target), \(headers), \(ByteBuffer(bytes: delivery.body)), \(delivery.receivedAt))
                    RETURNING id
                    """, logger: logger)
                for id in try rows.decode(Int64.self) { return .success(.id(id)) }
                return .failure(.fatal("internal", "an inbox insert returned no id"))
            })
        guard case .id(let id) = answer else { throw Self.unexpected }
        return id
    }

    public func markRedriven(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        let row = LedgerCoding.Row(outcome)
        let now = self.now
        _ = try await write(
            .statements(idempotent: false) { connection, logger in
                let marked = try await connection.query(
                    """
                    UPDATE sluice_dead_letters SET redriven_at = \(now), redrive_count = redrive_count + 1
                    WHERE id = \(deadLetterID) AND redriven_at IS NULL RETURNING id
                    """, logger: logger)
                guard !marked.isEmpty else {
                    // Once: two replays running at once must not both replace the key's decision.
                    let exists = try await connection.query(
                        "SELECT id FROM sluice_dead_letters WHERE id = \(deadLetterID)", logger: logger)
                    guard exists.isEmpty else {
                        return .failure(
                            .invalidRequest("already_redriven", "dead letter \(deadLetterID) was already re-driven (another replay)"))
                    }
                    return .failure(.invalidRequest("not_found", "there is no dead letter \(deadLetterID)"))
                }
                // The letter's own decision (recorded with it) gives way; a newer one stays: the key was decided again
                // after the letter, once its first decision was pruned or its dedupe window had passed.
                try await connection.query(
                    """
                    DELETE FROM sluice_outcomes WHERE adapter = \(row.adapter) AND idempotency_key = \(row.idempotencyKey)
                    AND recorded_at <= (SELECT created_at FROM sluice_dead_letters WHERE id = \(deadLetterID))
                    """,
                    logger: logger)
                try await connection.query(
                    """
                    INSERT INTO sluice_outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
                    VALUES (\(row.adapter), \(row.idempotencyKey), \(row.kind), \(row.reason), \(row.workflowID), \(row.sourcePosition),
                    \(now), \(row.body)) ON CONFLICT (adapter, idempotency_key) DO NOTHING
                    """, logger: logger)
                return .success(.done)
            })
    }

    public func keepReplayProgress(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        let row = LedgerCoding.Row(outcome)
        _ = try await write(
            .statements { connection, logger in
                try await connection.query(
                    """
                    UPDATE sluice_dead_letters SET outcome = \(row.body)
                    WHERE id = \(deadLetterID) AND adapter = \(row.adapter) AND idempotency_key = \(row.idempotencyKey)
                    AND redriven_at IS NULL
                    """, logger: logger)
                return .success(.done)
            })
    }

    public func pruneBatch(_ policy: RetentionPolicy, batchSize: Int) async throws(LedgerError) -> PruneResult {
        let now = self.now
        let claimNow = self.claimNow
        let cutoff = policy.cutoff(now: now)
        let limit = max(1, batchSize)
        // The newest id past `max_outcomes` is found on a pooled connection: it walks that many index entries,
        // which in the writer's transaction would hold up every write behind it (and could reach its statement
        // timeout). The writer deletes at most `limit` rows up to it, and the batches after this one reuse it until
        // the rows up to it are gone (see ``PruneThreshold``).
        var excessUpTo: Int64?
        if let maxOutcomes = policy.maxOutcomes, let kept = pruneThreshold.kept(for: maxOutcomes) {
            excessUpTo = kept
        } else if let maxOutcomes = policy.maxOutcomes {
            let logger = self.logger
            excessUpTo = try await read { connection -> Int64? in
                var span: Int64?
                for try await value in try await connection.query(
                    // In numeric, capped: ids far apart (edited by hand) would overflow bigint and stop every prune.
                    "SELECT LEAST(max(id)::numeric - min(id) + 1, 9223372036854775807)::bigint FROM sluice_outcomes",
                    logger: logger
                ).decode(Int64?.self) {
                    span = value
                }
                guard let span, span > Int64(maxOutcomes) else { return nil }
                var threshold: Int64?
                for try await id in try await connection.query(
                    "SELECT id FROM sluice_outcomes ORDER BY id DESC LIMIT 1 OFFSET \(max(0, maxOutcomes))", logger: logger
                ).decode(Int64.self) {
                    threshold = id
                }
                return threshold
            }
        }
        let countBound = excessUpTo
        let threshold = pruneThreshold
        threshold.keep(countBound, for: policy.maxOutcomes)
        let answer = try await write(
            .statements { connection, logger in
                var result = PruneResult()
                func count(_ query: PostgresQuery) async throws -> Int {
                    try await connection.query(query, logger: logger).count
                }
                if let cutoff {
                    result.outcomes = try await count(
                        """
                        DELETE FROM sluice_outcomes WHERE id IN (SELECT id FROM sluice_outcomes WHERE recorded_at < \(cutoff)
                        ORDER BY recorded_at LIMIT \(limit)) RETURNING id
                        """)
                    result.deadLetters = try await count(
                        """
                        DELETE FROM sluice_dead_letters WHERE id IN (SELECT id FROM sluice_dead_letters WHERE created_at < \(cutoff)
                        ORDER BY created_at LIMIT \(limit)) RETURNING id
                        """)
                }
                // Whether rows up to the threshold may be left: the next batch reuses it only then.
                var excessLeft = countBound != nil
                if let countBound, result.outcomes < limit {
                    let asked = limit - result.outcomes
                    let deleted = try await count(
                        """
                        DELETE FROM sluice_outcomes WHERE id IN (SELECT id FROM sluice_outcomes WHERE id <= \(countBound)
                        ORDER BY id LIMIT \(asked)) RETURNING id
                        """)
                    excessLeft = deleted == asked
                    result.outcomes += deleted
                }
                if !excessLeft { threshold.forget() }
                result.claims = try await count(
                    "DELETE FROM sluice_claims WHERE expires_at <= coalesce(\(claimNow), clock_timestamp()) RETURNING owner")
                return .success(.prune(result))
            })
        guard case .prune(let result) = answer else { throw Self.unexpected }
        return result
    }

    public func checkReadiness() async throws(LedgerError) {
        _ = try await write(
            .statements { connection, logger in
                try await connection.query("SELECT 1", logger: logger)
                return .success(.done)
            })
    }

    static let unexpected = LedgerError.fatal("internal", "the ledger writer gave an unexpected answer")

    // MARK: - Reads

    /// Runs queries on a pooled connection and classifies their errors.
    ///
    /// The answer is awaited for at most ``PostgresLedgerConfiguration/answerTimeout``: a pooled connection
    /// left half-open (a network cut, a failover) never answers, and a check before an engine call would wait on
    /// it until the kernel gives up (~15 minutes). Past the deadline, the read fails as retryable `no_answer`
    /// and the connection is closed, so the pool replaces it.
    func read<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value)
        async throws(LedgerError) -> Value
    {
        let timeout = configuration.answerTimeout
        let endpoint = configuration.endpoint
        let logger = self.logger
        do {
            return try await client.withConnection { connection in
                try await PooledAnswer.awaited(within: timeout, on: connection, logger: logger) {
                    try await body(connection)
                } noAnswer: {
                    LedgerError.retryable(
                        "no_answer", "PostgreSQL at \(endpoint) gave no answer within \(timeout); the connection was closed")
                }
            }
        } catch {
            throw Self.classify(error, configuration: configuration)
        }
    }

    public func decisionSummary(adapter: String, idempotencyKey: String) async throws(LedgerError) -> DecisionSummary? {
        let now = self.now
        let logger = self.logger
        let stored: (Date, String, String?)? = try await read { connection in
            for try await row in try await connection.query(
                "SELECT recorded_at, outcome, reason FROM sluice_outcomes WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey)",
                logger: logger
            ).decode((Date, String, String?).self) {
                return row
            }
            return nil
        }
        guard let (recordedAt, kind, reason) = stored,
            configuration.dedupe.isLive(adapter: adapter, recordedAt: recordedAt, now: now)
        else { return nil }
        return DecisionSummary(
            kind: Outcome.Kind(rawValue: kind) ?? .rejected, reason: reason.map(OutcomeReason.init(rawValue:)),
            recordedAt: recordedAt)
    }

    /// One query for all the keys (`idempotency_key = ANY($2)`).
    public func decisionSummaries(adapter: String, idempotencyKeys: [String]) async throws(LedgerError)
        -> [String: DecisionSummary]
    {
        guard !idempotencyKeys.isEmpty else { return [:] }
        let now = self.now
        let logger = self.logger
        let rows: [(String, Date, String, String?)] = try await read { connection in
            var rows: [(String, Date, String, String?)] = []
            for try await row in try await connection.query(
                "SELECT idempotency_key, recorded_at, outcome, reason FROM sluice_outcomes WHERE adapter = \(adapter) AND idempotency_key = ANY(\(idempotencyKeys))",
                logger: logger
            ).decode((String, Date, String, String?).self) {
                rows.append(row)
            }
            return rows
        }
        var found: [String: DecisionSummary] = [:]
        for (key, recordedAt, kind, reason) in rows
        where configuration.dedupe.isLive(adapter: adapter, recordedAt: recordedAt, now: now) {
            found[key] = DecisionSummary(
                kind: Outcome.Kind(rawValue: kind) ?? .rejected, reason: reason.map(OutcomeReason.init(rawValue:)),
                recordedAt: recordedAt)
        }
        return found
    }

    public func decision(adapter: String, idempotencyKey: String) async throws(LedgerError) -> Outcome? {
        let now = self.now
        let logger = self.logger
        let stored: (Date, String)? = try await read { connection in
            for try await row in try await connection.query(
                "SELECT recorded_at, body FROM sluice_outcomes WHERE adapter = \(adapter) AND idempotency_key = \(idempotencyKey)",
                logger: logger
            ).decode((Date, String).self) {
                return row
            }
            return nil
        }
        guard let (recordedAt, body) = stored, configuration.dedupe.isLive(adapter: adapter, recordedAt: recordedAt, now: now)
        else { return nil }
        return try LedgerCoding.outcome(body)
    }

    public func inboxDepth() async throws(LedgerError) -> [String: Int] {
        let logger = self.logger
        return try await read { connection in
            var depth: [String: Int] = [:]
            for try await (adapter, count) in try await connection.query(
                "SELECT adapter, count(*) FROM sluice_inbox GROUP BY adapter", logger: logger
            ).decode((String, Int64).self) {
                depth[adapter] = Int(count)
            }
            return depth
        }
    }

    public func pendingInbox(after: Int64?, limit: Int) async throws(LedgerError) -> [InboxItem] {
        let logger = self.logger
        let rows: [(Int64, String, String, String, ByteBuffer, Date)] = try await read { connection in
            var rows: [(Int64, String, String, String, ByteBuffer, Date)] = []
            for try await row in try await connection.query(
                """
                SELECT id, adapter, target, headers, body, received_at FROM sluice_inbox WHERE id > \(after ?? 0)
                ORDER BY id LIMIT \(limit)
                """, logger: logger
            ).decode((Int64, String, String, String, ByteBuffer, Date).self) {
                rows.append(row)
            }
            return rows
        }
        var items: [InboxItem] = []
        for (id, adapter, target, headers, body, received) in rows {
            let delivery = Delivery(
                adapter: adapter, target: target, headers: try LedgerCoding.headers(headers), body: Array(body.readableBytesView),
                receivedAt: received)
            items.append(InboxItem(id: id, delivery: delivery))
        }
        return items
    }

    public func deadLetters(_ query: DeadLetterQuery) async throws(LedgerError) -> [DeadLetter] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        if let adapter = query.adapter {
            binds.append(adapter)
            conditions.append("adapter = $\(binds.count)")
        }
        if let since = query.since {
            binds.append(since)
            conditions.append("created_at >= $\(binds.count)")
        }
        if !query.includeRedriven { conditions.append("redriven_at IS NULL") }
        if let afterID = query.afterID {
            binds.append(afterID)
            conditions.append("id > $\(binds.count)")
        }
        binds.append(query.limit)
        let sql = """
            SELECT id, created_at, redriven_at, redrive_count, outcome, commands, delivery, delivery_body FROM sluice_dead_letters
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id \(query.oldestFirst ? "ASC" : "DESC")
            LIMIT $\(binds.count)
            """
        let logger = self.logger
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try await read { connection in
            var rows: [(Int64, Date, Date?, Int, String, String, String?, ByteBuffer?)] = []
            for try await row in try await connection.query(query, logger: logger)
                .decode((Int64, Date, Date?, Int, String, String, String?, ByteBuffer?).self)
            {
                rows.append(row)
            }
            return rows
        }
        var letters: [DeadLetter] = []
        for (id, created, redriven, count, outcome, commands, delivery, body) in rows {
            let stored = try delivery.map { text throws(LedgerError) in
                try LedgerCoding.delivery(text, body: body.map { Array($0.readableBytesView) } ?? [])
            }
            letters.append(
                DeadLetter(
                    id: id, outcome: try LedgerCoding.outcome(outcome),
                    content: DeadLetterContent(commands: try LedgerCoding.commands(commands), delivery: stored), createdAt: created,
                    redrivenAt: redriven, redriveCount: count))
        }
        return letters
    }

    public func outcomes(_ query: OutcomeQuery) async throws(LedgerError) -> [StoredOutcome] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func add(_ column: String, _ value: String) {
            binds.append(value)
            conditions.append("\(column) = $\(binds.count)")
        }
        if let adapter = query.adapter { add("adapter", adapter) }
        if let key = query.idempotencyKey { add("idempotency_key", key) }
        if let kind = query.kind { add("outcome", kind.rawValue) }
        if let reason = query.reason { add("reason", reason.rawValue) }
        if let workflowID = query.workflowID { add("workflow_id", workflowID) }
        if let since = query.since {
            binds.append(since)
            conditions.append("recorded_at >= $\(binds.count)")
        }
        binds.append(query.limit)
        let sql = """
            SELECT id, recorded_at, duplicates, body FROM sluice_outcomes
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT $\(binds.count)
            """
        let logger = self.logger
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let rows = try await read { connection in
            var rows: [(Int64, Date, Int, String)] = []
            for try await row in try await connection.query(query, logger: logger)
                .decode((Int64, Date, Int, String).self)
            {
                rows.append(row)
            }
            return rows
        }
        var stored: [StoredOutcome] = []
        for (id, recorded, duplicates, body) in rows {
            stored.append(StoredOutcome(id: id, outcome: try LedgerCoding.outcome(body), recordedAt: recorded, duplicates: duplicates))
        }
        return stored
    }
}
