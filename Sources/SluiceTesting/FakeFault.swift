/// A fault ``DurableWorkflowFake`` puts on the next request instead of (or around) its normal answer.
public enum FakeFault: Sendable, Hashable {
    /// Answer with this status and a non-outcome JSON body such as the server's `backend_unavailable`,
    /// with `Retry-After` when given (seconds or an HTTP date).
    case status(Int, retryAfter: String? = nil)
    /// Answer normally, after this delay.
    case delay(Duration)
    /// Answer normally, but cut the body in half and close the connection.
    case truncated
    /// Answer normally, but send only half the body, then nothing more for a minute (a stalled peer).
    case stalledBody
    /// Answer with this status and an HTML body (a proxy in the way).
    case nonJSON(status: Int)
    /// A complete 2xx answer whose body is cut JSON text.
    case partialJSON
    /// Close the connection without answering.
    case closeConnection
    /// Answer normally, with the outcome's `version` replaced.
    case outcomeVersion(Int64)
    /// Answer with this status and a control-plane-shaped body (no outcome, this reason), as the server's
    /// start does for `503 external_payload_storage_unavailable`.
    case controlPlaneError(Int, reason: String, retryAfter: String? = nil)
    /// A control-plane update that waits for `completed` is taken, but its wait ends first: `202` with
    /// `update_status: accepted`, `wait_timed_out: true` and no outcome. Sent again with the same `request_id`,
    /// the update is found completed.
    case updateWaitTimesOut
}
