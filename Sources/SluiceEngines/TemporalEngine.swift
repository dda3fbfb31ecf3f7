public import Logging
public import SluiceCore

/// Temporal as a ``WorkflowEngine``, over its HTTP API (`/api/v1/namespaces/{namespace}/…`).
///
/// Every answer is mapped onto the same outcome contract as Durable Workflow (see `docs/engines.md`):
/// - start: `requestId` is the command's request id, so a retry returns the same run. Because Temporal
///   answers `started: true` again to such a retry, the engine first describes the workflow: when the
///   run was started by this request id (`requestIdInfos`), the outcome is `duplicate`. A foreign run is
///   `duplicate` under `use_existing` (while it runs) and `rejected`, `instance_already_started`, otherwise.
///   A closed workflow id is never reused.
/// - signal: `requestId` makes a retry a no-op in Temporal (one history event).
/// - signal-with-start: one call; a replay of the call that started the workflow is `duplicate`.
/// - update: the update id is the request id; the wait stage is the target's `wait_for`. A validator
///   rejection (HTTP 200 with `outcome.failure`) is `rejected`; an update no worker accepted in time is
///   a retryable error, to be sent again with the same id.
public struct TemporalEngine: WorkflowEngine {
    public let endpoint: EngineEndpoint
    let http: EngineHTTPClient
    let logger: Logger

    /// - Parameters:
    ///   - endpoint: the HTTP API's URL (the dev server's `--http-port`), namespace, token and timeout.
    ///     Updates wait for a worker: Temporal holds an update nobody accepts for about 20 s, so an update call is
    ///     given at least ``updateHold`` (25 s).
    ///   - http: the shared HTTP client.
    ///   - logger: for debug lines per call; it never receives tokens or payloads.
    public init(endpoint: EngineEndpoint, http: EngineHTTPClient, logger: Logger? = nil) {
        self.endpoint = endpoint
        self.http = http
        var logger = logger ?? Logger(label: "sluice.engine")
        logger[metadataKey: "engine.type"] = "temporal"
        self.logger = logger
    }

    public func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        if let refused = Outcome.unroutableName(command, adapter: adapter, engine: "Temporal's HTTP API") { return refused }
        return switch command.action {
        case .startWorkflow: try await start(command, adapter: adapter)
        case .signalWorkflow: try await signal(command, adapter: adapter)
        case .updateWorkflow: try await update(command, adapter: adapter)
        case .signalWithStart: try await signalWithStart(command, adapter: adapter)
        }
    }

    /// Describes the namespace: reachable, authenticated, and the namespace exists.
    public func checkReadiness() async throws(EngineError) {
        let response = try await send(.GET, path: "")
        guard response.status == 200, response.json?["namespaceInfo"] != nil else {
            throw Self.error(for: response)
        }
    }

    /// `GET …/workflows/{id}`; nil when Temporal does not know the workflow.
    public func describe(workflowID: String) async throws(EngineError) -> JSONValue? {
        let response = try await send(.GET, path: "/workflows/" + PathComponent.escape(workflowID))
        if response.status == 200, let json = response.json { return json }
        if let failure = TemporalFailure(json: response.json), failure.code == .notFound,
            failure.detailType != "NamespaceNotFoundFailure"
        {
            return nil
        }
        throw Self.error(for: response)
    }

    /// The events of the workflow's current run, `GET …/workflows/{id}/history`, every page.
    ///
    /// - Parameter rawPayloads: payloads as stored (`{"payloads":[{"metadata":…,"data":base64}]}`), not re-read into
    ///   the API's shorthand, which parses them as Go values (numbers as `int64` or `float64`).
    public func history(workflowID: String, rawPayloads: Bool = false) async throws(EngineError) -> [JSONValue] {
        var events: [JSONValue] = []
        var pageToken = ""
        repeat {
            var path = "/workflows/\(PathComponent.escape(workflowID))/history"
            if !pageToken.isEmpty { path += "?nextPageToken=" + PathComponent.escape(pageToken) }
            let response = try await send(.GET, path: path, accept: rawPayloads ? "application/json+no-payload-shorthand" : "application/json")
            guard response.status == 200, let json = response.json, let page = json["history"]?["events"]?.arrayValue else {
                throw Self.error(for: response)
            }
            events += page
            pageToken = json["nextPageToken"]?.stringValue ?? ""
        } while !pageToken.isEmpty
        return events
    }

    // MARK: - HTTP

    /// The least time an update call is given: Temporal holds an update that no worker has accepted yet for
    /// about 20 s before it answers (stage `ADMITTED`), and a call cut off before that answer would only be sent
    /// again, each time cut off at the same point, instead of learning what the server knows.
    static let updateHold: Duration = .seconds(25)

    func send(
        _ method: HTTPMethodName, path: String, body: JSONObject? = nil, timeout: Duration? = nil, accept: String = "application/json"
    ) async throws(EngineError) -> EngineHTTPResponse {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", accept)]
        if let token = endpoint.token { headers.append(("Authorization", "Bearer " + token.text)) }
        let url = endpoint.baseURL + "/api/v1/namespaces/" + PathComponent.escape(endpoint.namespace) + path
        let request = EngineHTTPRequest(
            method: method.nio, url: url, headers: headers, body: body.map { JSONWriter.bytes(.object($0)) })
        return try await http.send(request, timeout: timeout ?? endpoint.timeout, logger: logger)
    }

    /// The classified error for an answer that is neither a success nor a command rejection.
    static func error(for response: EngineHTTPResponse) -> EngineError {
        guard let failure = TemporalFailure(json: response.json) else { return ResponseClassifier.error(for: response) }
        return failure.engineError(status: response.status, retryAfter: RetryAfter.parse(response.retryAfter))
    }
}
