import SluiceCore

/// Maps Durable Workflow control-plane answers onto the bridge-adapter outcome contract, the way the
/// server's own bridge endpoint does.
///
/// | control-plane answer | outcome |
/// | --- | --- |
/// | 201 `started_new`, 202 `signal_received`, `update_completed`, update `accepted` | accepted |
/// | 200 `returned_existing_active` | duplicate, `duplicate_start` |
/// | `deduped_existing_command` | duplicate |
/// | 409 `rejected_duplicate` / `instance_already_started` for a workflow id Sluice derived from the key | duplicate, `duplicate_start` (only this key's start makes that id) |
/// | 409 `rejected_duplicate` / `instance_already_started` and other rejections | rejected with the server's reason |
/// | 404 `instance_not_found` | rejected, `unknown_target` |
/// | `update_failed` | rejected, `update_failed` |
/// | update asked to wait for `completed`, answered while only accepted (`wait_timed_out`) | accepted, `wait_timed_out: true` |
/// | 429 or 5xx with no known outcome | a retryable error (as any 429 or 5xx), never a rejection |
/// | 401, 403, 404 `namespace_not_found`, 400 control-plane version, 405, 415 with no outcome | the fatal error ``ResponseClassifier`` gives them |
enum ControlPlaneOutcome {
    static let schema = "durable-workflow.v2.control-plane-response"

    /// The outcome for an answer, or a classified error when the body is not a control-plane response.
    static func outcome(
        for response: EngineHTTPResponse, command: EngineCommand, adapter: String, workflowID: String
    ) throws(EngineError) -> Outcome {
        guard let body = response.json, body.objectValue != nil else { throw ResponseClassifier.error(for: response) }
        let controlPlane = body["control_plane"]
        let shaped = controlPlane?["schema"]?.stringValue == schema
        let reasonText = text(body["rejection_reason"]) ?? text(body["reason"]) ?? text(controlPlane?["reason"])
        guard shaped || (response.status == 404 && isUnknownWorkflow(reasonText)) else {
            throw ResponseClassifier.error(for: response)
        }
        if shaped, let version = controlPlane?["version"], version.intValue != 1 {
            throw .nonRetryable(
                "unsupported_version", "control-plane response version \(version), Sluice reads 1: \(response.bodyExcerpt)",
                statusCode: response.status)
        }
        let serverOutcome = text(body["outcome"]) ?? text(controlPlane?["outcome"])
        let runID = text(body["run_id"]) ?? text(controlPlane?["run_id"])
        let id = text(body["workflow_id"]) ?? workflowID
        let message = text(body["message"])
        func make(_ kind: Outcome.Kind, _ reason: OutcomeReason? = nil) -> Outcome {
            Outcome.forCommand(
                command, adapter: adapter, kind: kind, reason: reason, workflowID: id, runID: runID,
                controlPlaneOutcome: serverOutcome, message: kind == .rejected ? message : nil,
                rejectionReason: kind == .rejected ? reasonText : nil)
        }
        if command.action == .updateWorkflow, command.target.waitFor == .completed, (200...299).contains(response.status),
            serverOutcome == nil || serverOutcome == "update_accepted", text(body["update_status"]) != "completed"
        {
            // The server's wait (`wait_timeout_seconds`) ended before the update completed: accepted is all that is
            // known, and the outcome says so. (Sending it again would wait again, and could read a later answer, such as
            // `run_not_active` once the workflow closed, as the update's.)
            var outcome = make(.accepted)
            outcome.extra["wait_timed_out"] = true
            return outcome
        }
        switch serverOutcome {
        case "started_new", "signal_received", "update_completed", "update_accepted":
            return make(.accepted)
        case "returned_existing_active":
            return make(.duplicate, .duplicateStart)
        case "deduped_existing_command":
            return make(.duplicate)
        case "update_failed":
            return make(.rejected, "update_failed")
        default:
            // An overloaded or failing server answers in the control plane's shape too (503
            // `external_payload_storage_unavailable`): that is not a decision, and it is retried.
            if response.status == 429 || response.status >= 500 { throw ResponseClassifier.error(for: response) }
            // The server's middleware answers in the control plane's shape too (a wrong token, a missing namespace,
            // a proxy that strips Sluice's headers): a refusal of Sluice's setup, not of this command, which every
            // call would get alike (a workflow that does not exist is the command's).
            if response.status >= 300, !isUnknownWorkflow(reasonText) {
                let error = ResponseClassifier.error(for: response)
                if error.kind == .fatal { throw error }
            }
            let rejected = text(body["command_status"]) == "rejected" || response.status >= 300
            if !rejected { return make(.accepted) }
            if isUnknownWorkflow(reasonText) { return make(.rejected, .unknownTarget) }
            if reasonText == OutcomeReason.instanceAlreadyStarted.rawValue, isDerived(id, for: command, adapter: adapter) {
                // The start carries no request id the server would keep, so a start sent again after its answer was lost
                // (a timeout, a reset connection) finds its own run. An id derived from the event's key is made by
                // this key's start only: the run is this event's, a duplicate, as Temporal's `startRequestId` tells.
                return make(.duplicate, .duplicateStart)
            }
            return make(.rejected, OutcomeReason(rawValue: reasonText ?? serverOutcome ?? "rejected"))
        }
    }

    /// Whether `workflowID` is the one Sluice derives from the event's idempotency key (no `workflow_id` in the
    /// adapter): the command's key, or, for a step of a plan with several, the key before its `#step`.
    static func isDerived(_ workflowID: String, for command: EngineCommand, adapter: String) -> Bool {
        let key = command.idempotencyKey
        if workflowID == CompiledAdapter.derivedWorkflowID(adapter: adapter, idempotencyKey: key) { return true }
        guard let step = key.lastIndex(of: "#") else { return false }
        return workflowID == CompiledAdapter.derivedWorkflowID(adapter: adapter, idempotencyKey: String(key[..<step]))
    }

    static func isUnknownWorkflow(_ reason: String?) -> Bool {
        reason == "instance_not_found" || reason == "workflow_not_found"
    }

    static func text(_ value: JSONValue?) -> String? {
        value?.stringValue
    }
}
