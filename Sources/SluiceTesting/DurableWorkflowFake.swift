import Foundation
import SluiceCore
import Synchronization

/// A Durable Workflow server fake over real HTTP on loopback, faithful to the reference
/// (`reference/durable-workflow-protocol.md`): the bridge endpoint with its outcome contract, dedupe
/// and rejection reasons; the control plane (start, signal, update, describe, cluster info); and the
/// middleware answers that are not outcome-shaped (401, 403, 400 version header, 404 namespace, 413
/// over the payload limit, 415, 400 malformed JSON). Faults can be injected per request.
public final class DurableWorkflowFake: Sendable {
    /// How the fake behaves.
    public struct Configuration: Sendable {
        /// The operator token: allowed on every route.
        public var operatorToken: String = "operator-token"
        /// The worker token: cluster info only, 403 elsewhere.
        public var workerToken: String = "worker-token"
        public var namespaces: Set<String> = ["default"]
        /// `DW_MAX_PAYLOAD_BYTES`: bigger bodies get 413.
        public var maximumPayloadBytes: Int = 2 * 1024 * 1024
        /// Adapters the bridge refuses with `adapter_unavailable`.
        public var unavailableAdapters: Set<String> = []
        /// Workflow types starts refuse with `compatibility_blocked`.
        public var blockedWorkflowTypes: Set<String> = []
        /// Task queues starts refuse with `task_queue_draining`.
        public var drainingTaskQueues: Set<String> = []

        public init() {}
    }

    let server: LoopbackHTTPServer
    let core: Core

    /// `http://127.0.0.1:{port}`.
    public var baseURL: String { server.baseURL }

    private init(server: LoopbackHTTPServer, core: Core) {
        self.server = server
        self.core = core
    }

    /// Starts a fake on a free loopback port.
    public static func start(_ configuration: Configuration = Configuration()) async throws -> DurableWorkflowFake {
        let core = Core(configuration: configuration)
        let server = try await LoopbackHTTPServer.start { request in core.handle(request) }
        return DurableWorkflowFake(server: server, core: core)
    }

    /// Stops the server and closes its connections.
    public func stop() async {
        await server.stop()
    }

    /// Puts faults on the next requests, one per request, in order.
    public func inject(_ faults: FakeFault...) {
        inject(faults)
    }

    /// Puts these faults on the next requests, in order.
    public func inject(_ faults: [FakeFault]) {
        core.state.withLock { $0.faults += faults }
    }

    /// Every request received so far, in order.
    public var requests: [RecordedRequest] {
        core.state.withLock { $0.requests }
    }

    /// A workflow by id.
    public func workflow(_ id: String, namespace: String = "default") -> FakeWorkflow? {
        core.state.withLock { $0.workflows[id].flatMap { $0.namespace == namespace ? $0 : nil } }
    }

    /// Every workflow, by id.
    public var workflows: [String: FakeWorkflow] {
        core.state.withLock { $0.workflows }
    }

    /// Closes a workflow's run (as if it completed).
    public func closeWorkflow(_ id: String, namespace: String = "default") {
        core.state.withLock { state in
            if state.workflows[id]?.namespace == namespace { state.workflows[id]?.isRunning = false }
        }
    }

    /// Adds a running workflow, as if something else had started it.
    public func addWorkflow(_ id: String, type: String, namespace: String = "default") {
        core.state.withLock { state in
            let runID = state.nextID("RUN")
            state.workflows[id] = FakeWorkflow(
                namespace: namespace, workflowID: id, runID: runID, workflowType: type, isRunning: true, commands: [])
        }
    }
}

extension DurableWorkflowFake {
    /// The fake's state and request handling; the server calls ``handle(_:)`` for every request.
    final class Core: Sendable {
        struct State: Sendable {
            var requests: [RecordedRequest] = []
            var faults: [FakeFault] = []
            var workflows: [String: FakeWorkflow] = [:]
            var counter = 0

            mutating func nextID(_ kind: String) -> String {
                counter += 1
                let digits = String(counter)
                return "01J" + kind + String(repeating: "0", count: max(0, 23 - kind.count - digits.count)) + digits
            }
        }

        let configuration: Configuration
        let state = Mutex(State())

        init(configuration: Configuration) {
            self.configuration = configuration
        }

        func handle(_ request: RecordedRequest) -> ScriptedResponse {
            let fault: FakeFault? = state.withLock { state in
                state.requests.append(request)
                return state.faults.isEmpty ? nil : state.faults.removeFirst()
            }
            guard let fault else { return route(request) }
            switch fault {
            case .status(let status, let retryAfter):
                let reason = status == 429 ? "rate_limited" : "backend_unavailable"
                return .json(
                    status, ["reason": .string(reason), "message": "injected fault", "retryable": true],
                    headers: retryAfter.map { [("Retry-After", $0)] } ?? [])
            case .delay(let delay):
                var response = route(request)
                response.delay = delay
                return response
            case .truncated:
                var response = route(request)
                response.delivery = .truncated(bytes: response.body.count / 2)
                return response
            case .stalledBody:
                var response = route(request)
                response.delivery = .stalled(bytes: response.body.count / 2)
                return response
            case .nonJSON(let status):
                return .text(status, "<html><body><h1>\(status) Bad Gateway</h1></body></html>", contentType: "text/html")
            case .partialJSON:
                var response = route(request)
                response.body = Array(response.body.prefix(response.body.count / 2))
                return response
            case .closeConnection:
                return ScriptedResponse(status: 500, delivery: .closeWithoutAnswer)
            case .controlPlaneError(let status, let reason, let retryAfter):
                var response = controlPlaneAnswer(
                    status, operation: "start", fields: JSONObject([.init(key: "message", value: "injected fault")]), outcome: nil,
                    reason: reason)
                if let retryAfter { response.headers.append(("Retry-After", retryAfter)) }
                return response
            case .updateWaitTimesOut:
                var response = route(request)
                guard case .object(var object)? = try? JSONParser.parse(response.body),
                    object["update_status"]?.stringValue == "completed", case .object(var nested)? = object["control_plane"]
                else { return response }
                object["update_status"] = "accepted"
                object["wait_timed_out"] = true
                object["outcome"] = .null
                nested["outcome"] = .null
                object["control_plane"] = .object(nested)
                response.status = 202
                response.body = JSONWriter.bytes(.object(object))
                return response
            case .outcomeVersion(let version):
                var response = route(request)
                if case .object(var object)? = try? JSONParser.parse(response.body) {
                    object["version"] = .int(version)
                    response.body = JSONWriter.bytes(.object(object))
                }
                return response
            }
        }
    }
}
