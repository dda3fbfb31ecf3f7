public import Foundation

/// What ``OutcomeLedger/record(_:)`` writes in one transaction.
public struct RecordRequest: Sendable, Hashable {
    /// The outcome; its adapter and idempotency key name the decision.
    public var outcome: Outcome
    /// The inbox row the event came from, removed in the same transaction.
    public var inboxID: Int64?
    /// When set, a dead letter is filed with the outcome (rejected, or retries exhausted).
    public var deadLetter: DeadLetterContent?

    public init(outcome: Outcome, inboxID: Int64? = nil, deadLetter: DeadLetterContent? = nil) {
        self.outcome = outcome
        self.inboxID = inboxID
        self.deadLetter = deadLetter
    }
}

/// What a dead letter keeps besides its outcome, so that it can be re-driven: the engine commands
/// (with their idempotency keys and request ids) and, when the source allows, the delivery itself.
public struct DeadLetterContent: Sendable, Hashable {
    public var commands: [EngineCommand]
    /// The delivery as received. Nil when payloads are not kept (the default for Kafka events).
    public var delivery: Delivery?

    public init(commands: [EngineCommand], delivery: Delivery? = nil) {
        self.commands = commands
        self.delivery = delivery
    }
}

/// What ``OutcomeLedger/record(_:)`` did.
public enum RecordResult: Sendable, Hashable {
    /// The outcome is now the key's decision.
    case recorded(id: Int64)
    /// The key was already decided (within its dedupe window); this is that decision. Nothing was
    /// stored but the duplicate count; the inbox row, if any, was still removed.
    case alreadyDecided(Outcome)

    /// The outcome that stands for the key after the call.
    public func decision(given outcome: Outcome) -> Outcome {
        switch self {
        case .recorded: outcome
        case .alreadyDecided(let existing): existing
        }
    }
}

/// What ``OutcomeLedger/claim(adapter:idempotencyKey:owner:for:)`` found.
public enum ClaimResult: Sendable, Hashable {
    /// The caller holds the key until this time.
    case claimed(until: Date)
    /// The key is decided: use this outcome, call no engine.
    case decided(Outcome)
    /// Another worker holds the key until this time.
    case held(by: String, until: Date)
}

/// What ``OutcomeLedger/renewClaims(adapter:idempotencyKeys:owner:for:)`` did.
public struct ClaimRenewal: Sendable, Hashable {
    /// How many of the owner's claims now hold until the new expiry.
    public var renewed: Int
    /// The keys among those asked about that another worker holds now (the owner's claim had expired
    /// and was taken), with their holder.
    public var lost: [String: String]

    public init(renewed: Int = 0, lost: [String: String] = [:]) {
        self.renewed = renewed
        self.lost = lost
    }
}
