public import Foundation

/// What one event asks of the engine: the steps of the matching rule, evaluated against the event.
///
/// Steps run in order unless `needs` says otherwise; together they form a small DAG.
///
/// A value with copy-on-write storage: a plan is handed from the mapping to the gate, its run, its recording and
/// its settlement, and each hand-over copied its ten fields (a retain and a release each) and moved them through
/// async frames. Now a copy is one reference.
public struct Plan: Sendable, Hashable {
    private struct Fields: Sendable, Hashable {
        var adapter: String
        var adapterVersion: Int
        var rule: String
        var eventID: String
        var eventType: String?
        var idempotencyKey: String
        var orderingKey: String?
        var steps: [PlanStep]
        var sourcePosition: SourcePosition
        var receivedAt: Date
    }

    private var fields: CopyOnWrite<Fields>

    public var adapter: String {
        get { fields.value.adapter }
        set { fields.edit { $0.adapter = newValue } }
    }
    public var adapterVersion: Int {
        get { fields.value.adapterVersion }
        set { fields.edit { $0.adapterVersion = newValue } }
    }
    public var rule: String {
        get { fields.value.rule }
        set { fields.edit { $0.rule = newValue } }
    }
    public var eventID: String {
        get { fields.value.eventID }
        set { fields.edit { $0.eventID = newValue } }
    }
    public var eventType: String? {
        get { fields.value.eventType }
        set { fields.edit { $0.eventType = newValue } }
    }
    /// The event's idempotency key (from the adapter's `idempotency_key`).
    public var idempotencyKey: String {
        get { fields.value.idempotencyKey }
        set { fields.edit { $0.idempotencyKey = newValue } }
    }
    /// Events with the same ordering key are delivered one at a time, in order; nil means unordered.
    public var orderingKey: String? {
        get { fields.value.orderingKey }
        set { fields.edit { $0.orderingKey = newValue } }
    }
    public var steps: [PlanStep] {
        get { fields.value.steps }
        set { fields.edit { $0.steps = newValue } }
    }
    /// Where the event came from, for its outcome and its acknowledgement.
    public var sourcePosition: SourcePosition {
        get { fields.value.sourcePosition }
        set { fields.edit { $0.sourcePosition = newValue } }
    }
    /// When the event was received.
    public var receivedAt: Date {
        get { fields.value.receivedAt }
        set { fields.edit { $0.receivedAt = newValue } }
    }

    public init(
        adapter: String, adapterVersion: Int, rule: String, eventID: String, eventType: String?,
        idempotencyKey: String, orderingKey: String?, steps: [PlanStep], sourcePosition: SourcePosition = .none,
        receivedAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        fields = CopyOnWrite(
            Fields(
                adapter: adapter, adapterVersion: adapterVersion, rule: rule, eventID: eventID, eventType: eventType,
                idempotencyKey: idempotencyKey, orderingKey: orderingKey, steps: steps, sourcePosition: sourcePosition,
                receivedAt: receivedAt))
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
