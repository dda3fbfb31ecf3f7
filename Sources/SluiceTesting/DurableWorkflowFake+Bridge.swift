import SluiceCore
import Synchronization

extension DurableWorkflowFake.Core {
    /// One bridge answer in the contract's member order, nulls dropped.
    struct BridgeAnswer {
        var status: Int
        var kind: Outcome.Kind
        var reason: String?
        var message: String?
        var workflowID: String?
        var runID: String?
        var workflowType: String?
        var controlPlaneOutcome: String?
    }

    /// `POST /api/bridge-adapters/webhook/{adapter}`.
    func bridge(adapter: String, body: JSONObject, namespace: String) -> ScriptedResponse {
        let action = body["action"]?.stringValue ?? ""
        let key = body["idempotency_key"]?.stringValue ?? ""
        let target = body["target"]?.objectValue
        let correlation = body["correlation"]
        func answer(_ answer: BridgeAnswer) -> ScriptedResponse {
            var object = JSONObject()
            object["schema"] = .string(Outcome.schema)
            object["version"] = .int(Outcome.version)
            object["adapter"] = .string(adapter)
            object["action"] = .string(action)
            object["idempotency_key"] = .string(key)
            if let correlation, correlation != .null { object["correlation"] = correlation }
            object["accepted"] = .bool(answer.kind == .accepted)
            object["outcome"] = .string(answer.kind.rawValue)
            object["reason"] = answer.reason.map(JSONValue.string)
            object["message"] = answer.message.map(JSONValue.string)
            var summary = JSONObject()
            for member in target ?? JSONObject()
            where ["workflow_type", "task_queue", "business_key", "workflow_id", "signal_name", "update_name"].contains(member.key) {
                summary[member.key] = member.value
            }
            if let id = answer.workflowID { summary["workflow_id"] = .string(id) }
            object["target"] = .object(summary)
            object["workflow_id"] = answer.workflowID.map(JSONValue.string)
            object["run_id"] = answer.runID.map(JSONValue.string)
            object["workflow_type"] = answer.workflowType.map(JSONValue.string)
            object["control_plane_outcome"] = answer.controlPlaneOutcome.map(JSONValue.string)
            return .json(answer.status, .object(object))
        }
        func rejected(_ reason: String, _ message: String, workflowID: String? = nil, controlPlane: String? = nil) -> ScriptedResponse {
            answer(BridgeAnswer(status: 422, kind: .rejected, reason: reason, message: message, workflowID: workflowID, controlPlaneOutcome: controlPlane))
        }
        guard Self.isValidIdentifier(adapter, maximum: 255) else {
            return rejected("unsupported_routing", "The adapter label is not routable.")
        }
        guard ["start_workflow", "signal_workflow", "update_workflow"].contains(action) else {
            return rejected("unsupported_action", "Bridge action is unsupported.")
        }
        guard !key.isEmpty, key.count <= 255 else { return rejected("malformed_payload", "idempotency_key is required (≤255).") }
        guard let target else { return rejected("malformed_payload", "target must be an object.") }
        if let input = body["input"], input != .null, input.arrayValue == nil, input.objectValue == nil {
            return rejected("malformed_payload", "input must be an array or an object.")
        }
        if let correlation, correlation != .null, correlation.objectValue == nil {
            return rejected("malformed_payload", "correlation must be an object.")
        }
        if configuration.unavailableAdapters.contains(adapter) {
            return rejected("adapter_unavailable", "The adapter is unavailable.")
        }
        let input = body["input"]
        switch action {
        case "start_workflow":
            guard let type = target["workflow_type"]?.stringValue, !type.isEmpty, type.count <= 255 else {
                return rejected("malformed_payload", "target.workflow_type is required.")
            }
            var workflowID = "bridge-\(adapter)-" + String(Digest.sha256Hex(key).prefix(32))
            if let explicit = target["workflow_id"], explicit != .null {
                guard let id = explicit.stringValue, Self.isValidIdentifier(id, maximum: 128) else {
                    return rejected("malformed_payload", "target.workflow_id must match ^[a-zA-Z0-9._:-]+$ (≤128).")
                }
                workflowID = id
            }
            let policy = target["duplicate_policy"]?.stringValue ?? "use_existing"
            guard policy == "use_existing" || policy == "reject_duplicate" else {
                return rejected("malformed_payload", "target.duplicate_policy must be reject_duplicate or use_existing.")
            }
            let queue = target["task_queue"]?.stringValue
            if let queue, configuration.drainingTaskQueues.contains(queue) {
                return rejected("task_queue_draining", "The task queue is draining.", workflowID: workflowID, controlPlane: "rejected_task_queue_draining")
            }
            if configuration.blockedWorkflowTypes.contains(type) {
                return rejected("compatibility_blocked", "No compatible worker for this workflow type.", workflowID: workflowID)
            }
            return state.withLock { state in
                if let existing = state.workflows[workflowID] {
                    guard existing.namespace == namespace else {
                        return rejected("unknown_target", "The workflow id is bound to another namespace.", workflowID: workflowID)
                    }
                    // The engine's `resolveOrCreateInstance` refuses an id reserved for another durable type; the bridge
                    // answers its LogicException as a rejection (reference §4).
                    guard existing.workflowType == type else {
                        return rejected(
                            "unknown_target", "The workflow id is reserved for durable type [\(existing.workflowType)] and cannot be reused.",
                            workflowID: workflowID)
                    }
                    if existing.isRunning, policy == "use_existing" {
                        return answer(BridgeAnswer(
                            status: 200, kind: .duplicate, reason: "duplicate_start", workflowID: workflowID,
                            runID: existing.runID, workflowType: existing.workflowType,
                            controlPlaneOutcome: "returned_existing_active"))
                    }
                    return answer(BridgeAnswer(
                        status: 422, kind: .rejected, reason: "instance_already_started",
                        message: "The workflow instance has already started.", workflowID: workflowID, runID: existing.runID,
                        workflowType: existing.workflowType, controlPlaneOutcome: "rejected_duplicate"))
                }
                let runID = state.nextID("RUN")
                state.workflows[workflowID] = FakeWorkflow(
                    namespace: namespace, workflowID: workflowID, runID: runID, workflowType: type, taskQueue: queue,
                    businessKey: target["business_key"]?.stringValue, input: input, isRunning: true, commands: [])
                return answer(BridgeAnswer(
                    status: 202, kind: .accepted, workflowID: workflowID, runID: runID, workflowType: type,
                    controlPlaneOutcome: "started_new"))
            }
        default:
            let isSignal = action == "signal_workflow"
            let nameKey = isSignal ? "signal_name" : "update_name"
            guard let workflowID = target["workflow_id"]?.stringValue, !workflowID.isEmpty else {
                return rejected("malformed_payload", "target.workflow_id is required.")
            }
            guard let name = target[nameKey]?.stringValue, !name.isEmpty, name.utf8.count <= 255 else {
                return rejected("malformed_payload", "target.\(nameKey) is required.")
            }
            let waitFor = target["wait_for"]?.stringValue ?? "accepted"
            if !isSignal, waitFor != "accepted", waitFor != "completed" {
                return rejected("malformed_payload", "target.wait_for must be accepted or completed.")
            }
            return state.withLock { state in
                guard var workflow = state.workflows[workflowID], workflow.namespace == namespace else {
                    return rejected("unknown_target", "The workflow instance was not found.", workflowID: workflowID)
                }
                let kind: FakeWorkflow.Command.Kind = isSignal ? .signal : .update
                if workflow.commands.contains(where: {
                    $0.kind == kind && $0.adapter == adapter && $0.name == name && $0.idempotencyKey == key
                }) {
                    return answer(BridgeAnswer(
                        status: 200, kind: .duplicate, workflowID: workflowID, runID: workflow.runID,
                        controlPlaneOutcome: "deduped_existing_command"))
                }
                guard workflow.isRunning else {
                    return rejected("run_not_active", "The workflow run is not active.", workflowID: workflowID)
                }
                workflow.commands.append(FakeWorkflow.Command(
                    kind: kind, name: name, input: input, commandID: state.nextID("CMD"), adapter: adapter,
                    idempotencyKey: key, requestID: key, waitFor: isSignal ? nil : waitFor))
                state.workflows[workflowID] = workflow
                let outcome = isSignal ? "signal_received" : (waitFor == "completed" ? "update_completed" : nil)
                return answer(BridgeAnswer(
                    status: 202, kind: .accepted, workflowID: workflowID, runID: workflow.runID, controlPlaneOutcome: outcome))
            }
        }
    }
}
