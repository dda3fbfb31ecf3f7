import Logging

// What a `503` tells its client. The client learns what could not be done and that nothing was
// acknowledged; the ledger's or the engine's own error text (file paths, database server messages,
// an engine's answer) goes to the log only, never to a webhook's sender.

extension AdapterPipeline {
    /// The client-facing reason of an outcome that could not be recorded (the error is logged where it happened).
    static let unrecordedReason = "the ledger could not record the outcome"

    /// Logs `error` and returns `what`, the reason a client may see.
    func ledgerFailure(_ what: String, _ error: LedgerError) -> String {
        metrics.recordLedgerFailure()
        logger.error("\(what); answering 503", metadata: ["error": "\(error)"])
        return what
    }

    /// Logs why the gate let go of an event and returns the reason a client may see.
    func abandonedReason(_ reason: String) -> String {
        logger.warning("an event was left undecided; answering 503", metadata: ["reason": "\(reason)"])
        return "Sluice stopped working on the event before it was decided"
    }
}
