import SluiceCore

/// Durable Workflow control-plane requests for a command: path and body, in the official client's
/// member order. `input` is a plain JSON array, which the server encodes itself.
struct ControlPlaneRequest: Sendable, Hashable {
    var path: String
    var body: JSONObject
    /// Whether the server deduplicates this request when it is sent again: starts are (by workflow id); signals
    /// are not, and updates only on workflows of external workers whose contract declares the update (by
    /// `request_id`), so a signal or an update whose answer was lost must not be sent again.
    var isDeduplicated = true

    /// `POST /api/workflows`. `use_existing` becomes `use-existing`, `reject_duplicate` becomes `fail`.
    static func start(
        _ command: EngineCommand, adapter: String, input: [JSONValue], policy: DuplicatePolicy
    ) -> ControlPlaneRequest {
        let target = command.target
        var body = JSONObject()
        body["workflow_id"] = .string(command.workflowID(adapter: adapter))
        body["workflow_type"] = target.workflowType.map(JSONValue.string)
        body["task_queue"] = target.taskQueue.map(JSONValue.string)
        body["business_key"] = target.businessKey.map(JSONValue.string)
        body["input"] = .array(input)
        body["execution_timeout_seconds"] = target.executionTimeout.map { .int(DurationText.seconds($0)) }
        body["run_timeout_seconds"] = target.runTimeout.map { .int(DurationText.seconds($0)) }
        body["duplicate_policy"] = .string(policy == .useExisting ? "use-existing" : "fail")
        return ControlPlaneRequest(path: "/api/workflows", body: body)
    }

    /// `POST /api/workflows/{id}/signal/{name}` with `request_id`; `input` is left out when empty.
    static func signal(_ command: EngineCommand, workflowID: String) -> ControlPlaneRequest {
        var body = JSONObject()
        if !command.input.isEmpty { body["input"] = .array(command.input) }
        body["request_id"] = .string(command.requestID)
        let path = "/api/workflows/\(PathComponent.escape(workflowID))/signal/"
            + PathComponent.escape(command.target.signalName ?? "")
        return ControlPlaneRequest(path: path, body: body, isDeduplicated: false)
    }

    /// `POST /api/workflows/{id}/update/{name}` with `wait_for`, `wait_timeout_seconds` and `request_id`.
    static func update(_ command: EngineCommand, workflowID: String) -> ControlPlaneRequest {
        var body = JSONObject()
        if !command.input.isEmpty { body["input"] = .array(command.input) }
        body["wait_for"] = .string((command.target.waitFor ?? .accepted).rawValue)
        body["wait_timeout_seconds"] = command.target.waitTimeout.map { .int(max(1, DurationText.seconds($0))) }
        body["request_id"] = .string(command.requestID)
        let path = "/api/workflows/\(PathComponent.escape(workflowID))/update/"
            + PathComponent.escape(command.target.updateName ?? "")
        return ControlPlaneRequest(path: path, body: body, isDeduplicated: false)
    }
}
