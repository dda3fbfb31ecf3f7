import CSQLite
import Foundation
import SluiceCore
import SluiceLedger

/// SQLite: group-commit writes against one plain transaction in the `sqlite3` CLI, and the check's
/// latency with many stored outcomes against a bare prepared statement on the calling thread.
struct SQLiteBenchmarks {
    let options: BenchmarkOptions
    let directory: URL

    func run(into report: inout BenchmarkReport) async throws {
        report.line("")
        report.line("## SQLite (WAL, synchronous=FULL)")
        report.line("")
        try await writes(into: &report)
        if !options.writesOnly { try await checks(into: &report) }
    }

    // MARK: - Writes

    private func writes(into report: inout BenchmarkReport) async throws {
        let count = options.writes
        let path = directory.appendingPathComponent("writes.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        // Warm up: schema pages, prepared statements.
        for index in 0..<1000 { _ = try await ledger.record(SampleOutcome.make(key: "warm-\(index)")) }
        let outcomes = (0..<count).map { SampleOutcome.make(key: "w-\($0)") }
        let cpuBefore = ThreadCPU.snapshot()
        let started = ContinuousClock.now
        // Each caller is its own task writing its share in turn, as the pipeline's workers do: no parent
        // task that every completion must pass through (that loop alone cost up to ~10 % of the rate).
        try await withThrowingTaskGroup(of: Void.self) { group in
            let callers = min(options.concurrency, count)
            for caller in 0..<callers {
                group.addTask {
                    for index in stride(from: caller, to: count, by: callers) { _ = try await ledger.record(outcomes[index]) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - started).timeInterval
        let cpu = ThreadCPU.snapshot().since(cpuBefore, named: "ledger-writer")
        await ledger.close()
        let rate = Double(count) / elapsed

        // Baseline: the same rows as one plain transaction through the sqlite3 CLI.
        let basePath = directory.appendingPathComponent("baseline.sqlite").path
        try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: basePath)).close()
        let script = directory.appendingPathComponent("baseline.sql")
        var sql = "PRAGMA synchronous=FULL;\nBEGIN;\n"
        sql.reserveCapacity(count * 900)
        for outcome in outcomes {
            let body = JSONWriter.string(outcome.json).replacingOccurrences(of: "'", with: "''")
            sql += """
                INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body) \
                VALUES ('\(outcome.adapter)', '\(outcome.idempotencyKey)', 'accepted', NULL, '\(outcome.workflowID ?? "")', \
                'orders-3-1234567', 1767225600000, '\(body)') ON CONFLICT (adapter, idempotency_key) DO NOTHING;\n
                """
        }
        sql += "COMMIT;\n"
        try sql.write(to: script, atomically: true, encoding: .utf8)
        let baseStarted = ContinuousClock.now
        try runProgram("/usr/bin/sqlite3", [basePath], input: script)
        let baseElapsed = (ContinuousClock.now - baseStarted).timeInterval
        let baseRate = Double(count) / baseElapsed
        report.line("| durable outcome writes | \(count) outcomes, \(options.concurrency) in flight | **\(Int(rate)) /s** | "
            + "sqlite3 CLI, same rows in one transaction: \(Int(baseRate)) /s (\(String(format: "%.0f", rate / baseRate * 100))%) |")
        report.line("| CPU per durable write | writer thread / all other threads (callers, encoding, resumption) | "
            + "**\(String(format: "%.1f", cpu.named / Double(count) * 1e6)) µs / \(String(format: "%.1f", cpu.others / Double(count) * 1e6)) µs** | |")
    }

    // MARK: - Checks

    private func checks(into report: inout BenchmarkReport) async throws {
        let rows = options.rows
        let path = directory.appendingPathComponent("checks.sqlite").path
        try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)).close()
        // Generate the rows quickly: no journal (every page written once, not to the WAL and again to the
        // file, which also keeps the page cache for the lookups), secondary indexes dropped, one big
        // INSERT … SELECT, indexes rebuilt, WAL mode restored for the ledger.
        let template = SampleOutcome.template.replacingOccurrences(of: "'", with: "''")
        let script = directory.appendingPathComponent("generate.sql")
        try """
            PRAGMA journal_mode=OFF;
            PRAGMA synchronous=OFF;
            PRAGMA cache_size=-1000000;
            DROP INDEX outcomes_by_time; DROP INDEX outcomes_by_outcome; DROP INDEX outcomes_by_reason;
            DROP INDEX outcomes_by_workflow; DROP INDEX outcomes_by_position; DROP INDEX outcomes_decisions;
            BEGIN;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
            INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            SELECT 'orders', printf('key-%010d', i), 'accepted', NULL, 'order-' || i, 'orders-3-' || i, 1767225600000 + i,
                replace('\(template)', 'KEY', printf('key-%010d', i)) FROM n;
            COMMIT;
            CREATE INDEX outcomes_by_time ON outcomes (recorded_at);
            CREATE INDEX outcomes_by_outcome ON outcomes (outcome, recorded_at);
            CREATE INDEX outcomes_by_reason ON outcomes (reason) WHERE reason IS NOT NULL;
            CREATE INDEX outcomes_by_workflow ON outcomes (workflow_id) WHERE workflow_id IS NOT NULL;
            CREATE INDEX outcomes_by_position ON outcomes (source_position);
            CREATE INDEX outcomes_decisions ON outcomes (adapter, idempotency_key, recorded_at, outcome, reason, workflow_id);
            PRAGMA journal_mode=WAL;
            """.write(to: script, atomically: true, encoding: .utf8)
        let generated = ContinuousClock.now
        try runProgram("/usr/bin/sqlite3", [path], input: script)
        let generation = (ContinuousClock.now - generated).timeInterval
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_000_000
        report.line("")
        report.line("\(rows) outcomes generated in \(Int(generation)) s (\(size) MB)")
        report.line("")

        var generator = SystemRandomNumberGenerator()
        let keys = (0..<options.lookups).map { _ in String(format: "key-%010d", Int.random(in: 1...rows, using: &generator)) }

        // Baselines: the lookups with bare prepared statements on the calling thread.
        var database: OpaquePointer?
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK, let database else {
            throw BenchmarkError("cannot open \(path)")
        }
        defer { sqlite3_close_v2(database) }
        /// Times `sql` for every key, reading the text of column `column` of its row.
        func bareLookups(_ sql: String, column: Int32) throws -> (p50: Double, p99: Double, p999: Double) {
            var samples: [UInt64] = []
            samples.reserveCapacity(keys.count)
            var statement: OpaquePointer?
            sqlite3_prepare_v2(database, sql, -1, &statement, nil)
            defer { sqlite3_finalize(statement) }
            let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
            for key in keys {
                let start = DispatchTime.now().uptimeNanoseconds
                sqlite3_bind_text(statement, 1, "orders", -1, transient)
                sqlite3_bind_text(statement, 2, key, -1, transient)
                guard sqlite3_step(statement) == SQLITE_ROW else { throw BenchmarkError("missing \(key)") }
                _ = String(cString: sqlite3_column_text(statement, column))
                sqlite3_reset(statement)
                samples.append(DispatchTime.now().uptimeNanoseconds - start)
            }
            return BenchmarkReport.percentiles(samples)
        }
        // The full decision's lookup: the key index, then the table row with its body.
        let bare = try bareLookups("SELECT recorded_at, body FROM outcomes WHERE adapter = ? AND idempotency_key = ?", column: 1)
        // The check's own probe (the covering index, no table page), after the lookups above warmed the cache.
        let bareCovering = try bareLookups(
            "SELECT recorded_at, outcome, reason, workflow_id FROM outcomes INDEXED BY outcomes_decisions WHERE adapter = ? AND idempotency_key = ?",
            column: 3)

        // The ledger: decision(adapter:idempotencyKey:) from async code, through a reader thread,
        // including decoding the outcome.
        let opened = ContinuousClock.now
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        // The start-up scan that fills the check's in-memory filter of stored keys (in the background; until
        // it ends every check queries SQLite).
        while !ledger.isKeyFilterComplete { try await Task.sleep(for: .milliseconds(10)) }
        let scan = (ContinuousClock.now - opened).timeInterval
        report.line("Start-up scan of the stored keys into the check's filter: \(String(format: "%.1f", scan)) s")
        report.line("")
        for key in keys.prefix(10_000) { _ = try await ledger.decision(adapter: "orders", idempotencyKey: key) }
        var samples: [UInt64] = []
        samples.reserveCapacity(keys.count)
        for key in keys {
            let start = DispatchTime.now().uptimeNanoseconds
            guard try await ledger.decision(adapter: "orders", idempotencyKey: key) != nil else { throw BenchmarkError("missing \(key)") }
            samples.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        let full = BenchmarkReport.percentiles(samples)
        // The check before an engine call: decided or not, and how, from the indexed columns.
        samples.removeAll(keepingCapacity: true)
        for key in keys {
            let start = DispatchTime.now().uptimeNanoseconds
            guard try await ledger.decisionSummary(adapter: "orders", idempotencyKey: key) != nil else { throw BenchmarkError("missing \(key)") }
            samples.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        let summary = BenchmarkReport.percentiles(samples)
        // A key never seen (the common case for a new event): no row, nothing to decode.
        samples.removeAll(keepingCapacity: true)
        for index in 0..<options.lookups {
            let start = DispatchTime.now().uptimeNanoseconds
            guard try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "new-\(index)") == nil else { throw BenchmarkError("found") }
            samples.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        let miss = BenchmarkReport.percentiles(samples)
        // The hand-off alone: a trivial query (one probe of the empty inbox's row ids) through the same reader threads.
        samples.removeAll(keepingCapacity: true)
        for _ in 0..<options.lookups {
            let start = DispatchTime.now().uptimeNanoseconds
            guard try await ledger.pendingInbox(after: nil, limit: 1).isEmpty else { throw BenchmarkError("inbox not empty") }
            samples.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        let handOff = BenchmarkReport.percentiles(samples)
        await ledger.close()
        func cell(_ p: (p50: Double, p99: Double, p999: Double)) -> String {
            "p50 \(BenchmarkReport.format(p.p50)) µs, p99 \(BenchmarkReport.format(p.p99)) µs, p99.9 \(BenchmarkReport.format(p.p999)) µs"
        }
        report.line("| idempotency check (`decisionSummary`), key decided (hit) | \(rows) stored, \(keys.count) random keys | **\(cell(summary))** | its covering-index probe bare on the calling thread, same keys: \(cell(bareCovering)); a trivial query through the reader threads (the hand-off alone): \(cell(handOff)) |")
        report.line("| idempotency check (`decisionSummary`), new key (miss) | same | **\(cell(miss))** | |")
        report.line("| full decision (`decision`, outcome decoded), key decided | same keys | \(cell(full)) | bare prepared statement (key index, table row, body), same keys, run first: \(cell(bare)) |")
    }
}
