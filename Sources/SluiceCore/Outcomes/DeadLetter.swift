public import Foundation

/// An event that ended rejected or exhausted its retries, kept to be looked at and re-driven.
public struct DeadLetter: Sendable, Hashable {
    public var id: Int64
    /// The outcome it ended with: the reason and, under `sluice`, the full execution report.
    public var outcome: Outcome
    public var content: DeadLetterContent
    public var createdAt: Date
    /// When it was last re-driven (`sluice replay`), if ever.
    public var redrivenAt: Date?
    public var redriveCount: Int

    public var adapter: String { outcome.adapter }
    public var idempotencyKey: String { outcome.idempotencyKey }

    public init(
        id: Int64, outcome: Outcome, content: DeadLetterContent, createdAt: Date, redrivenAt: Date? = nil,
        redriveCount: Int = 0
    ) {
        self.id = id
        self.outcome = outcome
        self.content = content
        self.createdAt = createdAt
        self.redrivenAt = redrivenAt
        self.redriveCount = redriveCount
    }
}

/// Which dead letters to list.
public struct DeadLetterQuery: Sendable, Hashable {
    public var adapter: String?
    /// Only those filed at or after this time.
    public var since: Date?
    /// Also those already re-driven.
    public var includeRedriven: Bool
    public var limit: Int
    /// The oldest `limit` letters, oldest first (a replay); otherwise the newest, newest first (a listing).
    public var oldestFirst: Bool
    /// Only letters with a larger id: the next page of an oldest-first walk (a replay past letters that stay).
    public var afterID: Int64?

    public init(
        adapter: String? = nil, since: Date? = nil, includeRedriven: Bool = false, limit: Int = 100,
        oldestFirst: Bool = false, afterID: Int64? = nil
    ) {
        self.adapter = adapter
        self.since = since
        self.includeRedriven = includeRedriven
        self.limit = limit
        self.oldestFirst = oldestFirst
        self.afterID = afterID
    }

    /// Whether a dead letter matches (for in-memory ledgers and tests).
    public func matches(_ letter: DeadLetter) -> Bool {
        if let adapter, letter.adapter != adapter { return false }
        if let since, letter.createdAt < since { return false }
        if !includeRedriven, letter.redrivenAt != nil { return false }
        if let afterID, letter.id <= afterID { return false }
        return true
    }
}
