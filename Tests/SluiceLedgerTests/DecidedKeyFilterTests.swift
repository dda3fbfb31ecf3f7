import Foundation
import SluiceCore
@testable import SluiceLedger
import Testing

/// The in-memory filter in front of the SQLite idempotency check: it may only ever save a query, never
/// hide a stored decision.
@Suite struct DecidedKeyFilterTests {
    /// A ledger file in `directory` holding decisions for `keys`, closed again.
    func storedLedger(in directory: URL, keys: [String]) async throws -> String {
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        for key in keys { _ = try await ledger.record(LedgerFixtures.outcome(key: key)) }
        await ledger.close()
        return path
    }

    /// Waits (at most 10 s) for the background scan to complete `filter`.
    func scanCompletes(_ filter: DecidedKeyFilter) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while !filter.isComplete, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return filter.isComplete
    }

    @Test func neverForgetsAKeyAndRarelyInventsOne() {
        let filter = DecidedKeyFilter(capacity: 50_000)
        filter.markComplete(generation: filter.generation)
        for index in 0..<50_000 { filter.insert(adapter: "orders", key: "key-\(index)") }
        for index in 0..<50_000 { #expect(filter.mightContain(adapter: "orders", key: "key-\(index)")) }
        let falsePositives = (0..<50_000).count { filter.mightContain(adapter: "orders", key: "new-\($0)") }
        #expect(falsePositives < 1_000, "\(falsePositives) of 50,000 new keys reported as maybe decided (2 % allowed)")
        // The adapter is part of the key.
        let otherAdapter = (0..<10_000).count { filter.mightContain(adapter: "refunds", key: "key-\($0)") }
        #expect(otherAdapter < 200)
    }

    @Test func growsPastItsCapacityWithoutForgetting() {
        let filter = DecidedKeyFilter(capacity: 1_000)
        filter.markComplete(generation: filter.generation)
        for index in 0..<300_000 { filter.insert(adapter: "a", key: "\(index)") }
        #expect((0..<300_000).allSatisfy { filter.mightContain(adapter: "a", key: "\($0)") })
        let falsePositives = (0..<100_000).count { filter.mightContain(adapter: "a", key: "n\($0)") }
        #expect(falsePositives < 4_000, "\(falsePositives) of 100,000")
    }

    @Test func untilTheStartUpScanCompletesEveryKeyMayBeDecided() {
        let filter = DecidedKeyFilter(capacity: 10)
        #expect(filter.mightContain(adapter: "orders", key: "never-seen"))
        filter.markComplete(generation: filter.generation)
        #expect(!filter.mightContain(adapter: "orders", key: "never-seen"))
    }

    @Test func aResetWaitsForItsOwnScan() {
        let filter = DecidedKeyFilter(capacity: 10, minimumRebuildCount: 4)
        let first = filter.generation
        for index in 0..<3 { filter.insert(adapter: "a", key: "\(index)") }
        filter.markComplete(generation: first)
        #expect(filter.isComplete && !filter.rebuildNeeded.needed)
        for index in 3..<6 { filter.insert(adapter: "a", key: "\(index)") }
        #expect(filter.rebuildNeeded == (needed: true, keys: 6), "grown past max(2 × 3, 4)")
        let second = filter.reset(capacity: 6)
        #expect(!filter.isComplete && filter.mightContain(adapter: "a", key: "0"))
        filter.markComplete(generation: first)
        #expect(!filter.isComplete, "a scan of an earlier generation does not complete the new one")
        filter.markComplete(generation: second)
        #expect(filter.isComplete && !filter.mightContain(adapter: "a", key: "0"))
    }

    /// Pruned keys stay in a Bloom filter: once it has doubled, the writer empties it and a new scan fills it
    /// with the stored keys only.
    @Test func aRebuildKeepsTheStoredKeysAndDropsTheOthers() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try await storedLedger(in: directory, keys: (0..<200).map { "stored-\($0)" })
        let filter = DecidedKeyFilter(capacity: 1_000, minimumRebuildCount: 300)
        let scanner = DecidedKeyScanner(
            path: path, keys: DecidedKeys(filter: filter, memo: DecisionMemo(maximumKeys: 0, expectedKeys: 0)), storedBelow: 200)
        scanner.start()
        #expect(try await scanCompletes(filter))
        scanner.rebuildIfNeeded()
        #expect(filter.isComplete, "200 keys: no rebuild before 300")
        for index in 0..<300 { filter.insert(adapter: "orders", key: "pruned-\(index)") }
        scanner.rebuildIfNeeded()
        #expect(try await scanCompletes(filter))
        #expect((0..<200).allSatisfy { filter.mightContain(adapter: "orders", key: "stored-\($0)") })
        let kept = (0..<300).count { filter.mightContain(adapter: "orders", key: "pruned-\($0)") }
        #expect(kept < 30, "\(kept) of 300 keys that are not stored are still in the rebuilt filter")
        scanner.stop()
    }

    /// A decision another process writes into the file while the ledger is open (`sluice replay`, an observer
    /// process's own ledger) reaches the check: the writer thread sees the file's `data_version` change and
    /// adds the new rows, even while idle.
    @Test func decisionsWrittenByAnotherProcessReachTheCheck() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "own-1"))
        #expect(try await scanCompletes(ledger.decidedKeys.filter))
        #expect(try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "other-1") == nil)

        let seen = try await Self.decisionWrittenByAnotherConnection(
            key: "other-1", outcome: "rejected", reason: "'workflow_not_found'", path: path, seenBy: ledger)
        #expect(seen?.kind == .rejected)
        #expect(try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "own-1")?.kind == .accepted)
        await ledger.close()
    }

    /// Retention keeps the newest outcome, so that SQLite never hands its id out again: another process's
    /// decision then lands past the last id this ledger's filter saw, and reaches the check. (Before, pruning every
    /// row let the next insert reuse id 1, which the filter, reading only ids past the last it saw, never read.)
    @Test func aDecisionAfterRetentionPrunedEverythingOldStillReachesTheCheck() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let clock = TestClock()
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, now: clock.now))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "old-1"))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "old-2"))
        #expect(try await scanCompletes(ledger.decidedKeys.filter))
        // The writer's idle turns (every 100 ms) note the last id seen: 2.
        let deadline = ContinuousClock.now + .seconds(5)
        while ledger.keyScanner.lastSeenID < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(ledger.keyScanner.lastSeenID == 2)
        clock.advance(.seconds(3_600))
        let pruned = try await ledger.prune(RetentionPolicy(maxAge: .seconds(60)))
        #expect(pruned.outcomes == 1, "the newest outcome is kept, however old")
        #expect(try await ledger.outcomes(OutcomeQuery()).map(\.outcome.idempotencyKey) == ["old-2"])

        let seen = try await Self.decisionWrittenByAnotherConnection(
            key: "other-after-prune", outcome: "accepted", reason: "NULL", path: path, seenBy: ledger)
        #expect(seen?.kind == .accepted)
        await ledger.close()
    }

    /// Inserts a decision of adapter `orders` through a connection of its own (another process, as the ledger sees
    /// it), then asks `ledger` for it until it answers or 5 s have passed.
    static func decisionWrittenByAnotherConnection(
        key: String, outcome: String, reason: String, path: String, seenBy ledger: SQLiteLedger
    ) async throws -> DecisionSummary? {
        let other = try SQLiteConnection(path: path, readOnly: false, create: false)
        other.setBusyTimeout(milliseconds: 5_000)
        try other.execute(
            """
            INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            VALUES ('orders', '\(key)', '\(outcome)', \(reason), NULL, 'orders-0-9', 1767225600000, '{}')
            """)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let seen = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: key) { return seen }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await ledger.decisionSummary(adapter: "orders", idempotencyKey: key)
    }

    /// Keys stored by an earlier run are found after the start-up scan, and new keys are answered without a
    /// query once it is complete.
    @Test func theStartUpScanAddsEveryStoredKey() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try await storedLedger(in: directory, keys: (0..<500).map { "stored-\($0)" })
        let second = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        #expect(try await scanCompletes(second.decidedKeys.filter))
        let keys = (0..<500).map { "stored-\($0)" }
        let found = try await second.decisionSummaries(adapter: "orders", idempotencyKeys: keys + ["fresh-1", "fresh-2"])
        #expect(Set(found.keys) == Set(keys))
        // A key recorded now is seen at once, by the filter and by the check.
        _ = try await second.record(LedgerFixtures.outcome(key: "fresh-1"))
        #expect(try await second.decisionSummary(adapter: "orders", idempotencyKey: "fresh-1")?.kind == .accepted)
        #expect(try await second.decision(adapter: "orders", idempotencyKey: "fresh-2") == nil)
        await second.close()
    }
}
