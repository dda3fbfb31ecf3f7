import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceLaunch
import SluiceLedger
import SluiceTesting
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `sluice serve` as a real process: SIGTERM during load stops intake (503), drains within the
/// budget, exits 0, and after a restart every webhook that was answered 202 has its outcome.
@Suite("sluice serve: SIGTERM during load loses nothing acknowledged", .serialized)
struct ShutdownTests {
    let adapter = ordersAdapterYAML.replacingOccurrences(
        of: "boundary: { max_in_flight: 4, max_queued: 64, cancellation_budget: 2s }",
        with: "boundary: { max_in_flight: 4, max_queued: 5000, cancellation_budget: 2s }")

    /// Sluice is PID 1 in its container, and PID 1 ignores a signal it has no handler for: the signals are watched
    /// from the first step, so a SIGTERM while the ledger opens (a PostgreSQL address that takes connections and
    /// never answers) ends `sluice serve` at once, with status 0 (nothing was accepted yet). Before, it was killed
    /// by the signal here, and ignored it as PID 1.
    @Test("a SIGTERM while the ledger opens ends sluice serve at once, with status 0")
    func sigtermDuringStartUp() async throws {
        let silent = try SilentListener()
        let project = try ServiceProject(engineURL: "http://127.0.0.1:1", adapters: ["orders": adapter])
        defer { project.cleanUp() }
        let serve = try ServeProcess.launch(
            project: project, port: try FreePort.next(),
            arguments: ["--ledger-url", "postgres://sluice@127.0.0.1:\(silent.port)/sluice"])
        defer { if serve.process.isRunning { serve.process.terminate() } }
        #expect(await eventually { silent.connections > 0 }, "the ledger's first connection: \(serve.log)")
        #expect(serve.process.isRunning, "still opening the ledger: \(serve.log)")
        let signalled = ContinuousClock.now
        serve.signal(SIGTERM)
        let status = try await serve.waitForExit(timeout: .seconds(5))
        #expect(ContinuousClock.now - signalled < .seconds(2))
        #expect(serve.process.terminationReason == .exit, "ended by the signal: \(serve.log)")
        #expect(status == 0, "\(serve.log)")
        #expect(serve.log.contains("stopped during start-up"), "\(serve.log)")
    }

    @Test("every 202 has its outcome after SIGTERM mid-load and a restart")
    func sigtermDuringLoad() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": adapter])
        defer { project.cleanUp() }
        let port = try FreePort.next()

