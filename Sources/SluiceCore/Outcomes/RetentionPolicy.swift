public import Foundation

/// How long the ledger keeps decisions and dead letters (`ledger.retention`, `ledger.max_outcomes`).
public struct RetentionPolicy: Sendable, Hashable {
    /// Decisions and dead letters older than this go; nil keeps them regardless of age.
    public var maxAge: Duration?
    /// At most this many decisions are kept, the oldest go first; nil for no limit.
    public var maxOutcomes: Int?

    public init(maxAge: Duration? = nil, maxOutcomes: Int? = nil) {
        self.maxAge = maxAge
        self.maxOutcomes = maxOutcomes
    }

    /// The cut-off time for `now`, when there is an age limit.
    public func cutoff(now: Date) -> Date? {
        maxAge.map { now.addingTimeInterval(-$0.timeInterval) }
    }
}

/// What one prune removed.
public struct PruneResult: Sendable, Hashable {
    public var outcomes: Int
    public var deadLetters: Int
    public var claims: Int

    public init(outcomes: Int = 0, deadLetters: Int = 0, claims: Int = 0) {
        self.outcomes = outcomes
        self.deadLetters = deadLetters
        self.claims = claims
    }
}

extension Duration {
    /// The duration in seconds, as Foundation counts time.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
