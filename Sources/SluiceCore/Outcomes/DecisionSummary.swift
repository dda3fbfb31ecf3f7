public import Foundation

/// What a key's decision says, without its whole outcome: the cheap answer to "was this key already
/// decided, and how?" that the pipeline asks before every engine call. The whole outcome (its workflow
/// id, its execution report) is ``OutcomeLedger/decision(adapter:idempotencyKey:)``'s.
public struct DecisionSummary: Sendable, Hashable {
    public var kind: Outcome.Kind
    public var reason: OutcomeReason?
    /// When the decision was recorded.
    public var recordedAt: Date

    public init(kind: Outcome.Kind, reason: OutcomeReason?, recordedAt: Date) {
        self.kind = kind
        self.reason = reason
        self.recordedAt = recordedAt
    }
}
