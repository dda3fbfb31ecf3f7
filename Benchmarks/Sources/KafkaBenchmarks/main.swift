// Kafka benchmark, release build, one run on the in-process mock cluster (1 broker, 64 partitions):
// (a) a plain C librdkafka consumer (Benchmarks/kafka/c_consumer.c) consuming and committing the topic,
// (b) Sluice's KafkaSource consuming and committing with a handler that settles at once,
// (c) end to end through the product's AdapterPipeline: normalisation, adapter mapping, the idempotency
//     check, the dispatcher's gate, an in-process engine that answers at once, outcomes durable in a SQLite
//     ledger, offsets committed — with fetch-to-commit latency.
//
// Usage: KafkaBenchmarks <path to c_consumer> [messages]
import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceLedger

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: KafkaBenchmarks <c_consumer> [messages]\n".utf8))
    exit(2)
}
let cConsumer = arguments[1]
let count = arguments.count > 2 ? Int(arguments[2]) ?? 500_000 : 500_000
let logger: Logger = {
    var logger = Logger(label: "kafka-bench")
    logger.logLevel = ProcessInfo.processInfo.environment["SLUICE_BENCH_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
    return logger
}()

/// An integer from the environment (benchmark diagnosis knobs).
func environment(_ name: String) -> Int? { ProcessInfo.processInfo.environment[name].flatMap(Int.init) }

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

// MARK: - The topic

let cluster = try MockKafkaCluster(brokers: 1)
try cluster.createTopic("bench", partitions: 64)
let produceStart = ContinuousClock.now
do {
    let producer = try KafkaProducer(
        bootstrapServers: cluster.bootstrapServers,
        properties: ["batch.num.messages": "10000", "queue.buffering.max.messages": "500000", "linger.ms": "5"],
        logger: logger)
    let chunk = 50_000
    for start in stride(from: 0, to: count, by: chunk) {
        let messages = (start..<min(count, start + chunk)).map { index -> KafkaProducer.Message in
            let key = "customer-\(index % 5_000)"
            let value = #"{"type":"order.created","id":"evt-\#(index)","customer":"\#(key)","order_id":\#(index),"amount_cents":\#(index % 100_000),"currency":"EUR","note":"benchmark payload padding to about two hundred bytes"}"#
            return KafkaProducer.Message(topic: "bench", key: Array(key.utf8), value: Array(value.utf8))
        }
        let failures = await producer.sendAll(messages)
        precondition(failures.isEmpty, "produce failed: \(failures.prefix(3))")
    }
    await producer.shutdown()
}
let marks = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "bench")
let stored = marks.values.reduce(0) { $0 + $1.high - $1.low }
precondition(stored == count, "the mock kept \(stored) of \(count) records (retention): use more partitions")
say("produced \(count) records to 64 partitions in \(ContinuousClock.now - produceStart)")

// MARK: - (a) plain C consumer

/// The process's (or its waited-for children's) CPU time, user + system, so far: the rate depends on how busy
/// the shared host is, the CPU spent per record much less. Both figures include the in-process mock broker.
func processCPUTime(_ who: __rusage_who = RUSAGE_SELF) -> Double {
    var usage = rusage()
    getrusage(who.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}


func runC(group: String) throws -> Double {
    let cpuBefore = processCPUTime() + processCPUTime(RUSAGE_CHILDREN)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cConsumer)
    process.arguments = [cluster.bootstrapServers, "bench", group, String(count)]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    process.waitUntilExit()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let cpuPerRecord = (processCPUTime() + processCPUTime(RUSAGE_CHILDREN) - cpuBefore) / Double(count) * 1e6
    say(text.trimmingCharacters(in: .whitespacesAndNewlines) + " cpu=\(String(format: "%.1f", cpuPerRecord)) µs/record")
    guard process.terminationStatus == 0, let rate = text.split(separator: " ").first(where: { $0.hasPrefix("rate=") })
    else { fatalError("the C consumer failed: \(text)") }
    return Double(rate.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines))!
}

// MARK: - (b) and (c): KafkaSource

/// Settles every event at once: the source's own cost (fetch, copy, normalise, watermark, commit).
struct ImmediateHandler: KafkaRecordHandler {
    var capacity: Int { 1 << 20 }
    func waitForCapacity() async {}
    func cancel(events: [Event], reason: String) async {}
    func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        if let takenBack, takenBack() { return }
        await settled(Self.settlement(event))
    }
    /// The batch path, as the product's handler has one: a fetch is taken in one call.
    func submit(
        batch events: [Event], unless takenBack: (@Sendable (Int) -> Bool)?,
        settled: @escaping @Sendable (Int, KafkaSettlement) async -> Void
    ) async -> [DispatchAdmissionError?] {
        for (index, event) in events.enumerated() where takenBack?(index) != true {
            await settled(index, Self.settlement(event))
        }
        return Array(repeating: nil, count: events.count)
    }
    static func settlement(_ event: Event) -> KafkaSettlement {
        .recorded(Outcome(adapter: "bench", action: "none", idempotencyKey: event.id, kind: .accepted), deadLetter: false)
    }
}

func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
    sorted.isEmpty ? .zero : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func ms(_ duration: Duration) -> String {
    let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    return String(format: "%.1f ms", value)
}

