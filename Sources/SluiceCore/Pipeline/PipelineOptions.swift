/// How an ``AdapterPipeline`` uses the ledger.
public struct PipelineOptions: Sendable {
    /// The claim owner (replica and process) when the ledger is shared by several replicas; nil
    /// for a ledger only this process writes (SQLite), where the gate alone keeps one worker per key.
    public var claimOwner: String?
    /// How long a claim holds if its owner dies without recording or releasing it.
    public var claimDuration: Duration
    /// The longest the synchronous path waits for a decision before answering `503`.
    public var synchronousWait: Duration
    /// Whether dead letters keep the delivery (headers and body) so that they can be re-driven from
    /// the original event. Webhooks keep it; Kafka events are kept in their topic.
    public var keepsDeliveries: Bool

    public init(
        claimOwner: String? = nil, claimDuration: Duration = .seconds(300), synchronousWait: Duration = .seconds(30),
        keepsDeliveries: Bool = true
    ) {
        self.claimOwner = claimOwner
        self.claimDuration = claimDuration
        self.synchronousWait = synchronousWait
        self.keepsDeliveries = keepsDeliveries
    }
}
