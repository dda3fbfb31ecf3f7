import Foundation
import Logging
import SluiceCore
import SluiceEngines
import SluiceTesting
import Synchronization
import Testing

/// One shared HTTP client for the engine tests, as in production.
let sharedHTTP = EngineHTTPClient(connectTimeout: .seconds(1))

let operatorToken = "op-secret-7f3a9c"

/// Runs `body` against a fresh Durable Workflow fake and an engine pointed at it, then stops the fake.
func withFake<T>(
    mode: DurableWorkflowEngine.Mode = .bridge, configuration: DurableWorkflowFake.Configuration? = nil,
    token: String = operatorToken, namespace: String = "default", timeout: Duration = .seconds(5),
    logger: Logger? = nil, _ body: (DurableWorkflowFake, DurableWorkflowEngine) async throws -> T
) async throws -> T {
    var settings = configuration ?? DurableWorkflowFake.Configuration()
    settings.operatorToken = operatorToken
    let fake = try await DurableWorkflowFake.start(settings)
    let engine = DurableWorkflowEngine(
        endpoint: EngineEndpoint(baseURL: fake.baseURL, namespace: namespace, token: Secret(token), timeout: timeout),
        mode: mode, http: sharedHTTP, logger: logger)
    do {
        let result = try await body(fake, engine)
        await fake.stop()
        return result
    } catch {
        await fake.stop()
        throw error
    }
}

/// Builders for the commands the tests send.
enum Commands {
    static func start(
        key: String, workflowID: String? = nil, type: String = "orders.fulfillment", queue: String = "orders",
        policy: DuplicatePolicy? = nil, input: [JSONValue] = [], requestID: String? = nil
    ) -> EngineCommand {
        EngineCommand(
            action: .startWorkflow,
            target: CommandTarget(workflowID: workflowID, workflowType: type, taskQueue: queue, duplicatePolicy: policy),
            input: input, idempotencyKey: key, requestID: requestID ?? "req-" + key)
    }

    static func signal(key: String, workflowID: String, name: String = "payment_received", input: [JSONValue] = [])
        -> EngineCommand
    {
        EngineCommand(
            action: .signalWorkflow, target: CommandTarget(workflowID: workflowID, signalName: name), input: input,
            idempotencyKey: key, requestID: "req-" + key)
    }

    static func update(
        key: String, workflowID: String, name: String = "apply", waitFor: UpdateWaitStage? = nil,
        input: [JSONValue] = []
    ) -> EngineCommand {
        EngineCommand(
            action: .updateWorkflow, target: CommandTarget(workflowID: workflowID, updateName: name, waitFor: waitFor),
            input: input, idempotencyKey: key, requestID: "req-" + key)
    }

    static func signalWithStart(
        key: String, workflowID: String, type: String = "orders.fulfillment", queue: String = "orders",
        name: String = "payment_received", input: [JSONValue] = [], startInput: [JSONValue] = []
    ) -> EngineCommand {
        EngineCommand(
            action: .signalWithStart,
            target: CommandTarget(workflowID: workflowID, workflowType: type, taskQueue: queue, signalName: name),
            input: input, startInput: startInput, idempotencyKey: key, requestID: "req-" + key)
    }
}

/// Runs an engine call that must fail, and returns its error.
func engineError(_ call: () async throws -> Void) async -> EngineError? {
    do {
        try await call()
        return nil
    } catch let error as EngineError {
        return error
    } catch {
        Issue.record("not an EngineError: \(error)")
        return nil
    }
}

/// A log handler that keeps every line (message and metadata), for redaction tests.
struct CapturingLogHandler: LogHandler {
    final class Store: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        store.lines.withLock { $0.append("\(event.level) \(event.message) \(merged)") }
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "test") { _ in CapturingLogHandler(store: store) }, store)
    }
}

/// A wire fixture recorded from the official Python client.
struct WireFixture {
    var method: String
    var path: String
    var headers: [(String, String)]
    var bodyRaw: String

    init(_ name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        let json = try JSONParser.parse(Array(try Data(contentsOf: url)))
        method = json["method"]?.stringValue ?? ""
        path = json["path"]?.stringValue ?? ""
        headers = (json["headers"]?.arrayValue ?? []).compactMap { pair in
            guard let name = pair.arrayValue?.first?.stringValue, let value = pair.arrayValue?.last?.stringValue else {
                return nil
            }
            return (name, value)
        }
        bodyRaw = json["body_raw"]?.stringValue ?? ""
    }

    /// The headers the official client itself chooses (not httpx's transport headers), in order.
    var clientHeaders: [String] {
        headers.map(\.0).filter { ["Content-Type", "Accept", "Authorization", "X-Namespace", "X-Durable-Workflow-Control-Plane-Version"].contains($0) }
    }
}

/// What an engine that puts signal and update names in the URL path answers for a name with a `/`: the event's
/// `malformed_payload` (its route miss would read as a wrong engine URL and stop the engine).
func expectNamesWithASlashRefused(by engine: any WorkflowEngine, workflowID: String) async throws {
    for command in [
        Commands.signal(key: "s", workflowID: workflowID, name: "orders/paid"),
        Commands.update(key: "u", workflowID: workflowID, name: "a/b"),
        Commands.signalWithStart(key: "sws", workflowID: workflowID, name: "x/"),
    ] {
        let outcome = try await engine.execute(command, adapter: "a")
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == .malformedPayload)
        #expect(outcome.message?.contains("holds a '/'") == true, "\(String(describing: outcome.message))")
    }
}
