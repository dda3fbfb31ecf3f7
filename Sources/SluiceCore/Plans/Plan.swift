public import Foundation

/// What one event asks of the engine: the steps of the matching rule, evaluated against the event.
///
/// Steps run in order unless `needs` says otherwise; together they form a small DAG.
public struct Plan: Sendable, Hashable {
    public var adapter: String
    public var adapterVersion: Int
    public var rule: String
    public var eventID: String
    public var eventType: String?
    /// The event's idempotency key (from the adapter's `idempotency_key`).
    public var idempotencyKey: String
    /// Events with the same ordering key are delivered one at a time, in order; nil means unordered.
    public var orderingKey: String?
    public var steps: [PlanStep]
    /// Where the event came from, for its outcome and its acknowledgement.
    public var sourcePosition: SourcePosition
    /// When the event was received.
    public var receivedAt: Date

    public init(
        adapter: String, adapterVersion: Int, rule: String, eventID: String, eventType: String?,
        idempotencyKey: String, orderingKey: String?, steps: [PlanStep], sourcePosition: SourcePosition = .none,
        receivedAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        self.adapter = adapter
        self.adapterVersion = adapterVersion
        self.rule = rule
        self.eventID = eventID
        self.eventType = eventType
        self.idempotencyKey = idempotencyKey
        self.orderingKey = orderingKey
        self.steps = steps
        self.sourcePosition = sourcePosition
        self.receivedAt = receivedAt
    }
}

/// One step of a plan: an engine command and the steps it waits for.
public struct PlanStep: Sendable, Hashable {
    public var id: String
    public var needs: [String]
    public var command: EngineCommand

    public init(id: String, needs: [String], command: EngineCommand) {
        self.id = id
        self.needs = needs
        self.command = command
    }
}
