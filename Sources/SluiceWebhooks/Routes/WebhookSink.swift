// The contract the lead is adding on main in `SluiceCore/Pipeline/` (`WebhookSink`,
// `WebhookAcceptance`). Kept here, with the same shape, until that lands; then this file is deleted
// and the routes use SluiceCore's types unchanged.
public import SluiceCore

/// What a webhook route does with a verified, normalised event (the ledger inbox, or Kafka's ingress topic).
public protocol WebhookSink: Sendable {
    /// Makes the event durable, or says why not. Called once per verified delivery.
    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance
}

/// The sink's answer, which the route turns into the HTTP status.
public enum WebhookAcceptance: Sendable {
    /// Durable in the inbox: `202`.
    case accepted(eventID: String, idempotencyKey: String)
    /// The idempotency key is already decided: `200` with the earlier outcome.
    case known(Outcome)
    /// The adapter rejected it at mapping (unmatched, malformed), recorded: `200` with that outcome.
    case decided(Outcome)
    /// `429` with `Retry-After`; nothing stored.
    case saturated(retryAfter: Duration)
    /// `503` (with `Retry-After` when given): the inbox write failed, or Sluice is draining.
    case unavailable(reason: String, retryAfter: Duration?)
}
