import Foundation
import SluiceCore
@testable import SluiceLedger
import Testing

/// The in-memory filter in front of the SQLite idempotency check: it may only ever save a query, never
/// hide a stored decision.
@Suite struct DecidedKeyFilterTests {
    @Test func neverForgetsAKeyAndRarelyInventsOne() {
        let filter = DecidedKeyFilter(capacity: 50_000)
        filter.markComplete()
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
        filter.markComplete()
        for index in 0..<300_000 { filter.insert(adapter: "a", key: "\(index)") }
        #expect((0..<300_000).allSatisfy { filter.mightContain(adapter: "a", key: "\($0)") })
        let falsePositives = (0..<100_000).count { filter.mightContain(adapter: "a", key: "n\($0)") }
        #expect(falsePositives < 4_000, "\(falsePositives) of 100,000")
    }

    @Test func untilTheStartUpScanCompletesEveryKeyMayBeDecided() {
        let filter = DecidedKeyFilter(capacity: 10)
        #expect(filter.mightContain(adapter: "orders", key: "never-seen"))
        filter.markComplete()
        #expect(!filter.mightContain(adapter: "orders", key: "never-seen"))
    }

    /// Keys stored by an earlier run are found after the start-up scan, and new keys are answered without a
    /// query once it is complete.
    @Test func theStartUpScanAddsEveryStoredKey() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let first = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        for index in 0..<500 { _ = try await first.record(LedgerFixtures.outcome(key: "stored-\(index)")) }
        await first.close()

        let second = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        let deadline = ContinuousClock.now + .seconds(10)
        while !second.decidedKeys.isComplete, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(second.decidedKeys.isComplete)
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
