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

    /// Shared between copies until one of them changes: only a uniquely referenced box is written to.
    private final class Storage: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    /// The fields to change, in a box of this plan's own.
    private var editable: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.fields) }
            return storage
        }
    }

    public var adapter: String {
        get { storage.fields.adapter }
        set { editable.fields.adapter = newValue }
    }
    public var adapterVersion: Int {
        get { storage.fields.adapterVersion }
        set { editable.fields.adapterVersion = newValue }
    }
    public var rule: String {
        get { storage.fields.rule }
        set { editable.fields.rule = newValue }
    }
    public var eventID: String {
        get { storage.fields.eventID }
        set { editable.fields.eventID = newValue }
    }
    public var eventType: String? {
        get { storage.fields.eventType }
        set { editable.fields.eventType = newValue }
    }
    /// The event's idempotency key (from the adapter's `idempotency_key`).
    public var idempotencyKey: String {
        get { storage.fields.idempotencyKey }
        set { editable.fields.idempotencyKey = newValue }
    }
    /// Events with the same ordering key are delivered one at a time, in order; nil means unordered.
    public var orderingKey: String? {
        get { storage.fields.orderingKey }
        set { editable.fields.orderingKey = newValue }
    }
    public var steps: [PlanStep] {
        get { storage.fields.steps }
        set { editable.fields.steps = newValue }
    }
    /// Where the event came from, for its outcome and its acknowledgement.
    public var sourcePosition: SourcePosition {
        get { storage.fields.sourcePosition }
        set { editable.fields.sourcePosition = newValue }
    }
    /// When the event was received.
    public var receivedAt: Date {
        get { storage.fields.receivedAt }
        set { editable.fields.receivedAt = newValue }
    }

    public init(
        adapter: String, adapterVersion: Int, rule: String, eventID: String, eventType: String?,
        idempotencyKey: String, orderingKey: String?, steps: [PlanStep], sourcePosition: SourcePosition = .none,
        receivedAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        storage = Storage(
            Fields(
                adapter: adapter, adapterVersion: adapterVersion, rule: rule, eventID: eventID, eventType: eventType,
                idempotencyKey: idempotencyKey, orderingKey: orderingKey, steps: steps, sourcePosition: sourcePosition,
                receivedAt: receivedAt))
    }

    public static func == (lhs: Plan, rhs: Plan) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.fields == rhs.storage.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.fields)
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
