import Foundation
import Logging
import NIOCore
import PostgresNIO
import SluiceCore

extension PostgresLedger {
    /// Runs a batch inside its transaction: the decisions together, then the other writes in order.
    func perform(_ batch: [PostgresWriteJob], on connection: PostgresWriterConnection) async throws
        -> [Result<PostgresAnswer, LedgerError>]
    {
        var answers = [Result<PostgresAnswer, LedgerError>](repeating: .success(.done), count: batch.count)
        var records: [(index: Int, outcome: Outcome, row: LedgerCoding.Row, inboxID: Int64?, letter: LedgerCoding.DeadLetterRow?)] = []
        for (index, job) in batch.enumerated() {
            if case .record(let outcome, let row, let inboxID, let letter) = job.work {
                records.append((index, outcome, row, inboxID, letter))
            }
        }
        if !records.isEmpty {
            for (index, result) in try await recordAll(records, on: connection) { answers[index] = .success(.record(result)) }
        }
        for (index, job) in batch.enumerated() {
            if case .statements(_, let body) = job.work { answers[index] = try await body(connection, logger) }
        }
        return answers
    }

    private struct Key: Hashable, Comparable {
        var adapter: String
        var idempotencyKey: String
        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.adapter, lhs.idempotencyKey) < (rhs.adapter, rhs.idempotencyKey)
        }
    }

    /// Inserts the batch's decisions with one statement, answers conflicts from the stored ones.
    private func recordAll(
        _ records: [(index: Int, outcome: Outcome, row: LedgerCoding.Row, inboxID: Int64?, letter: LedgerCoding.DeadLetterRow?)],
        on connection: PostgresWriterConnection
    ) async throws -> [(Int, RecordResult)] {
        let now = self.now
        // Rows leave the inbox and claims end whatever the decision.
        let inboxIDs = records.compactMap(\.inboxID)
        if !inboxIDs.isEmpty {
            try await connection.query("DELETE FROM sluice_inbox WHERE id = ANY(\(inboxIDs))", logger: logger)
        }
        // One candidate per key (the first); keys in order so that replicas lock rows in the same order.
        var byKey: [Key: [Int]] = [:]
        for (position, record) in records.enumerated() {
            byKey[Key(adapter: record.row.adapter, idempotencyKey: record.row.idempotencyKey), default: []].append(position)
        }
        let keys = byKey.keys.sorted()
        let candidates = keys.map { records[byKey[$0]![0]].row }
        try await connection.query(
            """
            DELETE FROM sluice_claims WHERE (adapter, idempotency_key) IN
            (SELECT * FROM unnest(\(candidates.map(\.adapter))::text[], \(candidates.map(\.idempotencyKey))::text[]))
            """, logger: logger)
        var inserted: [Key: Int64] = [:]
        let rows = try await connection.query(
            """
            INSERT INTO sluice_outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            SELECT a, k, o, NULLIF(r, ''), NULLIF(w, ''), p, \(now), b FROM unnest(
                \(candidates.map(\.adapter))::text[], \(candidates.map(\.idempotencyKey))::text[], \(candidates.map(\.kind))::text[],
                \(candidates.map { $0.reason ?? "" })::text[], \(candidates.map { $0.workflowID ?? "" })::text[],
                \(candidates.map(\.sourcePosition))::text[], \(candidates.map(\.body))::text[]) AS t(a, k, o, r, w, p, b)
            ON CONFLICT (adapter, idempotency_key) DO NOTHING
            RETURNING id, adapter, idempotency_key
            """, logger: logger)
        for (id, adapter, key) in try rows.decode((Int64, String, String).self) {
            inserted[Key(adapter: adapter, idempotencyKey: key)] = id
        }
        // The stored decisions of the keys that conflicted.
        var existing: [Key: (id: Int64, recordedAt: Date, body: String)] = [:]
        let conflicted = keys.filter { inserted[$0] == nil }
        if !conflicted.isEmpty {
            let stored = try await connection.query(
                """
                SELECT id, adapter, idempotency_key, recorded_at, body FROM sluice_outcomes WHERE (adapter, idempotency_key) IN
                (SELECT * FROM unnest(\(conflicted.map(\.adapter))::text[], \(conflicted.map(\.idempotencyKey))::text[]))
                FOR UPDATE
                """, logger: logger)
            for (id, adapter, key, recordedAt, body) in try stored.decode((Int64, String, String, Date, String).self) {
                existing[Key(adapter: adapter, idempotencyKey: key)] = (id, recordedAt, body)
            }
        }
        var results: [(Int, RecordResult)] = []
        var duplicateCounts: [Int64: Int] = [:]
        var letters: [(LedgerCoding.Row, LedgerCoding.DeadLetterRow)] = []
        for key in keys {
            let positions = byKey[key]!
            var decision: (id: Int64, body: String, outcome: Outcome?)
            var fresh = false
            if let id = inserted[key] {
                let first = records[positions[0]]
                decision = (id, first.row.body, first.outcome)
                fresh = true
            } else if let stored = existing[key] {
                // The same outcome again (a batch retried after its COMMIT's answer was lost) is this batch's own
                // decision, whatever its window says: replacing it would file its dead letter a second time.
                // Bodies are compared only once the window has passed (the rare case).
                if configuration.dedupe.isLive(adapter: key.adapter, recordedAt: stored.recordedAt, now: now)
                    || positions.contains(where: { records[$0].row.body == stored.body })
                {
                    decision = (stored.id, stored.body, nil)
                } else {
                    // Past its window: the first outcome of this batch replaces it.
                    let first = records[positions[0]]
                    try await connection.query("DELETE FROM sluice_outcomes WHERE id = \(stored.id)", logger: logger)
                    let id = try await insertOne(first.row, at: now, on: connection)
                    decision = (id, first.row.body, first.outcome)
                    fresh = true
                }
            } else {
                throw LedgerError.retryable("conflict", "a conflicting decision vanished; retrying")
            }
            for position in positions {
                let record = records[position]
                if record.row.body == decision.body {
                    results.append((record.index, .recorded(id: decision.id)))
                    if fresh, let letter = record.letter, position == positions[0] { letters.append((record.row, letter)) }
                } else {
                    let outcome = try decision.outcome ?? LedgerCoding.outcome(decision.body)
                    decision.outcome = outcome
                    results.append((record.index, .alreadyDecided(outcome)))
                    duplicateCounts[decision.id, default: 0] += 1
                }
            }
        }
        if !duplicateCounts.isEmpty {
            let ids = Array(duplicateCounts.keys)
            try await connection.query(
                """
                UPDATE sluice_outcomes SET duplicates = duplicates + t.n
                FROM unnest(\(ids)::bigint[], \(ids.map { duplicateCounts[$0]! })::bigint[]) AS t(id, n) WHERE sluice_outcomes.id = t.id
                """, logger: logger)
        }
        for (row, letter) in letters {
            try await connection.query(
                """
                INSERT INTO sluice_dead_letters (adapter, idempotency_key, reason, created_at, outcome, commands, delivery, delivery_body)
                VALUES (\(row.adapter), \(row.idempotencyKey), \(letter.reason), \(now), \(row.body), \(letter.commands),
                \(letter.delivery), \(letter.deliveryBody.map { ByteBuffer(bytes: $0) }))
                """, logger: logger)
        }
        return results
    }

    func insertOne(_ row: LedgerCoding.Row, at now: Date, on connection: PostgresWriterConnection) async throws -> Int64 {
        let rows = try await connection.query(
            """
            INSERT INTO sluice_outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            VALUES (\(row.adapter), \(row.idempotencyKey), \(row.kind), \(row.reason), \(row.workflowID), \(row.sourcePosition),
            \(now), \(row.body)) RETURNING id
            """, logger: logger)
        if let id = try rows.decode(Int64.self).first { return id }
        throw LedgerError.fatal("internal", "an insert returned no id")
    }
}
