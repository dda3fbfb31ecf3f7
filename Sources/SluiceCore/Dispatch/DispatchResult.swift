/// How an event handed to the ``Dispatcher`` ended.
public enum DispatchResult: Sendable, Hashable {
    /// The event has its one outcome: record it, then acknowledge the source.
    case decided(Outcome)
    /// The event was cancelled before it finished (shutdown, a revoked partition, a deadline, a
    /// fatal engine error): do not acknowledge it, so that it is delivered again. Nothing is lost.
    case abandoned(reason: String)

    /// The outcome, when there is one.
    public var outcome: Outcome? {
        if case .decided(let outcome) = self { return outcome }
        return nil
    }
}

/// Why the dispatcher refused an event at admission.
public enum DispatchAdmissionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The boundary's queue is full: a push source answers 429 with this `Retry-After`.
    case saturated(maxQueued: Int, retryAfter: Duration)
    /// The same idempotency key is already queued or in flight.
    case alreadyInProgress(key: String)
    /// The same idempotency key already has an outcome (look it up in the ledger).
    case alreadyDecided(key: String)
    /// The dispatcher is cancelling (shutting down, partition revoked): it takes no new work.
    case cancelling(reason: String)
    /// The adapter's mode refuses this kind of source (a push to a pull-only boundary…).
    case modeRefused(mode: BoundaryMode)

    public var description: String {
        switch self {
        case .saturated(let maxQueued, let retryAfter):
            "the queue is full (\(maxQueued) waiting); retry after \(DurationText.format(retryAfter))"
        case .alreadyInProgress(let key): "an event with idempotency key '\(key)' is already in progress"
        case .alreadyDecided(let key): "the event with idempotency key '\(key)' already has an outcome"
        case .cancelling(let reason): "not accepting work: \(reason)"
        case .modeRefused(let mode): "the boundary is \(mode.rawValue)"
        }
    }
}
