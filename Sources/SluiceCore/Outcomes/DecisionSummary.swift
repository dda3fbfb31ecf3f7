public import Foundation

/// What a key's decision says, without its whole outcome: the cheap answer to "was this key already
/// decided, and how?" that the pipeline asks before every engine call.
public struct DecisionSummary: Sendable, Hashable {
    public var kind: Outcome.Kind
    public var reason: OutcomeReason?
    public var workflowID: String?
    /// When the decision was recorded.
    public var recordedAt: Date

    public init(kind: Outcome.Kind, reason: OutcomeReason?, workflowID: String?, recordedAt: Date) {
        self.kind = kind
        self.reason = reason
        self.workflowID = workflowID
        self.recordedAt = recordedAt
    }
}
