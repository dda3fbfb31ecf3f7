/// A bridge-adapter outcome: the Durable Workflow contract
/// (`durable-workflow.v2.bridge-adapter-outcome.contract`, version 1) that every Sluice event ends
/// with, whatever the engine, plus Sluice's own fields under the `sluice` key.
///
/// Encoding writes members in the engine's order and drops nulls, as the engine does, so that an
/// outcome decoded from the engine encodes back to the same bytes. Members Sluice does not know are
/// kept in ``extra`` and written back.
///
/// A value with copy-on-write storage: an outcome goes from the engine call to the plan's result, the ledger's
/// request, the settlement, the source and the recent-outcomes list, and each hand-over copied its fifteen fields.
/// Now a copy is one reference.
public struct Outcome: Sendable, Hashable {
    /// The contract's schema name.
    public static let schema = "durable-workflow.v2.bridge-adapter-outcome.contract"
    /// The contract version this model speaks.
    public static let version: Int64 = 1

    /// The three kinds of outcome.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The engine took the command (HTTP 202 on the bridge).
        case accepted
        /// The engine had already taken it; nothing new happened (HTTP 200).
        case duplicate
        /// The engine (or Sluice) refused it (HTTP 422).
        case rejected
    }

    private struct Fields: Sendable, Hashable {
        var adapter: String
        var action: String
        var idempotencyKey: String
        var correlation: JSONValue?
        var kind: Kind
        var reason: OutcomeReason?
        var rejectionReason: String?
        var message: String?
        var target: JSONObject?
        var workflowID: String?
        var runID: String?
        var workflowType: String?
        var controlPlaneOutcome: String?
        var extra: JSONObject
        var sluice: OutcomeDetails?
    }

    private var fields: CopyOnWrite<Fields>

    public var adapter: String {
        get { fields.value.adapter }
        set { fields.edit { $0.adapter = newValue } }
    }
    public var action: String {
        get { fields.value.action }
        set { fields.edit { $0.action = newValue } }
    }
    public var idempotencyKey: String {
        get { fields.value.idempotencyKey }
        set { fields.edit { $0.idempotencyKey = newValue } }
    }
    public var correlation: JSONValue? {
        get { fields.value.correlation }
        set { fields.edit { $0.correlation = newValue } }
    }
    public var kind: Kind {
        get { fields.value.kind }
        set { fields.edit { $0.kind = newValue } }
    }
    public var reason: OutcomeReason? {
        get { fields.value.reason }
        set { fields.edit { $0.reason = newValue } }
    }
    public var rejectionReason: String? {
        get { fields.value.rejectionReason }
        set { fields.edit { $0.rejectionReason = newValue } }
    }
    public var message: String? {
        get { fields.value.message }
        set { fields.edit { $0.message = newValue } }
    }
    public var target: JSONObject? {
        get { fields.value.target }
        set { fields.edit { $0.target = newValue } }
    }
    public var workflowID: String? {
        get { fields.value.workflowID }
        set { fields.edit { $0.workflowID = newValue } }
    }
    public var runID: String? {
        get { fields.value.runID }
        set { fields.edit { $0.runID = newValue } }
    }
    public var workflowType: String? {
        get { fields.value.workflowType }
        set { fields.edit { $0.workflowType = newValue } }
    }
    public var controlPlaneOutcome: String? {
        get { fields.value.controlPlaneOutcome }
        set { fields.edit { $0.controlPlaneOutcome = newValue } }
    }
    /// Members the model does not know, kept so that nothing the engine said is lost.
    public var extra: JSONObject {
        get { fields.value.extra }
        set { fields.edit { $0.extra = newValue } }
    }
    /// Sluice's own fields.
    public var sluice: OutcomeDetails? {
        get { fields.value.sluice }
        set { fields.edit { $0.sluice = newValue } }
    }

    /// `accepted` is true exactly for accepted outcomes.
    public var accepted: Bool { kind == .accepted }

    public init(
        adapter: String, action: String, idempotencyKey: String, kind: Kind, reason: OutcomeReason? = nil,
        correlation: JSONValue? = nil, rejectionReason: String? = nil, message: String? = nil,
        target: JSONObject? = nil, workflowID: String? = nil, runID: String? = nil, workflowType: String? = nil,
        controlPlaneOutcome: String? = nil, extra: JSONObject = JSONObject(), sluice: OutcomeDetails? = nil
    ) {
        fields = CopyOnWrite(
            Fields(
                adapter: adapter, action: action, idempotencyKey: idempotencyKey, correlation: correlation, kind: kind,
                reason: reason, rejectionReason: rejectionReason, message: message, target: target,
                workflowID: workflowID, runID: runID, workflowType: workflowType,
                controlPlaneOutcome: controlPlaneOutcome, extra: extra, sluice: sluice))
    }
}

