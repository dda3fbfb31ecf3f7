/// What a webhook route does with a verified, normalised event: write it to the ledger's inbox
/// (``AdapterPipeline``) or to a Kafka ingress topic, before the sender gets its `2xx`.
public protocol WebhookSink: Sendable {
    /// Takes one verified delivery. Never throws: every answer the sender can get is a case of
    /// ``WebhookAcceptance``.
    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance
}

/// How a webhook was taken, and so what its sender is answered.
public enum WebhookAcceptance: Sendable, Hashable {
    /// The event is durable (inbox row or ingress topic) and will be delivered: `202`.
    case accepted(eventID: String, idempotencyKey: String)
    /// The idempotency key is already decided: `200` with the earlier outcome, nothing stored.
    case known(Outcome)
    /// The adapter decided at mapping (unmatched, malformed) and the outcome is recorded: `200`.
    case decided(Outcome)
    /// The boundary's queue is full: `429` with `Retry-After`, nothing stored.
    case saturated(retryAfter: Duration)
    /// Sluice cannot take it now (the inbox write failed, or Sluice is draining): `503`, nothing
    /// acknowledged.
    case unavailable(reason: String, retryAfter: Duration?)
    /// The inbox cannot hold a delivery this large (a Kafka ingress topic's record limit): `413`, nothing
    /// stored. Sending it again cannot succeed.
    case tooLarge(reason: String)
}
