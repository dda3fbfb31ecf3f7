import Foundation
import SluiceCore

/// Temporal HTTP API request bodies for a command.
///
/// Arguments go in the API's explicit payload form, each one a `json/plain` payload holding Sluice's own JSON
/// bytes. The shorthand (a plain JSON array) would have the server parse every argument as Go values and write
/// them out again: a number of more than 15–17 digits rounded to a `float64` (`12345678901234567890123` became
/// `1.2345678901234568e+22`), `100.0` became `100`, and an argument shaped like a payload
/// (`{"metadata":{…},"data":…}`) was taken as one, with its own encoding.
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
        if !command.input.isEmpty { body["input"] = payloads(command.input) }
        body["requestId"] = .string(command.requestID)
        return body
    }

    /// `POST …/workflows/{id}/signal-with-start/{name}`.
    static func signalWithStart(_ command: EngineCommand) -> JSONObject {
        var body = startFields(command, input: command.startInput)
        if !command.input.isEmpty { body["signalInput"] = payloads(command.input) }
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
        if !command.input.isEmpty { input["args"] = payloads(command.input) }
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
        if !input.isEmpty { body["input"] = payloads(input) }
        if let timeout = command.target.executionTimeout {
            body["workflowExecutionTimeout"] = .string("\(DurationText.seconds(timeout))s")
        }
        if let timeout = command.target.runTimeout {
            body["workflowRunTimeout"] = .string("\(DurationText.seconds(timeout))s")
        }
        return body
    }

    /// `base64("json/plain")`: the encoding of every argument Sluice sends.
    static let jsonPlain = "anNvbi9wbGFpbg=="

    /// `{"payloads":[{"metadata":{"encoding":"json/plain"},"data":base64(JSON)}, …]}`: the arguments as Sluice wrote
    /// them, byte for byte, as a Temporal SDK's JSON converter reads them.
    static func payloads(_ values: [JSONValue]) -> JSONValue {
        let encoding = JSONObject([.init(key: "encoding", value: .string(jsonPlain))])
        let payloads = values.map { value -> JSONValue in
            .object(JSONObject([
                .init(key: "metadata", value: .object(encoding)),
                .init(key: "data", value: .string(Data(JSONWriter.bytes(value)).base64EncodedString())),
            ]))
        }
        return .object(JSONObject([.init(key: "payloads", value: .array(payloads))]))
    }
}