        let first = try await ServeProcess.start(project: project, port: port)
        // A slow engine, so that work is queued and in flight when the signal comes: the first
        // calls (as many as `max_in_flight`) outlast the 2 s budget and are cut, so the drain takes
        // the whole budget and readiness can be watched during it; the rest answer in 40 ms.
        fake.inject(Array(repeating: FakeFault.delay(.seconds(10)), count: 4))
        fake.inject(Array(repeating: FakeFault.delay(.milliseconds(40)), count: 400))
        let statuses = StatusLog()
        let readiness = StatusLog()
        let total = 300
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for batch in stride(from: 0, to: total, by: 20) {
                    await withTaskGroup(of: (String, Int).self) { posts in
                        for index in batch..<min(batch + 20, total) {
                            posts.addTask {
                                let id = "evt_term_\(index)"
                                return (id, await ServeProcess.post(port: port, id: id, order: index))
                            }
                        }
                        for await (id, status) in posts { statuses.set(id, status) }
                    }
                }
            }
            group.addTask {
                // Signal once a third of the webhooks were answered.
                while statuses.count < total / 3 { try await Task.sleep(for: .milliseconds(5)) }
                first.signal(SIGTERM)
                // Readiness turns false at once (the load balancer stops sending), not at the next
                // round of health checks, five seconds apart. The probe has a session of its own, so
                // that it does not queue behind the posts for a connection; it asks until the drain
                // (a 2 s budget, long enough for a probe on a loaded host: with 1 s, a CI run saw none answer in
                // time) ends the process.
                let signalled = ContinuousClock.now
                let probe = URLSession(configuration: .ephemeral)
                defer { probe.invalidateAndCancel() }
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/readyz")!)
                request.timeoutInterval = 0.5
                while first.process.isRunning, ContinuousClock.now < signalled + .seconds(4) {
                    if let (data, response) = try? await probe.data(for: request),
                        (response as? HTTPURLResponse)?.statusCode == 503,
                        String(decoding: data, as: UTF8.self).contains("FAIL intake: draining")
                    {
                        readiness.set("draining", 503)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            try await group.waitForAll()
        }
        let status = try await first.waitForExit(timeout: .seconds(30))
        #expect(status == 0, "sluice serve exits 0 after SIGTERM; log:\n\(first.log)")
        #expect(readiness.all["draining"] == 503, "/readyz did not answer 503 draining while the drain ran; log:\n\(first.log)")
        let answered = statuses.all
        let accepted = Set(answered.filter { $0.value == 202 }.keys)
        #expect(accepted.count >= total / 3)
        #expect(answered.values.contains(503) || answered.values.contains(0), "intake stopped while draining")
        #expect(answered.values.allSatisfy { [202, 503, 0].contains($0) }, "\(Set(answered.values))")

        // The drain left work in the inbox (the test would prove nothing otherwise)…
        let ledgerPath = project.directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath, createDirectory: false, createFile: false))
        let pendingAfterStop = try await ledger.pendingInbox(after: nil, limit: total).count
        #expect(pendingAfterStop > 0)
        // …and the restart delivers it.
        let second = try await ServeProcess.start(project: project, port: port)
        let delivered = await eventually(timeout: .seconds(60)) { await allDecided(accepted, in: ledger) }
        #expect(delivered, "every 202 has an outcome after the restart")
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
        // One engine effect per key: the fake saw each accepted order's workflow started once.
        for id in accepted {
            let order = id.dropFirst("evt_term_".count)
            #expect(fake.workflow("order-\(order)") != nil)
        }
        await ledger.close()
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(timeout: .seconds(30)) == 0)
        await fake.stop()
    }

    @Test("a second signal exits at once, and the restart still delivers every 202")
    func secondSignal() async throws {
        let fake = try await startEngineFake()
        fake.inject(Array(repeating: FakeFault.delay(.seconds(3)), count: 8))
        let project = try ServiceProject(
            engineURL: fake.baseURL,
            adapters: ["orders": adapter.replacingOccurrences(of: "cancellation_budget: 2s", with: "cancellation_budget: 20s")])
        defer { project.cleanUp() }
        let port = try FreePort.next()
        let first = try await ServeProcess.start(project: project, port: port)
        var accepted: [String] = []
        for index in 0..<10 where await ServeProcess.post(port: port, id: "evt_twice_\(index)", order: 500 + index) == 202 {
            accepted.append("evt_twice_\(index)")
        }
        #expect(accepted.count == 10)
        let signalled = ContinuousClock.now
        first.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        first.signal(SIGTERM)
        _ = try await first.waitForExit(timeout: .seconds(15))
        #expect(ContinuousClock.now - signalled < .seconds(10), "the second signal does not wait for the 20 s budget")

        let second = try await ServeProcess.start(project: project, port: port)
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(
                path: project.directory.appendingPathComponent("ledger.sqlite").path, createDirectory: false, createFile: false))
        let delivered = await eventually(timeout: .seconds(60)) { await allDecided(accepted, in: ledger) }
        #expect(delivered)
        await ledger.close()
        second.signal(SIGTERM)
        _ = try await second.waitForExit(timeout: .seconds(30))
        await fake.stop()
    }
}

