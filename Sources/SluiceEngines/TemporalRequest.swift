import SluiceCore

/// Temporal HTTP API request bodies for a command. Payloads use the API's shorthand: `input` is a
/// plain JSON array, stored as `json/plain` payloads.
enum TemporalRequest {
    static let rejectDuplicate = "WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE"
    static let conflictFail = "WORKFLOW_ID_CONFLICT_POLICY_FAIL"
    static let conflictUseExisting = "WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING"

    /// `POST …/workflows/{id}`: `requestId` is the command's request id, so that a retry returns the same
    /// run. A closed workflow id is never reused (as on Durable Workflow); the conflict policy follows
    /// the command's duplicate policy.
    static func start(_ command: EngineCommand, policy: DuplicatePolicy) -> JSONObject {
        var body = startFields(command, input: command.input)
        body["requestId"] = .string(command.requestID)
        body["workflowIdReusePolicy"] = .string(rejectDuplicate)
        body["workflowIdConflictPolicy"] = .string(policy == .useExisting ? conflictUseExisting : conflictFail)
        return body
    }

    /// `POST …/workflows/{id}/signal/{name}` with `requestId` (Temporal dedupes signals by it).
    static func signal(_ command: EngineCommand) -> JSONObject {
        var body = JSONObject()
        if !command.input.isEmpty { body["input"] = .array(command.input) }
        body["requestId"] = .string(command.requestID)
        return body
    }

    /// `POST …/workflows/{id}/signal-with-start/{name}`.
    static func signalWithStart(_ command: EngineCommand) -> JSONObject {
        var body = startFields(command, input: command.startInput)
        if !command.input.isEmpty { body["signalInput"] = .array(command.input) }
        body["requestId"] = .string(command.requestID)
        body["workflowIdReusePolicy"] = .string(rejectDuplicate)
        return body
    }

    /// `POST …/workflows/{id}/update/{name}`: the update id is the command's request id, so that a retry
    /// returns the first attempt's result; the wait stage is the target's (default `accepted`).
    static func update(_ command: EngineCommand, workflowID: String) -> JSONObject {
        var execution = JSONObject()
        execution["workflowId"] = .string(workflowID)
        var meta = JSONObject()
        meta["updateId"] = .string(command.requestID)
        var input = JSONObject()
        input["name"] = .string(command.target.updateName ?? "")
        if !command.input.isEmpty { input["args"] = .array(command.input) }
        var request = JSONObject()
        request["meta"] = .object(meta)
        request["input"] = .object(input)
        let stage = command.target.waitFor == .completed ? "COMPLETED" : "ACCEPTED"
        var waitPolicy = JSONObject()
        waitPolicy["lifecycleStage"] = .string("UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_" + stage)
        var body = JSONObject()
        body["workflowExecution"] = .object(execution)
        body["request"] = .object(request)
        body["waitPolicy"] = .object(waitPolicy)
        return body
    }

    private static func startFields(_ command: EngineCommand, input: [JSONValue]) -> JSONObject {
        var body = JSONObject()
        body["workflowType"] = .object(JSONObject([.init(key: "name", value: .string(command.target.workflowType ?? ""))]))
        if let queue = command.target.taskQueue {
            body["taskQueue"] = .object(JSONObject([.init(key: "name", value: .string(queue))]))
        }
        if !input.isEmpty { body["input"] = .array(input) }
        if let timeout = command.target.executionTimeout {
            body["workflowExecutionTimeout"] = .string("\(DurationText.seconds(timeout))s")
        }
        if let timeout = command.target.runTimeout {
            body["workflowRunTimeout"] = .string("\(DurationText.seconds(timeout))s")
        }
        return body
    }
}
