import SluiceCore

extension DurableWorkflowEngine {
    /// Performs the command with the control plane and maps the answer onto the outcome contract.
    ///
    /// The start's duplicate policy defaults to `use_existing`, as on the bridge. Signal-with-start is a
    /// `use-existing` start followed by the signal.
    func executeControlPlane(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        if let refused = Outcome.unroutableName(command, adapter: adapter, engine: "the control plane") { return refused }
        let workflowID = command.workflowID(adapter: adapter)
        switch command.action {
        case .startWorkflow:
            return try await controlPlane(
                .start(command, adapter: adapter, input: command.input, policy: command.target.duplicatePolicy ?? .useExisting),
                command, adapter: adapter, workflowID: workflowID)
        case .signalWorkflow:
            return try await controlPlane(.signal(command, workflowID: workflowID), command, adapter: adapter, workflowID: workflowID)
        case .updateWorkflow:
            return try await controlPlane(.update(command, workflowID: workflowID), command, adapter: adapter, workflowID: workflowID)
        case .signalWithStart:
            let start = try await controlPlane(
                .start(command, adapter: adapter, input: command.startInput, policy: .useExisting), command,
                adapter: adapter, workflowID: workflowID)
            guard start.kind != .rejected else { return SignalWithStart.combine(start: start, signal: nil) }
            let signal = try await controlPlane(
                .signal(command, workflowID: workflowID), command, adapter: adapter, workflowID: workflowID)
            return SignalWithStart.combine(start: start, signal: signal)
        }
    }

    private func controlPlane(
        _ request: ControlPlaneRequest, _ command: EngineCommand, adapter: String, workflowID: String
    ) async throws(EngineError) -> Outcome {
        do {
            let response = try await send(.POST, path: request.path, body: .object(request.body), timeout: endpoint.timeout(for: command))
            return try ControlPlaneOutcome.outcome(for: response, command: command, adapter: adapter, workflowID: workflowID)
        } catch where error.kind == .retryable && error.reason == "malformed_response" && !request.isDeduplicated {
            // The server took the signal or update (a 2xx), but its answer cannot be read, or was cut off: sent
            // again, the workflow would get it twice.
            throw .nonRetryable(
                error.reason,
                error.detail + " (not sent again: the server does not deduplicate \(command.action == .updateWorkflow ? "updates" : "signals") in general)",
                statusCode: error.statusCode)
        }
    }
}
