import CSQLite
import Foundation
import SluiceCore
@testable import SluiceLedger
import Synchronization
import Testing

/// The idempotency check on the asking task's thread (``InlineReaders``): answered without the reader
/// threads, never waiting for a lock, and closed with the ledger. The ledgers here keep no decision in
/// memory (`decisionsInMemory: 0`), so that every check of a decided key probes the file.
@Suite struct SQLiteInlineReadTests {
    /// ``SQLiteLedgerTests/withLedger(_:_:)`` with `readers` reader threads and `inline` inline connections.
    func withLedger(readers: Int = 1, inline: Int, _ body: (SQLiteLedger) async throws -> Void) async throws {
        try await SQLiteLedgerTests().withLedger({
            $0.readers = readers
            $0.inlineReaders = inline
            $0.decisionsInMemory = 0
        }, body)
    }

    @Test func aCheckIsAnsweredWhileEveryReaderThreadIsBusy() async throws {
        try await withLedger(readers: 1, inline: 1) { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "decided", kind: .rejected, reason: .unknownTarget))
            // The only reader thread is held until the check has answered (or, should the check wait for
            // it, for two seconds).
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let released = Atomic<Bool>(false)
            let held = Task {
                try await ledger.read { _ in
                    started.signal()
                    if release.wait(timeout: .now() + 2) == .timedOut { released.store(true, ordering: .sequentiallyConsistent) }
                }
            }
            await onThread { started.wait() }
            let summary = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "decided")
            let many = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: ["decided", "new"])
            let answeredWhileHeld = !released.load(ordering: .sequentiallyConsistent)
            release.signal()
            try await held.value
            #expect(answeredWhileHeld, "the check waited for the reader thread")
            #expect(summary?.kind == .rejected)
            #expect(summary?.reason == .unknownTarget)
            #expect(many.keys.sorted() == ["decided"])
        }
    }

    /// In WAL mode a reader meets a lock only while another connection recovers the log or holds the file in
    /// exclusive locking mode, which the ledger's own connections prevent; the rule is tested on the pool.
    @Test func aProbeThatMeetsALockGivesItsConnectionBackForAReaderThread() throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("probe.sqlite").path
        let readers = InlineReaders([try SQLiteConnection(path: path, readOnly: false, create: true)])
        defer { readers.close() }
        let busy = readers.run { _ throws(SQLiteFailure) -> Int in throw SQLiteFailure(code: SQLITE_BUSY, message: "database is locked") }
        #expect(busy == nil, "a busy probe must go to a reader thread, not fail")
        let failed = readers.run { _ throws(SQLiteFailure) -> Int in throw SQLiteFailure(code: SQLITE_CORRUPT, message: "malformed") }
        guard case .failure(let failure) = failed else {
            Issue.record("another failure is the answer: \(String(describing: failed))")
            return
        }
        #expect(failure.primaryCode == SQLITE_CORRUPT)
        // The connection went back both times: the next probe runs.
        let answered = readers.run { connection throws(SQLiteFailure) in try connection.integer("SELECT 41 + 1") }
        guard case .success(let value) = answered else {
            Issue.record("the connection was not given back: \(String(describing: answered))")
            return
        }
        #expect(value == 42)
    }

    @Test func aProbeWithEveryConnectionLentGoesToAReaderThread() throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("probe.sqlite").path
        let readers = InlineReaders([try SQLiteConnection(path: path, readOnly: false, create: true)])
        defer { readers.close() }
        let nested = readers.run { _ throws(SQLiteFailure) in
            readers.run { _ throws(SQLiteFailure) in true }
        }
        guard case .success(let inner) = nested else {
            Issue.record("the outer probe did not run")
            return
        }
        #expect(inner == nil, "a second probe found a connection while the only one was lent")
    }

    @Test func checksOutnumberingTheConnectionsAreEachAnswered() async throws {
        try await withLedger(readers: 1, inline: 2) { ledger in
            for index in 0..<50 {
                _ = try await ledger.record(LedgerFixtures.outcome(key: "d\(index)", kind: .rejected, reason: OutcomeReason(rawValue: "r\(index)")))
            }
            let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
                for round in 0..<20 {
                    for index in 0..<50 {
                        group.addTask {
                            let decided = index % 2 == 0 ? "d\(index)" : "new-\(round)-\(index)"
                            if index % 3 == 0 {
                                let summary = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: [decided, "x\(index)"])
                                return summary.count == (index % 2 == 0 ? 1 : 0) && summary[decided].map { $0.reason?.rawValue == "r\(index)" } != false ? 0 : 1
                            }
                            let summary = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: decided)
                            return (summary?.reason?.rawValue == (index % 2 == 0 ? "r\(index)" : nil)) ? 0 : 1
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(wrong == 0)
        }
    }

    @Test func closeWaitsForRunningChecksAndClosesTheirConnections() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        for round in 0..<10 {
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, inlineReaders: 4, decisionsInMemory: 0))
            _ = try await ledger.record(LedgerFixtures.outcome(key: "k"))
            // Checks keep running on the inline connections until the ledger refuses them.
            let answered = Counter()
            let checking = (0..<4).map { _ in
                Task.detached {
                    while (try? await ledger.decisionSummary(adapter: "orders", idempotencyKey: "k")) != nil {
                        answered.value.add(1, ordering: .relaxed)
                        // An inline check never suspends: without a yield these loops would keep the
                        // cooperative pool's threads from the task that closes the ledger.
                        await Task.yield()
                    }
                }
            }
            while answered.value.load(ordering: .relaxed) < 100 { try await Task.sleep(for: .milliseconds(1)) }
            await ledger.close()
            try expectNoConnectionOpen(to: path, "round \(round)")
            for task in checking { await task.value }
            // Once closed, the ledger refuses checks instead of answering them from a connection it still had.
            await #expect(throws: LedgerError.self) { try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "k") }
        }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}