/// Extra librdkafka properties for the Sluice consumers: `SLUICE_BENCH_KAFKA="name=value,name=value"`.
let extraProperties: [String: String] = Dictionary(
    (ProcessInfo.processInfo.environment["SLUICE_BENCH_KAFKA"] ?? "").split(separator: ",").compactMap { pair in
        let parts = pair.split(separator: "=", maxSplits: 1)
        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
    }, uniquingKeysWith: { $1 })

/// Runs a source until every partition is committed to its end; returns the rate from the first fetched record
/// to the last commit, the fetch-to-commit latencies, and the process CPU time per record (in µs) over the run,
/// the in-process mock broker's share included.
func runSource(group: String, handler: some KafkaRecordHandler) async throws -> (
    rate: Double, latencies: [Duration], cpuPerRecord: Double
) {
    let cpuBefore = processCPUTime()
    // The product's defaults (pause above 2,000 buffered records, batches of 500, commits every 200 ms)
    // unless an environment variable overrides one for a diagnosis.
    var configuration = KafkaSourceConfiguration(
        adapter: "bench", bootstrapServers: cluster.bootstrapServers, topics: ["bench"], groupID: group,
        properties: extraProperties.merging(["log_level": "3"]) { given, _ in given })
    if let value = environment("SLUICE_BENCH_PAUSE_ABOVE") {
        configuration.pauseAbove = value
        configuration.resumeBelow = value / 2
    }
    if let value = environment("SLUICE_BENCH_PAUSE_AFTER_MS") { configuration.pauseAfter = .milliseconds(value) }
    if let value = environment("SLUICE_BENCH_MAX_BATCH") { configuration.maxBatch = value }
    if let value = environment("SLUICE_BENCH_COMMIT_MS") { configuration.commitInterval = .milliseconds(value) }
    let source = try KafkaSource(configuration: configuration, handler: handler, logger: logger)
    let task = Task { try await source.run() }
    var first: ContinuousClock.Instant?
    var last = ContinuousClock.now
    let trace = ProcessInfo.processInfo.environment["SLUICE_BENCH_TRACE"] != nil
    var traceNext = Duration.zero
    while true {
        let statistics = source.statistics
        if first == nil, statistics.received > 0 { first = .now }
        if trace, let first, (ContinuousClock.now - first) >= traceNext {
            traceNext += .milliseconds(100)
            say("  t=\(ms(ContinuousClock.now - first)) received=\(statistics.received) settled=\(statistics.settled) committed=\(statistics.committed.values.reduce(0, +)) buffered=\(statistics.buffered) paused=\(statistics.paused)")
        }
        if statistics.committed.values.reduce(0, +) >= Int64(count) {
            last = .now
            break
        }
        try await Task.sleep(for: .milliseconds(2))
    }
    let cpuPerRecord = (processCPUTime() - cpuBefore) / Double(count) * 1e6
    let latencies = source.fetchToCommitLatencies.sorted()
    source.stop()
    try await task.value
    let elapsed = last - first!
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(count) / seconds, latencies, cpuPerRecord)
}

/// `SLUICE_BENCH_ONLY=source` or `=end-to-end` runs one Sluice variant (for profiling); the C consumer always runs.
let only = ProcessInfo.processInfo.environment["SLUICE_BENCH_ONLY"]
let c = try runC(group: "bench-c")
if only != "end-to-end" {
    let swift = try await runSource(group: "bench-swift", handler: ImmediateHandler())
    say(
        "sluice_source messages=\(count) rate=\(Int(swift.rate)) (\(Int(100 * swift.rate / c))% of C)"
            + " fetch-to-commit p50=\(ms(percentile(swift.latencies, 0.5))) p99=\(ms(percentile(swift.latencies, 0.99)))"
            + " cpu=\(String(format: "%.1f", swift.cpuPerRecord)) µs/record")
}
if only == "source" { exit(0) }

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-kafka-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
/// `SLUICE_BENCH_SYNC=normal` trades power-loss durability for speed (diagnosis only; the default is FULL).
let synchronous: SQLiteLedgerConfiguration.Synchronous =
    ProcessInfo.processInfo.environment["SLUICE_BENCH_SYNC"] == "normal" ? .normal : .full
let ledger = try await SQLiteLedger.open(
    SQLiteLedgerConfiguration(path: directory.appendingPathComponent("ledger.sqlite").path, synchronous: synchronous))
say("ledger: SQLite synchronous=\(synchronous.rawValue)")
let pipeline = try EndToEndPipeline.make(ledger: ledger)
say("gate: max_in_flight=\(EndToEndPipeline.maxInFlight)")
let endToEnd = try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await pipeline.dispatcher.run() }
    let result = try await runSource(group: "bench-e2e", handler: PipelineRecordHandler(pipeline: pipeline))
    await pipeline.dispatcher.finish()
    try await group.waitForAll()
    return result
}
let recorded = try await ledger.outcomes(OutcomeQuery(adapter: "bench.orders", limit: 10)).count
await ledger.close()
say(
    "sluice_end_to_end messages=\(count) rate=\(Int(endToEnd.rate)) fetch-to-commit p50=\(ms(percentile(endToEnd.latencies, 0.5)))"
        + " p99=\(ms(percentile(endToEnd.latencies, 0.99))) cpu=\(String(format: "%.1f", endToEnd.cpuPerRecord)) µs/event"
        + " (ledger sample: \(recorded) outcomes)")