extension ShutdownTests {
    @Test("every committed Kafka offset has its outcome after SIGTERM mid-stream, and the restart finishes the rest")
    func sigtermDuringKafkaLoad() async throws {
        let fake = try await startEngineFake()
        fake.inject(Array(repeating: FakeFault.delay(.milliseconds(15)), count: 600))
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("orders.events", partitions: 3)
        let total = 600
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Logger(label: "test"))
        let failures = await producer.sendAll(
            (0..<total).map { index in
                KafkaProducer.Message(
                    topic: "orders.events", key: Array("k\(index % 7)".utf8),
                    value: Array(#"{"id":"kt-\#(index)","type":"order.created","order":\#(index)}"#.utf8))
            })
        await producer.shutdown()
        #expect(failures.isEmpty)
        let adapter = """
            adapter: order-events
            version: 1
            source:
              kafka: { topics: [orders.events], group: sluice-term }
            boundary: { max_in_flight: 4, max_queued: 64, cancellation_budget: 1s }
            idempotency_key: "${body.id}"
            rules:
              - name: created
                when: { event.type: order.created }
                do:
                  - start_workflow: { workflow_type: orders.fulfillment, task_queue: orders, workflow_id: "kt-order-${body.order}" }
            """
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["order-events": adapter],
            extra: """
                kafka:
                  bootstrap_servers: \(cluster.bootstrapServers)
                  properties: { session.timeout.ms: 6000, heartbeat.interval.ms: 500 }
                """)
        defer { project.cleanUp() }
        let port = try FreePort.next()
        let ledgerPath = project.directory.appendingPathComponent("ledger.sqlite").path

        let first = try await ServeProcess.start(project: project, port: port)
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath, createDirectory: false, createFile: false))
        func decided() async -> [StoredOutcome] {
            (try? await ledger.outcomes(OutcomeQuery(adapter: "order-events", limit: 10 * total))) ?? []
        }
        #expect(await eventually { await decided().count >= total / 4 })
        first.signal(SIGTERM)
        #expect(try await first.waitForExit(timeout: .seconds(30)) == 0, "log:\n\(first.log)")

        // Every offset below each partition's committed offset has its outcome in the ledger.
        let committed = try await KafkaAdmin.committedOffsets(
            bootstrapServers: cluster.bootstrapServers, group: "sluice-term", topic: "orders.events")
        var positions = Set<SourcePosition>()
        for stored in await decided() { if let position = stored.outcome.sluice?.sourcePosition { positions.insert(position) } }
        var committedTotal: Int64 = 0
        for (partition, offset) in committed where offset > 0 {
            committedTotal += offset
            for below in 0..<offset {
                #expect(positions.contains(.kafka(topic: "orders.events", partition: partition, offset: below)))
            }
        }
        #expect(committedTotal > 0, "the first run committed something")
        #expect(committedTotal < Int64(total), "the signal came mid-stream")

        // The restart goes on from the committed offsets; every record ends with one outcome.
        let second = try await ServeProcess.start(project: project, port: port)
        #expect(await eventually(timeout: .seconds(60)) { await decided().count == total })
        let keys = await decided().map(\.outcome.idempotencyKey)
        #expect(Set(keys).count == total)
        second.signal(SIGTERM)
        #expect(try await second.waitForExit(timeout: .seconds(30)) == 0)
        await ledger.close()
        await fake.stop()
    }
}

extension ShutdownTests {
    @Test("killed with SIGKILL right after its 202s, the restart delivers every one")
    func sigkillAfterAccepting() async throws {
        let fake = try await startEngineFake()
        fake.inject(Array(repeating: FakeFault.delay(.seconds(2)), count: 12))
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": adapter])
        defer { project.cleanUp() }
        let port = try FreePort.next()
        let first = try await ServeProcess.start(project: project, port: port)
        var accepted: [String] = []
        for index in 0..<12 where await ServeProcess.post(port: port, id: "evt_kill_\(index)", order: 700 + index) == 202 {
            accepted.append("evt_kill_\(index)")
        }
        #expect(accepted.count == 12)
        first.signal(SIGKILL)
        #expect(try await first.waitForExit(timeout: .seconds(10)) != 0)

        let second = try await ServeProcess.start(project: project, port: port)
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(
                path: project.directory.appendingPathComponent("ledger.sqlite").path, createDirectory: false, createFile: false))
        let delivered = await eventually(timeout: .seconds(60)) { await allDecided(accepted, in: ledger) }
        #expect(delivered, "every 202 before the kill has its outcome after the restart")
        for index in 0..<12 { #expect(fake.workflow("order-\(700 + index)") != nil) }
        await ledger.close()
        second.signal(SIGTERM)
        _ = try await second.waitForExit(timeout: .seconds(30))
        await fake.stop()
    }
}

/// `sluice serve` in a child process.
final class ServeProcess: Sendable {
    let process: Process
    let logFile: URL

    static func start(project: ServiceProject, port: Int) async throws -> ServeProcess {
        let serve = try launch(project: project, port: port)
        let process = serve.process
        // Wait for the server to listen.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            // Ready: ledger, engine, and intake open (the inbox re-admission is done).
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return serve
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw PipelineTestError(description: "sluice serve did not start:\n\(serve.log)")
    }

