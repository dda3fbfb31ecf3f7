public import Foundation
public import SluiceCore
import Synchronization

/// An ``OutcomeLedger`` in memory, with the same rules as the real ones (one decision per key, dedupe
/// windows, claims that expire, inbox rows removed with their outcome), for tests of the pipeline.
public final class InMemoryLedger: OutcomeLedger {
    private struct State {
        var nextID: Int64 = 1
        var decisions: [Key: StoredOutcome] = [:]
        var claims: [Key: (owner: String, until: Date)] = [:]
        var inbox: [Int64: Delivery] = [:]
        var inboxAppends = 0
        var deadLetters: [Int64: DeadLetter] = [:]
        /// When set, every write fails with this error (to test failure paths).
        var failure: LedgerError?
        /// How many of the next claims fail.
        var failingClaims = 0
        var failingInboxReads = 0
        var holdingReadiness = false
        var holdingDeadLetterReads = false
        var deadLetterReads = 0
        /// Keys whose `decision` lookups wait until released, and how many wait now.
        var heldDecisionKeys: Set<String> = []
        var heldDecisions = 0
        var heldSummaryKeys: Set<String> = []
        var heldSummaries = 0

        mutating func makeID() -> Int64 {
            defer { nextID += 1 }
            return nextID
        }
    }

    private struct Key: Hashable {
        var adapter: String
        var idempotencyKey: String
    }

