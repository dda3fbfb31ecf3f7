public import Logging
public import SluiceCore

/// The Durable Workflow server as a ``WorkflowEngine``.
///
/// Two modes:
/// - `bridge` (default): `POST /api/bridge-adapters/webhook/{adapter}`. The server dedupes by idempotency
///   key and answers in the outcome contract itself. Requests are byte-for-byte what the official
///   client sends (``BridgeRequest``).
/// - `control-plane`: `POST /api/workflows` with `duplicate_policy`, `…/signal/{name}` and
///   `…/update/{name}` with `request_id`; Sluice maps each answer onto the outcome contract.
///
/// Every request carries `Content-Type` and `Accept: application/json`, `Authorization: Bearer`,
/// `X-Namespace` and `X-Durable-Workflow-Control-Plane-Version: 2`, in the official client's order.
/// Answers are read by their body's `schema`, never by status alone.
public struct DurableWorkflowEngine: WorkflowEngine {
    /// How Sluice talks to the server.
    public typealias Mode = SluiceConfigSpec.EngineSpec.Mode

    /// The control-plane protocol version Sluice speaks.
    public static let controlPlaneVersion = "2"

    public let endpoint: EngineEndpoint
    public let mode: Mode
    let http: EngineHTTPClient
    let logger: Logger

    /// - Parameters:
    ///   - endpoint: the server's URL, namespace, token and per-call timeout.
    ///   - mode: `bridge` (default) or `control-plane`.
    ///   - http: the shared HTTP client.
    ///   - logger: for debug lines per call; it never receives tokens or payloads.
    public init(endpoint: EngineEndpoint, mode: Mode = .bridge, http: EngineHTTPClient, logger: Logger? = nil) {
        self.endpoint = endpoint
        self.mode = mode
        self.http = http
        var logger = logger ?? Logger(label: "sluice.engine")
        logger[metadataKey: "engine.type"] = "durable-workflow"
        logger[metadataKey: "engine.mode"] = "\(mode.rawValue)"
        self.logger = logger
    }

    public func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        switch mode {
        case .bridge: try await executeBridge(command, adapter: adapter)
        case .controlPlane: try await executeControlPlane(command, adapter: adapter)
        }
    }

    /// Reads `GET /api/cluster/info` and checks that the server speaks the outcome contract version 1.
    public func checkReadiness() async throws(EngineError) {
        let info = try await clusterInfo()
        if mode == .bridge, let version = info["bridge_adapter_outcome_contract"]?["version"], version != .int(Outcome.version) {
            throw .fatal("unsupported_version", "the server's bridge-adapter outcome contract is version \(version), Sluice speaks 1")
        }
        if let version = info["control_plane"]?["version"]?.stringValue, version != Self.controlPlaneVersion {
            throw .fatal("unsupported_version", "the server's control plane is version \(version), Sluice speaks 2")
        }
    }

    /// The server's discovery document, `GET /api/cluster/info`.
    public func clusterInfo() async throws(EngineError) -> JSONValue {
        let response = try await send(.GET, path: "/api/cluster/info")
        guard response.status == 200, let json = response.json, json.objectValue != nil else {
            throw ResponseClassifier.error(for: response)
        }
        return json
    }

    /// A workflow's current run, `GET /api/workflows/{id}`; nil when the server does not know it.
    public func describe(workflowID: String) async throws(EngineError) -> JSONValue? {
        let response = try await send(.GET, path: "/api/workflows/" + PathComponent.escape(workflowID))
        let json = response.json
        if response.status == 404, json?["reason"]?.stringValue != "namespace_not_found" { return nil }
        guard response.status == 200, let json, json.objectValue != nil else {
            throw ResponseClassifier.error(for: response)
        }
        return json
    }

    // MARK: - HTTP

    func send(_ method: HTTPMethodName, path: String, body: JSONValue? = nil, timeout: Duration? = nil)
        async throws(EngineError) -> EngineHTTPResponse
    {
        try await http.send(request(method, path: path, body: body), timeout: timeout ?? endpoint.timeout, logger: logger)
    }

    /// The request with the official client's headers, in its order.
    func request(_ method: HTTPMethodName, path: String, body: JSONValue?) -> EngineHTTPRequest {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Accept", "application/json"),
        ]
        if let token = endpoint.token { headers.append(("Authorization", "Bearer " + token.text)) }
        headers.append(("X-Namespace", endpoint.namespace))
        headers.append(("X-Durable-Workflow-Control-Plane-Version", Self.controlPlaneVersion))
        return EngineHTTPRequest(
            method: method.nio, url: endpoint.baseURL + path, headers: headers, body: body.map(JSONWriter.bytes))
    }
}