extension Outcome {
    /// Why a JSON value is not an outcome this model can read.
    public enum DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The body has no `schema` or another one: not outcome-shaped (a 401, 413, 503… answer).
        case notAnOutcome(schema: String?)
        /// The contract version is not 1.
        case unsupportedVersion(JSONValue?)
        /// A member is missing or has the wrong type.
        case invalidMember(String)

        public var description: String {
            switch self {
            case .notAnOutcome(nil): "the body is not a bridge-adapter outcome (no schema)"
            case .notAnOutcome(let schema?): "the body is not a bridge-adapter outcome (schema '\(schema)')"
            case .unsupportedVersion(let version):
                "unsupported bridge-adapter outcome version \(version.map(JSONWriter.string) ?? "(missing)")"
            case .invalidMember(let name): "the outcome's '\(name)' is missing or has the wrong type"
            }
        }
    }

    private static let knownKeys: Set<String> = [
        "schema", "version", "adapter", "action", "idempotency_key", "correlation", "accepted", "outcome", "reason",
        "rejection_reason", "message", "target", "workflow_id", "run_id", "workflow_type", "control_plane_outcome",
        "sluice",
    ]

    /// Reads an outcome from its JSON form.
    ///
    /// - Throws: ``DecodingError`` when the value is not a version-1 outcome.
    public init(json: JSONValue) throws(DecodingError) {
        guard case .object(let object) = json else { throw .notAnOutcome(schema: nil) }
        guard let schema = object["schema"]?.stringValue, schema == Self.schema else {
            throw .notAnOutcome(schema: object["schema"]?.stringValue)
        }
        guard object["version"]?.intValue == Self.version else { throw .unsupportedVersion(object["version"]) }
        func text(_ name: String) throws(DecodingError) -> String? {
            switch object[name] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw .invalidMember(name)
            }
        }
        guard let adapter = try text("adapter") else { throw .invalidMember("adapter") }
        guard let action = try text("action") else { throw .invalidMember("action") }
        guard let outcome = try text("outcome"), let kind = Kind(rawValue: outcome) else {
            throw .invalidMember("outcome")
        }
        if let accepted = object["accepted"], accepted != .null, accepted.boolValue != (kind == .accepted) {
            throw .invalidMember("accepted")
        }
        var target: JSONObject?
        switch object["target"] {
        // PHP writes an empty object as `[]` (the server's redacted target when none of its fields is set).
        case nil, .null?, .array([])?: target = nil
        case .object(let value)?: target = value
        default: throw .invalidMember("target")
        }
        var sluice: OutcomeDetails?
        if let details = object["sluice"], details != .null {
            guard let decoded = OutcomeDetails(json: details) else { throw .invalidMember("sluice") }
            sluice = decoded
        }
        self.init(
            adapter: adapter, action: action, idempotencyKey: try text("idempotency_key") ?? "", kind: kind,
            reason: try text("reason").map(OutcomeReason.init(rawValue:)),
            // Not a bare `nil`: JSONValue is ExpressibleByNilLiteral, so the ternary would make it `.null`.
            correlation: object["correlation"].flatMap { $0 == .null ? JSONValue?.none : $0 },
            rejectionReason: try text("rejection_reason"), message: try text("message"), target: target,
            workflowID: try text("workflow_id"), runID: try text("run_id"), workflowType: try text("workflow_type"),
            controlPlaneOutcome: try text("control_plane_outcome"),
            extra: JSONObject(object.members.filter { !Self.knownKeys.contains($0.key) }), sluice: sluice)
    }

    /// The outcome as JSON, in the engine's member order, without nulls.
    public var json: JSONValue {
        var members: [JSONObject.Member] = [
            .init(key: "schema", value: .string(Self.schema)),
            .init(key: "version", value: .int(Self.version)),
            .init(key: "adapter", value: .string(adapter)),
            .init(key: "action", value: .string(action)),
            .init(key: "idempotency_key", value: .string(idempotencyKey)),
        ]
        func add(_ key: String, _ value: JSONValue?) {
            if let value, value != .null { members.append(.init(key: key, value: value)) }
        }
        add("correlation", correlation)
        add("accepted", .bool(accepted))
        add("outcome", .string(kind.rawValue))
        add("reason", reason.map { .string($0.rawValue) })
        add("rejection_reason", rejectionReason.map(JSONValue.string))
        add("message", message.map(JSONValue.string))
        add("target", target.map(JSONValue.object))
        add("workflow_id", workflowID.map(JSONValue.string))
        add("run_id", runID.map(JSONValue.string))
        add("workflow_type", workflowType.map(JSONValue.string))
        add("control_plane_outcome", controlPlaneOutcome.map(JSONValue.string))
        members.append(contentsOf: extra.members)
        add("sluice", sluice?.json)
        return .object(JSONObject(uniqueMembers: members))
    }
}
