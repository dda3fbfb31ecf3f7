import SluiceCore
import Synchronization

extension DurableWorkflowFake.Core {
    /// A control-plane answer: the flat fields plus the nested `control_plane` object.
    func controlPlaneAnswer(
        _ status: Int, operation: String, fields: JSONObject, outcome: String?, reason: String? = nil
    ) -> ScriptedResponse {
        var object = fields
        object["outcome"] = outcome.map(JSONValue.string) ?? .null
        object["command_status"] = .string(status < 300 ? "accepted" : "rejected")
        object["command_source"] = "control_plane"
        object["reason"] = reason.map(JSONValue.string) ?? .null
        if status >= 300 { object["rejection_reason"] = reason.map(JSONValue.string) ?? .null }
        var nested = JSONObject()
        nested["schema"] = "durable-workflow.v2.control-plane-response"
        nested["version"] = 1
        nested["operation"] = .string(operation)
        nested["workflow_id"] = fields["workflow_id"]
        nested["run_id"] = fields["run_id"]
        nested["outcome"] = outcome.map(JSONValue.string) ?? .null
        nested["reason"] = reason.map(JSONValue.string) ?? .null
        object["control_plane"] = .object(nested)
        return .json(status, .object(object))
    }

    func validationFailed(_ field: String, _ message: String) -> ScriptedResponse {
        .json(
            422,
            [
                "message": .string(message), "reason": "validation_failed",
                "errors": .object(JSONObject([.init(key: field, value: [.string(message)])])),
            ])
    }

    /// `POST /api/workflows`.
    func controlPlaneStart(body: JSONObject, namespace: String) -> ScriptedResponse {
        for rejected in ["idempotency_key", "request_id", "retry_policy", "use_existing"] where body[rejected] != nil {
            return validationFailed(rejected, "The \(rejected) field is not accepted.")
        }
        guard let type = body["workflow_type"]?.stringValue, !type.isEmpty else {
            return validationFailed("workflow_type", "The workflow type field is required.")
        }
        let policy = body["duplicate_policy"]?.stringValue ?? "fail"
        guard policy == "fail" || policy == "use-existing" else {
            return validationFailed("duplicate_policy", "The selected duplicate policy is invalid.")
        }
        if let input = body["input"], input.arrayValue == nil, input.objectValue == nil {
            return validationFailed("input", "The input must be an array or a payload envelope.")
        }
        let queue = body["task_queue"]?.stringValue
        return state.withLock { state in
            let workflowID = body["workflow_id"]?.stringValue ?? state.nextID("WF")
            guard Self.isValidIdentifier(workflowID, maximum: 128) else {
                return validationFailed("workflow_id", "The workflow id format is invalid.")
            }
            var fields = JSONObject()
            fields["workflow_id"] = .string(workflowID)
            if let queue, configuration.drainingTaskQueues.contains(queue) {
                return controlPlaneAnswer(409, operation: "start", fields: fields, outcome: "rejected_task_queue_draining", reason: "task_queue_draining")
            }
            if let existing = state.workflows[workflowID] {
                fields["run_id"] = .string(existing.runID)
                fields["workflow_type"] = .string(existing.workflowType)
                fields["namespace"] = .string(existing.namespace)
                guard existing.namespace == namespace else {
                    return controlPlaneAnswer(409, operation: "start", fields: fields, outcome: "rejected_duplicate", reason: "workflow_id_reserved_in_namespace")
                }
                // An id reserved for another durable type: the engine's LogicException, a validation failure here.
                guard existing.workflowType == type else {
                    return validationFailed("workflow_id", "The workflow id is reserved for durable type [\(existing.workflowType)] and cannot be reused.")
                }
                if existing.isRunning, policy == "use-existing" {
                    return controlPlaneAnswer(200, operation: "start", fields: fields, outcome: "returned_existing_active")
                }
                return controlPlaneAnswer(409, operation: "start", fields: fields, outcome: "rejected_duplicate", reason: "instance_already_started")
            }
            let runID = state.nextID("RUN")
            state.workflows[workflowID] = FakeWorkflow(
                namespace: namespace, workflowID: workflowID, runID: runID, workflowType: type, taskQueue: queue,
                businessKey: body["business_key"]?.stringValue, input: body["input"], isRunning: true, commands: [])
            fields["run_id"] = .string(runID)
            fields["workflow_type"] = .string(type)
            fields["namespace"] = .string(namespace)
            fields["status"] = "pending"
            return controlPlaneAnswer(201, operation: "start", fields: fields, outcome: "started_new")
        }
    }

