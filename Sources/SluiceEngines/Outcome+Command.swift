public import SluiceCore

extension Outcome {
    /// An outcome for `command`, as the bridge endpoint would have written it: the command's key and
    /// correlation echoed, and the target reduced to the contract's redacted summary.
    ///
    /// Used by engines that do not answer in the contract themselves (the control plane, Temporal).
    public static func forCommand(
        _ command: EngineCommand, adapter: String, kind: Kind, reason: OutcomeReason? = nil,
        workflowID: String?, runID: String? = nil, controlPlaneOutcome: String? = nil, message: String? = nil,
        rejectionReason: String? = nil
    ) -> Outcome {
        Outcome(
            adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: kind,
            reason: reason, correlation: command.correlation.isEmpty ? nil : .object(command.correlation),
            rejectionReason: rejectionReason, message: message, target: command.target.summary(workflowID: workflowID),
            workflowID: workflowID, runID: runID,
            workflowType: command.action == .startWorkflow || command.action == .signalWithStart
                ? command.target.workflowType : nil,
            controlPlaneOutcome: controlPlaneOutcome)
    }
}

extension CommandTarget {
    /// The contract's redacted target summary: `workflow_type, task_queue, business_key, workflow_id,
    /// signal_name, update_name`, nulls dropped.
    func summary(workflowID: String?) -> JSONObject {
        var object = JSONObject()
        object["workflow_type"] = workflowType.map(JSONValue.string)
        object["task_queue"] = taskQueue.map(JSONValue.string)
        object["business_key"] = businessKey.map(JSONValue.string)
        object["workflow_id"] = (workflowID ?? self.workflowID).map(JSONValue.string)
        object["signal_name"] = signalName.map(JSONValue.string)
        object["update_name"] = updateName.map(JSONValue.string)
        return object
    }
}

extension EngineCommand {
    /// The workflow id the command acts on: the target's, or for starts without one the id the
    /// Durable Workflow bridge derives, `bridge-{adapter}-{first 32 hex of sha256(idempotency key)}`.
    public func workflowID(adapter: String) -> String {
        if let id = target.workflowID { return id }
        return "bridge-\(adapter)-" + String(Digest.sha256Hex(idempotencyKey).prefix(32))
    }
}
