import CSQLite
import Foundation
import SluiceCore
@testable import SluiceLedger
import Synchronization
import Testing

/// The stored decisions in memory (``DecisionMemo``): the check of a decided key answered without the file,
/// and never an answer the file would not give.
@Suite struct DecisionMemoTests {
    // MARK: - The table

    /// Random adds, replacements and removals against a dictionary, through growth and shrinking: every
    /// key present is found with its latest entry, every key removed is gone.
    @Test func theTableAgreesWithADictionary() {
        var table = DecisionTable(expecting: 0)
        var model: [DecisionMemo.Fingerprint: UInt64] = [:]
        var generator = SplitMix64(seed: 7)
        // Few distinct high words (each with several tags), spread as a hash spreads them: runs collide, and
        // removals shift slots back across them.
        func fingerprint() -> DecisionMemo.Fingerprint {
            var spread = SplitMix64(seed: generator.next() % 50_000)
            return DecisionMemo.Fingerprint(high: spread.next() | 1, tag: generator.next() & 0x3)
        }
        for round in 0..<200_000 {
            let key = fingerprint()
            let entry = key.tag << 52 | UInt64(round)
            switch generator.next() % 10 {
            case 0..<6:
                #expect(table.set(key, entry: entry) == model.updateValue(entry, forKey: key))
            case 6:
                let added = table.insertIfAbsent(key, entry: entry)
                #expect(added == (model[key] == nil))
                if added { model[key] = entry }
            default:
                #expect(table.remove(key) == model.removeValue(forKey: key))
            }
        }
        #expect(table.count == model.count)
        for (key, entry) in model { #expect(table.value(key) == entry) }
        // Emptied by removals, the table shrinks back, and still answers.
        for key in Array(model.keys) { #expect(table.remove(key) != nil) }
        #expect(table.count == 0)
        #expect(table.capacity == 1024)
        #expect(table.value(fingerprint()) == nil)
    }

    @Test func anEntryKeepsItsTimeOutcomeAndTag() {
        let fingerprint = DecisionMemo.Fingerprint(high: 99, tag: 0xABC)
        let recordedAt: Int64 = 1_767_225_600_123
        let entry = DecisionEntry(DecisionEntry.pack(fingerprint: fingerprint, code: 17, recordedAt: recordedAt))
        #expect(entry.tag == 0xABC && entry.code == 17 && entry.recordedAt == recordedAt)
        // A time the 44 bits cannot hold is kept as "ask the file".
        let far = DecisionEntry(DecisionEntry.pack(fingerprint: fingerprint, code: 17, recordedAt: -5))
        #expect(far.code == OutcomeCodes.askTheFile)
    }

    // MARK: - The memo

    /// A complete memo with `keys` of adapter `orders` set by the writer.
    func completeMemo(maximumKeys: Int = 1_000, keys: [String] = []) -> DecisionMemo {
        let memo = DecisionMemo(maximumKeys: maximumKeys, expectedKeys: 0)
        if let generation = memo.beginFill() { memo.completeFill(generation: generation) }
        for key in keys { memo.set(adapter: "orders", key: key, recordedAt: 1_000, kind: "accepted", reason: nil) }
        return memo
    }

    func answer(_ memo: DecisionMemo, _ key: String, now: Int64 = 2_000, window: Int64? = nil) -> DecisionMemo.Answer {
        memo.answer(adapter: "orders", key: key, now: now, window: window)
    }

    @Test func itAnswersOnlyOnceComplete() {
        let memo = DecisionMemo(maximumKeys: 1_000, expectedKeys: 0)
        memo.set(adapter: "orders", key: "k", recordedAt: 1_000, kind: "rejected", reason: "unknown_target")
        #expect(answer(memo, "k") == .unknown)
        guard let generation = memo.beginFill() else {
            Issue.record("an incomplete memo needs a scan")
            return
        }
        memo.fill(generation: generation, adapter: "orders", key: "k", recordedAt: 1_000, kind: "rejected", reason: "unknown_target")
        #expect(answer(memo, "k") == .unknown)
        memo.completeFill(generation: generation)
        #expect(answer(memo, "k") == .decided(DecisionSummary(kind: .rejected, reason: .unknownTarget, recordedAt: Date(timeIntervalSince1970: 1))))
        #expect(answer(memo, "never") == .absent)
        #expect(memo.answer(adapter: "other", key: "k", now: 2_000, window: nil) == .absent)
        #expect(memo.beginFill() == nil, "a complete memo needs no scan")
    }

    @Test func aDecisionPastTheWindowIsAbsent() {
        let memo = completeMemo(keys: ["k"])
        #expect(answer(memo, "k", now: 1_999, window: 1_000) != .absent)
        #expect(answer(memo, "k", now: 2_000, window: 1_000) == .absent)
    }

    /// A rolled-back transaction's changes are undone, newest first: an insert disappears, a removal comes
    /// back with the entry it removed, a replacement gives way to the entry it replaced.
    @Test func aRolledBackTransactionLeavesNoTrace() {
        let memo = completeMemo(keys: ["kept", "removed", "replaced"])
        let before = ["kept", "removed", "replaced", "new"].map { answer(memo, $0) }
        memo.beginChanges()
        memo.set(adapter: "orders", key: "new", recordedAt: 1_500, kind: "accepted", reason: nil)
        memo.remove(adapter: "orders", key: "removed")
        memo.remove(adapter: "orders", key: "replaced")
        memo.set(adapter: "orders", key: "replaced", recordedAt: 1_500, kind: "rejected", reason: "run_not_active")
        memo.set(adapter: "orders", key: "new", recordedAt: 1_600, kind: "duplicate", reason: nil)
        #expect(answer(memo, "removed") == .absent)
        memo.undoChanges()
        #expect(["kept", "removed", "replaced", "new"].map { answer(memo, $0) } == before)
        #expect(memo.count == 3)
        // A committed transaction's changes stay, and a later undo has nothing to undo.
        memo.beginChanges()
        memo.remove(adapter: "orders", key: "kept")
        memo.keepChanges()
        memo.undoChanges()
        #expect(answer(memo, "kept") == .absent)
    }

    /// While a scan fills the memo, the writer's changes win: the scan neither overwrites a decision the writer
    /// set nor brings back one it removed.
    @Test func theWritersChangesWinOverTheScan() {
        let memo = DecisionMemo(maximumKeys: 1_000, expectedKeys: 0)
        guard let generation = memo.beginFill() else {
            Issue.record("no scan")
            return
        }
        memo.set(adapter: "orders", key: "replaced", recordedAt: 5_000, kind: "accepted", reason: nil)
        memo.remove(adapter: "orders", key: "pruned")
        // The scan's snapshot is older than both changes.
        memo.fill(generation: generation, adapter: "orders", key: "replaced", recordedAt: 1_000, kind: "rejected", reason: nil)
        memo.fill(generation: generation, adapter: "orders", key: "pruned", recordedAt: 1_000, kind: "accepted", reason: nil)
        memo.fill(generation: generation, adapter: "orders", key: "stored", recordedAt: 1_000, kind: "accepted", reason: nil)
        memo.completeFill(generation: generation)
        #expect(answer(memo, "replaced", now: 6_000) == .decided(DecisionSummary(kind: .accepted, reason: nil, recordedAt: Date(timeIntervalSince1970: 5))))
        #expect(answer(memo, "pruned") == .absent)
        #expect(answer(memo, "stored") != .absent)
        #expect(memo.count == 2)
    }

    /// Past its maximum the memo empties itself and answers nothing (every check then asks the filter and the
    /// file) until a scan finds the stored keys fit.
    @Test func anOverfullMemoStepsAside() {
        let memo = completeMemo(maximumKeys: 3, keys: ["a", "b", "c"])
        #expect(answer(memo, "a") != .unknown)
        memo.set(adapter: "orders", key: "d", recordedAt: 1_000, kind: "accepted", reason: nil)
        #expect(memo.phase == .overfull)
        #expect(["a", "d", "never"].allSatisfy { answer(memo, $0) == .unknown })
        #expect(memo.count == 0)
        guard let generation = memo.beginFill() else {
            Issue.record("an overfull memo is filled again by the next scan")
            return
        }
        for key in ["a", "b"] { memo.fill(generation: generation, adapter: "orders", key: key, recordedAt: 1_000, kind: "accepted", reason: nil) }
        memo.completeFill(generation: generation)
        #expect(answer(memo, "a") != .absent && answer(memo, "c") == .absent)
    }

    /// A removal that rolls back while the scan runs must not keep the scan from adding the key, which is
    /// still stored.
    @Test func aRolledBackRemovalDuringTheScanDoesNotHideTheKey() {
        let memo = DecisionMemo(maximumKeys: 1_000, expectedKeys: 0)
        guard let generation = memo.beginFill() else {
            Issue.record("no scan")
            return
        }
        memo.beginChanges()
        memo.remove(adapter: "orders", key: "k")
        memo.undoChanges()
        memo.fill(generation: generation, adapter: "orders", key: "k", recordedAt: 1_000, kind: "accepted", reason: nil)
        memo.completeFill(generation: generation)
        #expect(answer(memo, "k") != .absent)
    }

    /// A scan that finds more decisions than the memo holds stops filling it: the tables stay small.
    @Test func aScanPastTheLimitStopsFilling() {
        let memo = DecisionMemo(maximumKeys: 3, expectedKeys: 0)
        guard let generation = memo.beginFill() else {
            Issue.record("no scan")
            return
        }
        for index in 0..<100 {
            memo.fill(generation: generation, adapter: "orders", key: "k\(index)", recordedAt: 1_000, kind: "accepted", reason: nil)
        }
        memo.completeFill(generation: generation)
        #expect(memo.phase == .overfull)
        #expect(memo.entriesHeld == 0)
        #expect(answer(memo, "k0") == .unknown)
    }

    @Test func moreOutcomeAndReasonPairsThanACodeHoldsAskTheFile() {
        let memo = completeMemo()
        for index in 0..<300 {
            memo.set(adapter: "orders", key: "k\(index)", recordedAt: 1_000, kind: "rejected", reason: "reason-\(index)")
        }
        #expect(answer(memo, "k0") == .decided(DecisionSummary(kind: .rejected, reason: "reason-0", recordedAt: Date(timeIntervalSince1970: 1))))
        #expect(answer(memo, "k299") == .unknown)
        #expect(answer(memo, "never") == .absent)
    }

    // MARK: - In the ledger

    /// Opens a ledger with one reader thread and no inline connection, waits until its decisions are in
    /// memory, and runs `body`; `holdingTheReader` blocks the reader thread while it runs, so that a check
    /// answered then was answered from memory.
    func withLedger(
        path: String? = nil, _ configure: (inout SQLiteLedgerConfiguration) -> Void = { _ in },
        _ body: (SQLiteLedger, _ holdingTheReader: (() async throws -> Void) async throws -> Void) async throws -> Void
    ) async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = SQLiteLedgerConfiguration(
            path: path ?? directory.appendingPathComponent("ledger.sqlite").path, readers: 1, inlineReaders: 0,
            dedupe: LedgerConformance.dedupe)
        configure(&configuration)
        let ledger = try await SQLiteLedger.open(configuration)
        let deadline = ContinuousClock.now + .seconds(10)
        while !ledger.areDecisionsInMemory, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(ledger.areDecisionsInMemory)
        func holdingTheReader(_ checks: () async throws -> Void) async throws {
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let waited = Atomic<Bool>(false)
            let held = Task { try await ledger.read { _ in
                started.signal()
                if release.wait(timeout: .now() + 2) == .timedOut { waited.store(true, ordering: .sequentiallyConsistent) }
            } }
            await onThread { started.wait() }
            defer { release.signal() }
            try await checks()
            release.signal()
            try await held.value
            let answeredWhileHeld = !waited.load(ordering: .sequentiallyConsistent)
            #expect(answeredWhileHeld, "a check waited for the reader thread")
        }
        do {
            try await body(ledger, holdingTheReader)
        } catch {
            await ledger.close()
            throw error
        }
        await ledger.close()
    }

    /// Decisions stored before the ledger opened, and recorded since, are answered without the file.
    @Test func decidedKeysAreAnsweredFromMemory() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let first = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        for index in 0..<300 { _ = try await first.record(LedgerFixtures.outcome(key: "stored-\(index)", kind: .rejected, reason: .unknownTarget)) }
        await first.close()
        try await withLedger(path: path) { ledger, holdingTheReader in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "fresh"))
            try await holdingTheReader { () async throws in
                let stored = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: (0..<300).map { "stored-\($0)" } + ["never"])
                #expect(stored.count == 300 && stored.values.allSatisfy { $0.kind == .rejected && $0.reason == .unknownTarget })
                #expect(try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "fresh")?.kind == .accepted)
                #expect(try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "never") == nil)
            }
        }
    }

    /// Pruned decisions leave the memo with the rows: a check of a pruned key, answered from memory, finds
    /// it gone (a memo that kept it would drop the key's next event as a duplicate of nothing).
    @Test func prunedDecisionsLeaveTheMemo() async throws {
        try await withLedger { ledger, holdingTheReader in
            for index in 0..<10 { _ = try await ledger.record(LedgerFixtures.outcome(key: "k\(index)")) }
            let pruned = try await ledger.prune(RetentionPolicy(maxOutcomes: 4))
            #expect(pruned.outcomes == 6)
            try await holdingTheReader { () async throws in
                let found = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: (0..<10).map { "k\($0)" })
                #expect(found.keys.sorted() == ["k6", "k7", "k8", "k9"])
            }
        }
    }

    /// A transaction that rolls back takes its decisions out of the memo again.
    @Test func aRolledBackInsertLeavesTheMemo() async throws {
        try await withLedger { ledger, holdingTheReader in
            let keys = ledger.decidedKeys
            let row = LedgerCoding.Row(LedgerFixtures.outcome(key: "rolled-back"))
            let now = ledger.now
            await #expect(throws: LedgerError.self) {
                try await ledger.write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
                    _ = try SQLiteLedger.insert(row, at: now, on: connection, noting: keys)
                    throw SQLiteFailure(code: SQLITE_IOERR, message: "the disk went away")
                }
            }
            try await holdingTheReader { () async throws in
                #expect(try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "rolled-back") == nil)
            }
            #expect(try await ledger.outcomes(OutcomeQuery(idempotencyKey: "rolled-back")).isEmpty)
        }
    }

    /// A decision past its adapter's window is replaced by the next one; the memo follows.
    @Test func aReplacedDecisionIsAnsweredWithTheNewOne() async throws {
        let clock = TestClock()
        try await withLedger({ $0.now = clock.now }) { ledger, holdingTheReader in
            _ = try await ledger.record(LedgerFixtures.outcome(adapter: "windowed", key: "w", kind: .rejected, reason: .unknownTarget))
            clock.advance(.seconds(61))
            try await holdingTheReader { () async throws in
                #expect(try await ledger.decisionSummary(adapter: "windowed", idempotencyKey: "w") == nil)
            }
            _ = try await ledger.record(LedgerFixtures.outcome(adapter: "windowed", key: "w"))
            try await holdingTheReader { () async throws in
                #expect(try await ledger.decisionSummary(adapter: "windowed", idempotencyKey: "w")?.kind == .accepted)
            }
        }
    }

    /// `sluice replay` gives the newest decision way to its own in another process: SQLite hands the deleted
    /// row's id to the new one, and the writer's look at other processes' rows must still see it.
    @Test func aReplayThatReusesTheNewestIdReachesTheMemo() async throws {
        try await withLedger { ledger, _ in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "k"))
            let deadline = ContinuousClock.now + .seconds(5)
            while ledger.keyScanner.lastSeenID < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(ledger.keyScanner.lastSeenID == 1)
            let other = try SQLiteConnection(path: ledger.configuration.path, readOnly: false, create: false)
            other.setBusyTimeout(milliseconds: 5_000)
            try other.execute(
                """
                BEGIN;
                DELETE FROM outcomes WHERE id = 1;
                INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
                VALUES ('orders', 'k', 'rejected', 'unknown_target', NULL, 'orders-0-1', 1767225600000, '{}');
                COMMIT;
                """)
            #expect(try other.integer("SELECT id FROM outcomes WHERE idempotency_key = 'k'") == 1)
            var seen: DecisionSummary?
            while ContinuousClock.now < deadline + .seconds(5) {
                seen = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "k")
                if seen?.kind == .rejected { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(seen?.kind == .rejected && seen?.reason == .unknownTarget)
        }
    }

    /// Past `decisionsInMemory` the check reads the file again, with the same answers.
    @Test func moreDecisionsThanTheMemoHoldsAreReadFromTheFile() async throws {
        try await withLedger({ $0.decisionsInMemory = 5 }) { ledger, _ in
            for index in 0..<8 { _ = try await ledger.record(LedgerFixtures.outcome(key: "k\(index)")) }
            #expect(!ledger.areDecisionsInMemory)
            let found = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: (0..<10).map { "k\($0)" })
            #expect(found.count == 8)
        }
    }

    /// A closed ledger answers no check from memory, as its file would not.
    @Test func aClosedLedgerAnswersNoCheck() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: directory.appendingPathComponent("l.sqlite").path))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "k"))
        await ledger.close()
        await #expect(throws: LedgerError.self) { try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "k") }
        await #expect(throws: LedgerError.self) { try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: ["k"]) }
    }
}
