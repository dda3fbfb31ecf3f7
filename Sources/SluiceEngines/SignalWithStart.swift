import SluiceCore

/// Combines the two outcomes of a signal-with-start done as a `use_existing` start and then a signal.
enum SignalWithStart {
    /// Rejected if the start was rejected; otherwise the signal's outcome, promoted to `accepted` when the
    /// start created the workflow. The action reads `signal_with_start`; `start_outcome` keeps the start's kind.
    static func combine(start: Outcome, signal: Outcome?) -> Outcome {
        guard start.kind != .rejected, var combined = signal else {
            var rejected = start
            rejected.action = EngineCommand.Action.signalWithStart.rawValue
            return rejected
        }
        combined.action = EngineCommand.Action.signalWithStart.rawValue
        if start.kind == .accepted, combined.kind == .duplicate {
            combined.kind = .accepted
            combined.reason = nil
        }
        combined.runID = combined.runID ?? start.runID
        combined.workflowType = combined.workflowType ?? start.workflowType
        combined.extra["start_outcome"] = .string(start.kind.rawValue)
        return combined
    }
}
