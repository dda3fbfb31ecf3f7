/// How one event from a pull source ended, as its source needs to know it to acknowledge.
public enum Settlement: Sendable, Hashable {
    /// The event's decision is durable in the ledger: acknowledge it (commit the offset), after
    /// producing it to the dead-letter topic when `deadLetter` is set.
    case recorded(Outcome, deadLetter: Bool)
    /// The event was not decided (cancelled by shutdown or a revoked partition): do not
    /// acknowledge it, so that it is delivered again.
    case abandoned(reason: String)
    /// The outcome could not be written: do not acknowledge it.
    case unrecorded(LedgerError)

    /// Whether the source may acknowledge the event.
    public var isDurable: Bool {
        if case .recorded = self { return true }
        return false
    }
}

/// What the synchronous path (the bridge endpoint) answers.
public enum SynchronousResult: Sendable, Hashable {
    /// The event's decision, durable in the ledger. `firstDecision` is false when the key was
    /// decided before (the client retried).
    case outcome(Outcome, firstDecision: Bool)
    /// The boundary's queue is full: `429` with `Retry-After`.
    case saturated(retryAfter: Duration)
    /// No decision within the wait: `503` with `Retry-After`; the work goes on, and the client's
    /// retry with the same key finds it.
    case timedOut(retryAfter: Duration)
    /// Sluice cannot take it (draining, the ledger failed): `503`.
    case unavailable(reason: String)
}