    /// Starts `sluice serve` in the project's directory without waiting for it.
    static func launch(project: ServiceProject, port: Int, arguments: [String] = []) throws -> ServeProcess {
        let process = Process()
        process.executableURL = SluiceProcess.executable
        process.arguments = ["serve", "--config", "sluice.yaml", "--http-port", "\(port)", "--log-level", "notice"] + arguments
        process.currentDirectoryURL = project.directory
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_SERVICE_TEST_TOKEN"] = pipelineToken
        process.environment = environment
        let logFile = project.directory.appendingPathComponent("serve-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return ServeProcess(process: process, logFile: logFile)
    }

    private init(process: Process, logFile: URL) {
        self.process = process
        self.logFile = logFile
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw PipelineTestError(description: "sluice serve did not exit in \(timeout):\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Posts one unsigned order webhook; the status, or 0 when the connection failed.
    static func post(port: Int, id: String, order: Int) async -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/webhooks/orders")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"id":"\#(id)","type":"order.created","order":\#(order)}"#.utf8)
        request.timeoutInterval = 30
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return 0 }
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }
}

/// A loopback port that takes connections and never answers: a server that hangs.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32
    private let accepted = Mutex<[Int32]>([])

    init() throws {
        (descriptor, port) = try LoopbackListener.open(backlog: 16)
        let this = self
        Thread { this.acceptLoop() }.start()
    }

    /// How many connections it has taken.
    var connections: Int { accepted.withLock { $0.count } }

    private func acceptLoop() {
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            accepted.withLock { $0.append(connection) }
        }
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        for connection in accepted.withLock({ $0 }) { close(connection) }
    }
}

/// The status each webhook got, by id.
final class StatusLog: Sendable {
    private let statuses = Mutex<[String: Int]>([:])
    func set(_ id: String, _ status: Int) { statuses.withLock { $0[id] = status } }
    var count: Int { statuses.withLock { $0.count } }
    var all: [String: Int] { statuses.withLock { $0 } }
}

/// Spans leave the process over OTLP/HTTP when `tracing.otlp_endpoint` is set.
@Suite("sluice serve: OTLP trace export")
struct TraceExportTests {
    @Test("an event's spans are exported to the collector as OTLP/HTTP protobuf")
    func spansReachTheCollector() async throws {
        let collected = RequestLog()
        let collector = try await LoopbackHTTPServer.start { request in
            collected.append(request)
            return ScriptedResponse(status: 200, headers: [(name: "Content-Type", value: "application/x-protobuf")], body: [])
        }
        let fake = try await startEngineFake()
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML],
            extra: "tracing:\n  otlp_endpoint: \(collector.baseURL)\n  service_name: sluice-test\n")
        defer { project.cleanUp() }
        let port = try FreePort.next()
        let serve = try await ServeProcess.start(project: project, port: port)
        #expect(await ServeProcess.post(port: port, id: "evt_traced_1", order: 4242) == 202)
        #expect(await eventually { fake.workflow("order-4242") != nil })
        serve.signal(SIGTERM)
        #expect(try await serve.waitForExit(timeout: .seconds(30)) == 0, "log:\n\(serve.log)")
        let exports = collected.all.filter { $0.method == "POST" && $0.path == "/v1/traces" }
        #expect(!exports.isEmpty, "requests: \(collected.all.map(\.uri))")
        #expect(exports.allSatisfy { $0.header("Content-Type") == "application/x-protobuf" })
        let bytes = exports.flatMap(\.body)
        // The protobuf carries the span names and attributes as plain strings.
        for text in ["event orders", "engine start_workflow", "sluice-test", "evt_traced_1"] {
            #expect(bytes.contains(subsequence: Array(text.utf8)), "\(text) is in the export")
        }
        await collector.stop()
        await fake.stop()
    }
}

/// Requests a loopback server received.
final class RequestLog: Sendable {
    private let requests = Mutex<[RecordedRequest]>([])
    func append(_ request: RecordedRequest) { requests.withLock { $0.append(request) } }
    var all: [RecordedRequest] { requests.withLock { $0 } }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        for start in 0...(count - subsequence.count) where self[start..<(start + subsequence.count)].elementsEqual(subsequence) {
            return true
        }
        return false
    }
}

/// Whether every one of these keys of the `orders` adapter has its decision in the ledger.
func allDecided(_ keys: some Collection<String>, in ledger: SQLiteLedger) async -> Bool {
    for key in keys where (try? await ledger.decisionSummary(adapter: "orders", idempotencyKey: key)) == nil {
        return false
    }
    return true
}
