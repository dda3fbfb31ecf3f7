import Foundation
import Logging
import SluiceCore
import SluiceLedger

/// PostgreSQL: group-commit writes against `pgbench` inserting the same rows one per transaction, and
/// the check's latency against `pgbench` running the same SELECT.
struct PostgresBenchmarks {
    let options: BenchmarkOptions
    let directory: URL

    func run(into report: inout BenchmarkReport) async throws {
        let server = try PostgresServer.start(in: directory.appendingPathComponent("pg"))
        defer { server.stop() }
        report.line("")
        report.line("## PostgreSQL 15 (local cluster, fsync on, synchronous_commit on)")
        report.line("")
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let configuration = PostgresLedgerConfiguration(port: server.port, username: "bench", database: "postgres")
        let writes = min(options.writes, 100_000)
        let body = SampleOutcome.template
        progress("postgres: server on port \(server.port)")
        try await PostgresLedger.withLedger(configuration, logger: logger) { ledger in
            progress("postgres: ledger connected, warming up")
            for index in 0..<1000 { _ = try await ledger.record(SampleOutcome.make(key: "warm-\(index)")) }
            let outcomes = (0..<writes).map { SampleOutcome.make(key: "w-\($0)") }
            progress("postgres: \(writes) writes")
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                for _ in 0..<min(options.concurrency, writes) {
                    let outcome = outcomes[next]
                    next += 1
                    group.addTask { _ = try await ledger.record(outcome) }
                }
                while try await group.next() != nil {
                    if next < writes {
                        let outcome = outcomes[next]
                        next += 1
                        group.addTask { _ = try await ledger.record(outcome) }
                    }
                }
            }
            let rate = Double(writes) / (ContinuousClock.now - started).timeInterval

            // Baseline: pgbench, one INSERT of the same row shape per transaction, 32 clients.
            let script = directory.appendingPathComponent("insert.pgbench")
            try """
                \\set k random(1, 2000000000)
                INSERT INTO sluice_outcomes (adapter, idempotency_key, outcome, workflow_id, source_position, recorded_at, body) VALUES ('pgbench', 'k-' || :client_id || '-' || :k, 'accepted', 'order-' || :k, 'orders-3-1', now(), '\(body.replacingOccurrences(of: "'", with: "''"))') ON CONFLICT DO NOTHING;
                """.write(to: script, atomically: true, encoding: .utf8)
            progress("postgres: pgbench inserts")
            let output = try server.pgbench(["-n", "-c", "32", "-j", "2", "-T", "10", "-f", script.path])
            let tps = PostgresServer.value(after: "tps = ", in: output)
            report.line("| durable outcome writes | \(writes) outcomes, \(options.concurrency) in flight | **\(Int(rate)) /s** | pgbench, one INSERT per transaction, 32 clients: \(tps) /s |")

            // Checks on a million stored decisions.
            let rows = min(options.rows, 1_000_000)
            progress("postgres: generating \(rows) rows")
            try server.psql(
                """
                INSERT INTO sluice_outcomes (adapter, idempotency_key, outcome, workflow_id, source_position, recorded_at, body)
                SELECT 'orders', 'key-' || lpad(i::text, 10, '0'), 'accepted', 'order-' || i, 'orders-3-' || i, now(),
                replace('\(body.replacingOccurrences(of: "'", with: "''"))', 'KEY', 'key-' || lpad(i::text, 10, '0'))
                FROM generate_series(1, \(rows)) AS i; ANALYZE sluice_outcomes;
                """)
            var generator = SystemRandomNumberGenerator()
            let keys = (0..<min(options.lookups, 50_000)).map { _ in
                "key-" + String(format: "%010d", Int.random(in: 1...rows, using: &generator))
            }
            for key in keys.prefix(2000) { _ = try await ledger.decision(adapter: "orders", idempotencyKey: key) }
            var samples: [UInt64] = []
            for key in keys {
                let start = DispatchTime.now().uptimeNanoseconds
                guard try await ledger.decision(adapter: "orders", idempotencyKey: key) != nil else { throw BenchmarkError("missing \(key)") }
                samples.append(DispatchTime.now().uptimeNanoseconds - start)
            }
            let p = BenchmarkReport.percentiles(samples)
            let select = directory.appendingPathComponent("select.pgbench")
            try """
                \\set k random(1, \(rows))
                SELECT recorded_at, body FROM sluice_outcomes WHERE adapter = 'orders' AND idempotency_key = 'key-' || lpad(:k::text, 10, '0');
                """.write(to: select, atomically: true, encoding: .utf8)
            let selectOutput = try server.pgbench(["-n", "-c", "1", "-j", "1", "-M", "prepared", "-T", "5", "-f", select.path])
            let latency = PostgresServer.value(after: "latency average = ", in: selectOutput)
            report.line(
                "| idempotency check (hit) | \(rows) stored, \(keys.count) random keys, one caller | **p50 \(BenchmarkReport.format(p.p50)) µs, p99 \(BenchmarkReport.format(p.p99)) µs** | pgbench, same SELECT prepared, one client: average \(latency) |")
        }
    }
}

/// A throw-away PostgreSQL cluster for the benchmark (trust authentication on loopback).
struct PostgresServer {
    let directory: URL
    let port: Int
    let binaries: URL
    let process: Process

    static func start(in directory: URL) throws -> PostgresServer {
        let binaries = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let asRoot = getuid() == 0
        progress("postgres: initdb")
        if asRoot { try runProgram("/bin/chown", ["-R", "nobody", directory.path]) }
        func command(_ tool: String, _ arguments: [String]) -> (String, [String]) {
            let path = binaries.appendingPathComponent(tool).path
            return asRoot ? ("/usr/sbin/runuser", ["-u", "nobody", "--", path] + arguments) : (path, arguments)
        }
        let data = directory.appendingPathComponent("data").path
        let (initdb, initArguments) = command("initdb", ["-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8"])
        try runProgram(initdb, initArguments)
        let port = Int.random(in: 40_000...59_000)
        let (postgres, arguments) = command(
            "postgres", ["-D", data, "-p", "\(port)", "-k", directory.path, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100",
                "-c", "shared_buffers=512MB"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: postgres)
        process.arguments = arguments
        let log = Pipe()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        var text = ""
        while !text.contains("ready to accept connections") {
            let chunk = log.fileHandleForReading.availableData
            if chunk.isEmpty { throw BenchmarkError("postgres did not start: \(text)") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        // Keep draining the log so that the server never blocks on a full pipe.
        let reader = log.fileHandleForReading
        Thread { while !reader.availableData.isEmpty {} }.start()
        return PostgresServer(directory: directory, port: port, binaries: binaries, process: process)
    }

    func psql(_ sql: String) throws {
        try runProgram(
            binaries.appendingPathComponent("psql").path,
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", "bench", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql])
    }

    func pgbench(_ arguments: [String]) throws -> String {
        try runProgram(
            binaries.appendingPathComponent("pgbench").path, ["-h", "127.0.0.1", "-p", "\(port)", "-U", "bench"] + arguments + ["postgres"])
    }

    func stop() {
        if let text = try? String(contentsOf: directory.appendingPathComponent("data/postmaster.pid"), encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        {
            kill(pid, SIGQUIT)
        }
        process.waitUntilExit()
    }

    /// The text after `marker` up to the end of its line, in pgbench's output.
    static func value(after marker: String, in output: String) -> String {
        guard let range = output.range(of: marker) else { return "?" }
        let rest = output[range.upperBound...]
        return String(rest.prefix { $0 != "\n" && $0 != "(" }).trimmingCharacters(in: .whitespaces)
    }
}