    /// `POST /api/workflows/{id}/signal/{name}`. Like the server, signals are not deduplicated by `request_id`.
    func controlPlaneSignal(workflowID: String, name: String, body: JSONObject, namespace: String) -> ScriptedResponse {
        var fields = JSONObject()
        fields["workflow_id"] = .string(workflowID)
        fields["signal_name"] = .string(name)
        return state.withLock { state in
            guard var workflow = state.workflows[workflowID], workflow.namespace == namespace else {
                return controlPlaneAnswer(404, operation: "signal", fields: fields, outcome: "rejected_not_found", reason: "instance_not_found")
            }
            fields["run_id"] = .string(workflow.runID)
            guard workflow.isRunning else {
                return controlPlaneAnswer(409, operation: "signal", fields: fields, outcome: "rejected_not_active", reason: "run_not_active")
            }
            let commandID = state.nextID("CMD")
            workflow.commands.append(FakeWorkflow.Command(
                kind: .signal, name: name, input: body["input"], commandID: commandID,
                requestID: body["request_id"]?.stringValue))
            state.workflows[workflowID] = workflow
            fields["command_id"] = .string(commandID)
            return controlPlaneAnswer(202, operation: "signal", fields: fields, outcome: "signal_received")
        }
    }

    /// `POST /api/workflows/{id}/update/{name}`: deduplicated per run by (update name, `request_id`).
    func controlPlaneUpdate(workflowID: String, name: String, body: JSONObject, namespace: String) -> ScriptedResponse {
        if body["wait_policy"] != nil { return validationFailed("wait_policy", "Use wait_for.") }
        let waitFor = body["wait_for"]?.stringValue ?? "accepted"
        guard waitFor == "accepted" || waitFor == "completed" else {
            return validationFailed("wait_for", "The selected wait for is invalid.")
        }
        let requestID = body["request_id"]?.stringValue
        var fields = JSONObject()
        fields["workflow_id"] = .string(workflowID)
        fields["update_name"] = .string(name)
        return state.withLock { state in
            guard var workflow = state.workflows[workflowID], workflow.namespace == namespace else {
                return controlPlaneAnswer(404, operation: "update", fields: fields, outcome: "rejected_not_found", reason: "instance_not_found")
            }
            fields["run_id"] = .string(workflow.runID)
            if let requestID, let earlier = workflow.commands.first(where: { $0.kind == .update && $0.name == name && $0.requestID == requestID }) {
                fields["command_id"] = .string(earlier.commandID)
                let completed = earlier.waitFor == "completed"
                fields["update_status"] = .string(completed ? "completed" : "accepted")
                return controlPlaneAnswer(completed ? 200 : 202, operation: "update", fields: fields, outcome: completed ? "update_completed" : nil)
            }
            guard workflow.isRunning else {
                return controlPlaneAnswer(409, operation: "update", fields: fields, outcome: "rejected_not_active", reason: "run_not_active")
            }
            let commandID = state.nextID("CMD")
            workflow.commands.append(FakeWorkflow.Command(
                kind: .update, name: name, input: body["input"], commandID: commandID, requestID: requestID, waitFor: waitFor))
            state.workflows[workflowID] = workflow
            fields["command_id"] = .string(commandID)
            fields["update_status"] = .string(waitFor == "completed" ? "completed" : "accepted")
            fields["wait_for"] = .string(waitFor)
            fields["wait_timed_out"] = false
            return controlPlaneAnswer(
                waitFor == "completed" ? 200 : 202, operation: "update", fields: fields,
                outcome: waitFor == "completed" ? "update_completed" : nil)
        }
    }

    /// `GET /api/workflows/{id}`.
    func describe(workflowID: String, namespace: String) -> ScriptedResponse {
        state.withLock { state in
            guard let workflow = state.workflows[workflowID], workflow.namespace == namespace else {
                return .json(404, ["reason": "instance_not_found", "message": "Workflow not found."])
            }
            var object = JSONObject()
            object["workflow_id"] = .string(workflow.workflowID)
            object["run_id"] = .string(workflow.runID)
            object["namespace"] = .string(workflow.namespace)
            object["workflow_type"] = .string(workflow.workflowType)
            object["status"] = .string(workflow.isRunning ? "running" : "completed")
            object["is_terminal"] = .bool(!workflow.isRunning)
            object["task_queue"] = workflow.taskQueue.map(JSONValue.string) ?? .null
            object["input"] = workflow.input ?? .null
            return .json(200, .object(object))
        }
    }
}
