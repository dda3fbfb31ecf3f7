// `SynchronousResult` mirrors the type the lead is adding on main in `SluiceCore/Pipeline/`; when it
// lands this copy is deleted, and `AdapterPipeline` (whose `execute(_:)` has this exact signature)
// conforms with `extension AdapterPipeline: BridgeExecutor {}`.
public import SluiceCore

/// Runs one plan synchronously for the bridge endpoint: ledger check, the gate, the engine, the record.
public protocol BridgeExecutor: Sendable {
    /// The plan's outcome once it is decided, or why there is none yet.
    func execute(_ plan: Plan) async -> SynchronousResult
}

/// What a synchronous execution ended with.
public enum SynchronousResult: Sendable {
    /// The decided outcome; `firstDecision` is false when the ledger already held it.
    case outcome(Outcome, firstDecision: Bool)
    /// The boundary is full: nothing was started.
    case saturated(retryAfter: Duration)
    /// The cancellation budget ran out before the engine answered; a retry with the same key is deduplicated.
    case timedOut(retryAfter: Duration)
    /// The ledger or the engine cannot be reached.
    case unavailable(reason: String)
}
