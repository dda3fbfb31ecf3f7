import Foundation
import Logging
import ServiceLifecycle
import SluiceApp
import SluiceCore
import SluiceTesting
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A project directory with `sluice.yaml` pointing at a Durable Workflow fake and the test's
/// adapters, removed by `cleanUp()`.
struct ServiceProject {
    let directory: URL

    init(engineURL: String, adapters: [String: String], extra: String = "") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("adapters"), withIntermediateDirectories: true)
        let yaml = """
            adapters: adapters
            engines:
              primary:
                type: durable-workflow
                url: \(engineURL)
                token: ${env:SLUICE_SERVICE_TEST_TOKEN}
                timeout: 5s
            default_engine: primary
            http:
              host: 127.0.0.1
              port: 0
            ledger:
              path: ledger.sqlite
            \(extra)
            """
        try yaml.write(to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        for (name, text) in adapters {
            try text.write(to: directory.appendingPathComponent("adapters/\(name).yaml"), atomically: true, encoding: .utf8)
        }
    }

    func configuration(environment: [String: String] = [:], flags: [String: String] = [:]) throws -> ServiceConfiguration {
        var env = environment
        env["SLUICE_SERVICE_TEST_TOKEN"] = env["SLUICE_SERVICE_TEST_TOKEN"] ?? pipelineToken
        setenv("SLUICE_SERVICE_TEST_TOKEN", env["SLUICE_SERVICE_TEST_TOKEN"]!, 1)
        return try ConfigurationLoader(environment: env, flags: flags).load(directory: directory)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }
}

let ordersAdapterYAML = """
    adapter: orders
    version: 1
    source:
      webhook: { path: /webhooks/orders, verify: { scheme: none } }
    boundary: { max_in_flight: 4, max_queued: 64, cancellation_budget: 2s }
    idempotency_key: "${body.id}"
    rules:
      - name: created
        when: { event.type: order.created }
        do:
          - start_workflow: { workflow_type: orders.fulfillment, task_queue: orders, workflow_id: "order-${body.order}", input: ["${body}"] }
    """

/// A running application in a task; `stop()` shuts it down as SIGTERM would.
struct RunningService {
    let application: SluiceApplication
    let task: Task<Void, any Error>
    let port: Int

    static func start(
        _ config: ServiceConfiguration, ledger: any OutcomeLedger, healthInterval: Duration = .milliseconds(200)
    ) async throws -> RunningService {
        var logger = Logger(label: "sluice.test")
        logger.logLevel = ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let application = try buildApplication(config: config, ledger: ledger, healthInterval: healthInterval, logger: logger)
        let task = Task { try await application.run() }
        guard let port = await application.listening.port else { throw PipelineTestError(description: "the server did not start") }
        await application.intake.waitUntilOpen()
        return RunningService(application: application, task: task, port: port)
    }

    /// Shuts down gracefully, as SIGTERM does.
    func stop() async throws {
        await application.shutdown()
        try await task.value
    }

    func request(_ path: String, method: String) async throws -> (status: Int, headers: [String: String], body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { headers["\(name)"] = "\(value)" }
        return (http?.statusCode ?? 0, headers, String(decoding: data, as: UTF8.self))
    }

    func get(_ path: String, port: Int? = nil) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(port ?? self.port)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// A service (a source, a member of ``ConcurrentServices``) that fails when told to; until then it waits for its
/// graceful shutdown, and remembers whether it was cancelled instead.
final class FailingService: Service, Sendable {
    struct Failure: Error {}
    private let signal = AsyncStream.makeStream(of: Void.self)
    private let cancelled = Mutex(false)

    func fail() { signal.continuation.yield() }

    /// Whether it ended by cancellation (not by failing or at the graceful shutdown).
    var wasCancelled: Bool { cancelled.withLock { $0 } }

    func run() async throws {
        try await withGracefulShutdownHandler {
            for await _ in signal.stream { throw Failure() }
            cancelled.withLock { $0 = Task.isCancelled }
        } onGracefulShutdown: { [signal] in
            signal.continuation.finish()
        }
    }
}