    private let state = Mutex(State())
    private let dedupe: DedupePolicy
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - dedupe: the dedupe windows per adapter.
    ///   - now: the clock, injectable to test windows and claim expiry.
    public init(dedupe: DedupePolicy = DedupePolicy(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.dedupe = dedupe
        self.now = now
    }

    /// Makes every following write fail with `error` (nil to heal).
    public func failWrites(with error: LedgerError?) {
        state.withLock { $0.failure = error }
    }

    /// Makes the next `count` claims fail with a retryable error (a shared ledger briefly unreachable).
    public func failClaims(_ count: Int) {
        state.withLock { $0.failingClaims = count }
    }

    /// Makes the next `count` reads of the pending inbox fail (a ledger restarting).
    public func failInboxReads(_ count: Int) {
        state.withLock { $0.failingInboxReads = count }
    }

    /// Makes readiness checks hang until released, as a ledger whose connection stays half-open does (they
    /// do not end when their task is cancelled either).
    public func holdReadinessChecks(_ hold: Bool) {
        state.withLock { $0.holdingReadiness = hold }
    }

    /// Makes `deadLetters` queries wait while `hold` is set (a status-page read that hangs).
    public func holdDeadLetterReads(_ hold: Bool) {
        state.withLock { $0.holdingDeadLetterReads = hold }
    }

    /// How many `deadLetters` queries were made.
    public var deadLetterReads: Int { state.withLock { $0.deadLetterReads } }

    /// Makes `decision` lookups of these keys wait until ``releaseDecisions()`` (a slow read, at a moment a test
    /// chooses).
    public func holdDecisions(forKeys keys: Set<String>) {
        state.withLock { $0.heldDecisionKeys = keys }
    }

    /// Lets every held `decision` lookup go on.
    public func releaseDecisions() {
        state.withLock { $0.heldDecisionKeys = [] }
    }

    /// How many `decision` lookups are waiting now.
    public var heldDecisions: Int { state.withLock { $0.heldDecisions } }

    /// Makes `decisionSummary` lookups of these keys (and so the batch check, `decisionSummaries`) wait until
    /// ``releaseSummaries()``.
    public func holdSummaries(forKeys keys: Set<String>) {
        state.withLock { $0.heldSummaryKeys = keys }
    }

    /// Lets every held `decisionSummary` lookup go on.
    public func releaseSummaries() {
        state.withLock { $0.heldSummaryKeys = [] }
    }

    /// How many `decisionSummary` lookups are waiting now.
    public var heldSummaries: Int { state.withLock { $0.heldSummaries } }

    /// Waits while `key` is in the held set at `keys`, counted in `count` meanwhile.
    private func waitWhileHeld(
        _ key: String, _ keys: KeyPath<State, Set<String>>, counted count: WritableKeyPath<State, Int>
    ) async {
        guard state.withLock({ $0[keyPath: keys].contains(key) }) else { return }
        state.withLock { $0[keyPath: count] += 1 }
        while state.withLock({ $0[keyPath: keys].contains(key) }), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(1))
        }
        state.withLock { $0[keyPath: count] -= 1 }
    }

    /// The inbox rows still waiting for their outcome.
    public var inboxCount: Int { state.withLock { $0.inbox.count } }

    /// How many deliveries were ever appended to the inbox.
    public var inboxAppends: Int { state.withLock { $0.inboxAppends } }

    /// Every decision, oldest first.
    public var allDecisions: [StoredOutcome] {
        state.withLock { $0.decisions.values.sorted { $0.id < $1.id } }
    }

    public func record(_ request: RecordRequest) async throws(LedgerError) -> RecordResult {
        let now = self.now()
        let dedupe = self.dedupe
        return try state.withLock { state throws(LedgerError) -> RecordResult in
            if let failure = state.failure { throw failure }
            let outcome = request.outcome
            let key = Key(adapter: outcome.adapter, idempotencyKey: outcome.idempotencyKey)
            if let inboxID = request.inboxID { state.inbox[inboxID] = nil }
            state.claims[key] = nil
            if let existing = state.decisions[key], existing.outcome == outcome {
                return .recorded(id: existing.id)
            }
            if var existing = state.decisions[key],
                dedupe.isLive(adapter: key.adapter, recordedAt: existing.recordedAt, now: now)
            {
                existing.duplicates += 1
                state.decisions[key] = existing
                return .alreadyDecided(existing.outcome)
            }
            let id = state.makeID()
            state.decisions[key] = StoredOutcome(id: id, outcome: outcome, recordedAt: now)
            if let content = request.deadLetter {
                let letterID = state.makeID()
                state.deadLetters[letterID] = DeadLetter(id: letterID, outcome: outcome, content: content, createdAt: now)
            }
            return .recorded(id: id)
        }
    }

    public func decision(adapter: String, idempotencyKey: String) async throws(LedgerError) -> Outcome? {
        await waitWhileHeld(idempotencyKey, \.heldDecisionKeys, counted: \.heldDecisions)
        let now = self.now()
        return state.withLock { state in
            guard let stored = state.decisions[Key(adapter: adapter, idempotencyKey: idempotencyKey)],
                dedupe.isLive(adapter: adapter, recordedAt: stored.recordedAt, now: now)
            else { return nil }
            return stored.outcome
        }
    }

    public func decisionSummary(adapter: String, idempotencyKey: String) async throws(LedgerError) -> DecisionSummary? {
        await waitWhileHeld(idempotencyKey, \.heldSummaryKeys, counted: \.heldSummaries)
        let now = self.now()
        return state.withLock { state in
            guard let stored = state.decisions[Key(adapter: adapter, idempotencyKey: idempotencyKey)],
                dedupe.isLive(adapter: adapter, recordedAt: stored.recordedAt, now: now)
            else { return nil }
            return DecisionSummary(
                kind: stored.outcome.kind, reason: stored.outcome.reason, recordedAt: stored.recordedAt)
        }
    }

    public func claim(adapter: String, idempotencyKey: String, owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimResult
    {
        let now = self.now()
        let key = Key(adapter: adapter, idempotencyKey: idempotencyKey)
        return try state.withLock { state throws(LedgerError) -> ClaimResult in
            if let failure = state.failure { throw failure }
            if state.failingClaims > 0 {
                state.failingClaims -= 1
                throw .retryable("connection", "the shared ledger could not be reached")
            }
            if let stored = state.decisions[key],
                dedupe.isLive(adapter: adapter, recordedAt: stored.recordedAt, now: now)
            {
                return .decided(stored.outcome)
            }
            if let held = state.claims[key], held.owner != owner, held.until > now {
                return .held(by: held.owner, until: held.until)
            }
            let until = now.addingTimeInterval(duration.timeInterval)
            state.claims[key] = (owner, until)
            return .claimed(until: until)
        }
    }

    public func renewClaims(adapter: String, idempotencyKeys: [String], owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimRenewal
    {
        let until = now().addingTimeInterval(duration.timeInterval)
        return try state.withLock { state throws(LedgerError) -> ClaimRenewal in
            if let failure = state.failure { throw failure }
            var renewal = ClaimRenewal()
            for idempotencyKey in Set(idempotencyKeys) {
                let key = Key(adapter: adapter, idempotencyKey: idempotencyKey)
                guard let held = state.claims[key] else { continue }
                if held.owner == owner {
                    state.claims[key] = (owner, until)
                    renewal.renewed += 1
                } else {
                    renewal.lost[idempotencyKey] = held.owner
                }
            }
            return renewal
        }
    }

    public func release(adapter: String, idempotencyKey: String, owner: String) async throws(LedgerError) {
        state.withLock { state in
            let key = Key(adapter: adapter, idempotencyKey: idempotencyKey)
            if state.claims[key]?.owner == owner { state.claims[key] = nil }
        }
    }

    public func appendInbox(_ delivery: Delivery) async throws(LedgerError) -> Int64 {
        try state.withLock { state throws(LedgerError) -> Int64 in
            if let failure = state.failure { throw failure }
            let id = state.makeID()
            state.inbox[id] = delivery
            state.inboxAppends += 1
            return id
        }
    }

    public func inboxDepth() async throws(LedgerError) -> [String: Int] {
        state.withLock { state in
            var depth: [String: Int] = [:]
            for delivery in state.inbox.values { depth[delivery.adapter, default: 0] += 1 }
            return depth
        }
    }

    public func pendingInbox(after: Int64?, limit: Int) async throws(LedgerError) -> [InboxItem] {
        try state.withLock { state throws(LedgerError) in
            if state.failingInboxReads > 0 {
                state.failingInboxReads -= 1
                throw .retryable("unavailable", "the inbox cannot be read (injected)")
            }
            return state.inbox.filter { $0.key > (after ?? 0) }.sorted { $0.key < $1.key }.prefix(limit)
                .map { InboxItem(id: $0.key, delivery: $0.value) }
        }
    }

    public func deadLetters(_ query: DeadLetterQuery) async throws(LedgerError) -> [DeadLetter] {
        state.withLock { $0.deadLetterReads += 1 }
        while state.withLock({ $0.holdingDeadLetterReads }), !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        return state.withLock { state in
            Array(
                state.deadLetters.values.filter(query.matches)
                    .sorted { query.oldestFirst ? $0.id < $1.id : $0.id > $1.id }.prefix(query.limit))
        }
    }

    public func markRedriven(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        let now = self.now()
        try state.withLock { state throws(LedgerError) in
            if let failure = state.failure { throw failure }
            guard var letter = state.deadLetters[deadLetterID] else {
                throw .invalidRequest("not_found", "no dead letter \(deadLetterID)")
            }
            guard letter.redrivenAt == nil else {
                throw .invalidRequest("already_redriven", "dead letter \(deadLetterID) was already re-driven (another replay)")
            }
            letter.redrivenAt = now
            letter.redriveCount += 1
            state.deadLetters[deadLetterID] = letter
            // The letter's own decision gives way; a newer one (the key decided again after the letter) stays.
            let key = Key(adapter: outcome.adapter, idempotencyKey: outcome.idempotencyKey)
            if let current = state.decisions[key], current.recordedAt > letter.createdAt { return }
            state.decisions[key] = StoredOutcome(id: state.makeID(), outcome: outcome, recordedAt: now)
        }
    }

    public func keepReplayProgress(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError) {
        try state.withLock { state throws(LedgerError) in
            if let failure = state.failure { throw failure }
            guard var letter = state.deadLetters[deadLetterID], letter.redrivenAt == nil,
                letter.adapter == outcome.adapter, letter.idempotencyKey == outcome.idempotencyKey
            else { return }
            letter.outcome = outcome
            state.deadLetters[deadLetterID] = letter
        }
    }

    public func outcomes(_ query: OutcomeQuery) async throws(LedgerError) -> [StoredOutcome] {
        state.withLock { state in
            Array(state.decisions.values.filter(query.matches).sorted { $0.id > $1.id }.prefix(query.limit))
        }
    }

    public func pruneBatch(_ policy: RetentionPolicy, batchSize: Int) async throws(LedgerError) -> PruneResult {
        let now = self.now()
        return state.withLock { state in
            var result = PruneResult()
            let cutoff = policy.cutoff(now: now)
            var doomed = state.decisions.values.sorted { $0.id < $1.id }
            let over = policy.maxOutcomes.map { max(0, doomed.count - $0) } ?? 0
            doomed = Array(
                doomed.enumerated().filter { entry in
                    entry.offset < over || cutoff.map { entry.element.recordedAt < $0 } ?? false
                }.map(\.element).prefix(batchSize))
            for stored in doomed {
                state.decisions[Key(adapter: stored.outcome.adapter, idempotencyKey: stored.outcome.idempotencyKey)] = nil
            }
            result.outcomes = doomed.count
            if let cutoff {
                let letters = state.deadLetters.values.filter { $0.createdAt < cutoff }.prefix(batchSize)
                for letter in letters { state.deadLetters[letter.id] = nil }
                result.deadLetters = letters.count
            }
            let expired = state.claims.filter { $0.value.until <= now }.map(\.key)
            for key in expired { state.claims[key] = nil }
            result.claims = expired.count
            return result
        }
    }

    public func checkReadiness() async throws(LedgerError) {
        while state.withLock({ $0.holdingReadiness }) { try? await Task.sleep(for: .milliseconds(10)) }
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }
}
