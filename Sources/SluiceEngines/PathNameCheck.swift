import SluiceCore

extension Outcome {
    /// The rejection of a signal or update whose name holds a `/`, for an engine that puts the name in the URL path
    /// (Temporal's HTTP API, Durable Workflow's control plane), or nil when the command's name can be sent.
    ///
    /// Both servers decode the path before they match it to a route (an escaped `%2F` too: measured on Temporal
    /// Server 1.32; Laravel's route matching decodes the path), so such a name reaches no route, and the route miss
    /// reads as a wrong engine URL, which stops the engine. The name is this event's problem, not the engine's.
    static func unroutableName(_ command: EngineCommand, adapter: String, engine: String) -> Outcome? {
        let name: (field: String, value: String?) =
            switch command.action {
            case .signalWorkflow, .signalWithStart: ("signal_name", command.target.signalName)
            case .updateWorkflow: ("update_name", command.target.updateName)
            case .startWorkflow: ("", nil)
            }
        guard let value = name.value, value.contains("/") else { return nil }
        return .forCommand(
            command, adapter: adapter, kind: .rejected, reason: .malformedPayload,
            workflowID: command.workflowID(adapter: adapter),
            message: "\(name.field) '\(value)' holds a '/', which \(engine) cannot route",
            rejectionReason: OutcomeReason.malformedPayload.rawValue)
    }
}
