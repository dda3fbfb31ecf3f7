// Ledger benchmarks (release build): durable writes per second with group commit, and the
// idempotency check's latency with 10 million stored outcomes, each next to a baseline measured
// in the same run. See Benchmarks/README.md.
//
// swift run -c release LedgerBenchmarks [--rows 10000000] [--writes 200000] [--skip-postgres]
import Foundation

func runBenchmarks() async throws {
    let options = BenchmarkOptions(arguments: CommandLine.arguments)
    let scratch = URL(fileURLWithPath: options.directory).appendingPathComponent("sluice-ledger-bench-\(getpid())")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    var report = BenchmarkReport()
    report.line("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, load \(BenchmarkReport.loadAverage())")
    if !options.skipSQLite {
        try await SQLiteBenchmarks(options: options, directory: scratch).run(into: &report)
    }
    if !options.skipPostgres {
        try await PostgresBenchmarks(options: options, directory: scratch).run(into: &report)
    }
    print(report.text)
}

try await runBenchmarks()
