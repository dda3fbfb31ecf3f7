public import Foundation

/// A decision as the ledger holds it.
public struct StoredOutcome: Sendable, Hashable {
    /// The row id, increasing with time.
    public var id: Int64
    public var outcome: Outcome
    /// When the decision was recorded.
    public var recordedAt: Date
    /// How many later outcomes for the same key were answered from this one.
    public var duplicates: Int

    public init(id: Int64, outcome: Outcome, recordedAt: Date, duplicates: Int = 0) {
        self.id = id
        self.outcome = outcome
        self.recordedAt = recordedAt
        self.duplicates = duplicates
    }
}

/// Which decisions to list (`sluice outcomes`).
public struct OutcomeQuery: Sendable, Hashable {
    public var adapter: String?
    public var kind: Outcome.Kind?
    public var reason: OutcomeReason?
    /// Only those recorded at or after this time.
    public var since: Date?
    public var workflowID: String?
    public var idempotencyKey: String?
    public var limit: Int

    public init(
        adapter: String? = nil, kind: Outcome.Kind? = nil, reason: OutcomeReason? = nil, since: Date? = nil,
        workflowID: String? = nil, idempotencyKey: String? = nil, limit: Int = 100
    ) {
        self.adapter = adapter
        self.kind = kind
        self.reason = reason
        self.since = since
        self.workflowID = workflowID
        self.idempotencyKey = idempotencyKey
        self.limit = limit
    }

    /// Whether a stored decision matches (for in-memory ledgers and tests).
    public func matches(_ stored: StoredOutcome) -> Bool {
        let outcome = stored.outcome
        if let adapter, outcome.adapter != adapter { return false }
        if let kind, outcome.kind != kind { return false }
        if let reason, outcome.reason != reason { return false }
        if let since, stored.recordedAt < since { return false }
        if let workflowID, outcome.workflowID != workflowID { return false }
        if let idempotencyKey, outcome.idempotencyKey != idempotencyKey { return false }
        return true
    }
}
