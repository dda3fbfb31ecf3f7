import Foundation
import SluiceCore
@testable import SluiceLedger
import Testing

/// The SQLite ledger, on files in temporary directories.
@Suite struct SQLiteLedgerTests {
    let clock = TestClock()

    /// Runs `body` with a fresh ledger, closed afterwards.
    func withLedger(
        _ configure: (inout SQLiteLedgerConfiguration) -> Void = { _ in },
        _ body: (SQLiteLedger) async throws -> Void
    ) async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = SQLiteLedgerConfiguration(
            path: directory.appendingPathComponent("ledger.sqlite").path, dedupe: LedgerConformance.dedupe, now: clock.now)
        configure(&configuration)
        let ledger = try await SQLiteLedger.open(configuration)
        // The checks of the shared conformance tests are then answered from memory, as in production.
        let deadline = ContinuousClock.now + .seconds(10)
        while configuration.decisionsInMemory > 0, !ledger.areDecisionsInMemory, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(2))
        }
        do {
            try await body(ledger)
        } catch {
            await ledger.close()
            throw error
        }
        await ledger.close()
    }

    @Test func recordsOneDecisionPerKey() async throws { try await withLedger { try await LedgerConformance.recordsOneDecisionPerKey($0) } }
    @Test func batches() async throws { try await withLedger { try await LedgerConformance.batchesRecordEachRequestAsAlone($0) } }
    @Test func racingWorkers() async throws {
        try await withLedger { try await LedgerConformance.racingWorkersProduceOneDecisionPerKey($0, keys: 100, workers: 16) }
    }
    @Test func claims() async throws { try await withLedger { try await LedgerConformance.claimsExcludeOtherWorkersUntilTheyExpire($0, clock: clock) } }
    @Test func claimRenewal() async throws { try await withLedger { try await LedgerConformance.ownersRenewTheirClaimsOnly($0, clock: clock) } }
    @Test func inbox() async throws { try await withLedger { try await LedgerConformance.inboxRowsLeaveWithTheirOutcome($0) } }
    @Test func deadLetters() async throws { try await withLedger { try await LedgerConformance.deadLettersAreKeptAndRedriven($0) } }
    @Test func deepDeadLetters() async throws { try await withLedger { try await LedgerConformance.deadLettersKeepTheDeepestBodies($0) } }
    @Test func dedupeWindows() async throws { try await withLedger { try await LedgerConformance.dedupeWindowsExpire($0, clock: clock) } }
    @Test func aRedriveKeepsANewerDecision() async throws { try await withLedger { try await LedgerConformance.aRedriveKeepsANewerDecision($0, clock: clock) } }
    @Test func retriedPastItsWindow() async throws { try await withLedger { try await LedgerConformance.theSameOutcomeAgainPastItsWindowIsTheSameDecision($0, clock: clock) } }
    @Test func queries() async throws { try await withLedger { try await LedgerConformance.queriesFilter($0, clock: clock) } }
    @Test func retention() async throws { try await withLedger { try await LedgerConformance.retentionPrunesInBatches($0, clock: clock) } }

    /// Marking a letter re-driven matches its key, not only its id: retention may prune the letter while its replay
    /// runs, and SQLite gives the next letter the id of a deleted newest one.
    @Test func aRedriveNeverMarksAnotherLetterThatTookTheSameID() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(
                RecordRequest(
                    outcome: LedgerFixtures.outcome(key: "first", kind: .rejected, reason: .unknownTarget),
                    deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: "first")])))
            let replayed = try #require(try await ledger.deadLetters(DeadLetterQuery()).first)
            clock.advance(.seconds(3_600))
            #expect(try await ledger.prune(RetentionPolicy(maxAge: .seconds(60))).deadLetters == 1)
            _ = try await ledger.record(
                RecordRequest(
                    outcome: LedgerFixtures.outcome(key: "second", kind: .rejected, reason: .unknownTarget),
                    deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: "second")])))
            let next = try #require(try await ledger.deadLetters(DeadLetterQuery()).first)
            #expect(next.id == replayed.id, "SQLite reuses the deleted newest id (the case this test is about)")
            let refused = await #expect(throws: LedgerError.self) {
                try await ledger.markRedriven(deadLetterID: replayed.id, outcome: LedgerFixtures.outcome(key: "first"))
            }
            #expect(refused?.reason == "not_found")
            #expect(try await ledger.deadLetters(DeadLetterQuery()).map(\.idempotencyKey) == ["second"])
        }
    }

    /// A batch size of 0 is taken as 1: the loop ends (it never returned before, even on an empty ledger).
    @Test func pruningWithABatchSizeOfZeroEnds() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "a"))
            _ = try await ledger.record(LedgerFixtures.outcome(key: "b"))
            clock.advance(.seconds(3_600))
            #expect(try await ledger.prune(RetentionPolicy(maxAge: .seconds(60)), batchSize: 0).outcomes == 1)
        }
    }

    @Test func concurrentWritesShareTransactions() async throws {
        try await withLedger { ledger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<2000 {
                    group.addTask { _ = try await ledger.record(LedgerFixtures.outcome(key: "g\(index)")) }
                }
                try await group.waitForAll()
            }
            #expect(try await ledger.outcomes(OutcomeQuery(limit: 5000)).count == 2000)
        }
    }

    /// The checkpoint thread copies the log into the database file while writes go on, and the writer
    /// finishes each copy, so that the log starts over instead of growing with every write.
    @Test func checkpointsKeepTheLogSmallWhileWritesGoOn() async throws {
        let pages = 32
        try await withLedger({ $0.checkpointPages = pages }) { ledger in
            let path = ledger.configuration.path
            var largestLog: Int64 = 0
            for wave in 0..<30 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<200 {
                        group.addTask { _ = try await ledger.record(LedgerFixtures.outcome(key: "c\(wave)-\(index)")) }
                    }
                    try await group.waitForAll()
                }
                largestLog = max(largestLog, try Self.fileSize(path + "-wal"))
            }
            // Without checkpoints the log holds every page written: 45 MB here. With them it peaks at a
            // few times the threshold: the writer goes on committing during each copy, and on a loaded
            // machine (CI) the checkpoint thread may wait for a core, so a copy can see the log reach
            // 28 times the threshold (7.5 MB); the bound is a quarter of the log without checkpoints. A
            // frame is a page plus its 24-byte header.
            let database = try Self.fileSize(path)
            #expect(database > 4 << 20, "the outcomes did not reach the database file (\(database) bytes)")
            let frameBytes = SQLiteSchema.newFilePageSize + 24
            #expect(largestLog < Int64(48 * pages * frameBytes), "the log grew to \(largestLog) bytes")
            #expect(try await ledger.outcomes(OutcomeQuery(limit: 10_000)).count == 6000)
        }
    }

    /// A ledger opened with `checkpoints: false` (the command-line tools, beside a running server) never copies
    /// the log into the database file, past any threshold: every page it wrote is still in the log, none copied.
    @Test func aLedgerWithoutCheckpointsLeavesTheLogToOthers() async throws {
        let pages = 32
        try await withLedger({ $0.checkpointPages = pages; $0.checkpoints = false }) { ledger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<2000 {
                    group.addTask { _ = try await ledger.record(LedgerFixtures.outcome(key: "n\(index)")) }
                }
                try await group.waitForAll()
            }
            let observer = try SQLiteConnection(path: ledger.configuration.path, readOnly: false, create: false)
            observer.setBusyTimeout(milliseconds: 5_000)
            try observer.execute("SELECT count(*) FROM sqlite_master")  // opens the file, in WAL mode
            // The log was never started over (it is, after every copy): it still holds every page written, far past
            // the threshold. Another connection's checkpoint reports its size, and copies it.
            var observed = try? observer.checkpoint()
            let deadline = ContinuousClock.now + .seconds(5)
            while observed == nil, ContinuousClock.now < deadline {  // busy while another checkpoint runs
                try await Task.sleep(for: .milliseconds(20))
                observed = try? observer.checkpoint()
            }
            let log = try #require(observed)
            #expect(log.logFrames > 8 * pages, "the log was started over (\(log.logFrames) frames)")
            #expect(log.copiedFrames == log.logFrames)
            #expect(try await ledger.outcomes(OutcomeQuery(limit: 5000)).count == 2000)
        }
    }

    static func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Text is bound with its length: keys that differ only after a NUL are different keys, and an
    /// empty key is empty text, not NULL.
    @Test func keysAreBoundWholeNotAsCStrings() async throws {
        try await withLedger { ledger in
            let keys = ["k", "k\u{0}a", "k\u{0}b", "", "kk-long-enough-not-to-be-a-small-string\u{0}x"]
            for key in keys {
                guard case .recorded = try await ledger.record(LedgerFixtures.outcome(key: key)) else {
                    Issue.record("\(key.debugDescription) was not recorded as a new key")
                    return
                }
            }
            for key in keys {
                #expect(try await ledger.decision(adapter: "orders", idempotencyKey: key)?.idempotencyKey == key)
            }
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "kk-long-enough-not-to-be-a-small-string") == nil)
        }
    }

    @Test func decisionsSurviveReopening() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let outcome = LedgerFixtures.outcome(key: "r1")
        let first = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        _ = try await first.record(outcome)
        let inboxID = try await first.appendInbox(LedgerFixtures.delivery())
        await first.close()
        let second = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        #expect(try await second.decision(adapter: "orders", idempotencyKey: "r1") == outcome)
        #expect(try await second.pendingInbox(after: nil, limit: 10).map(\.id) == [inboxID])
        await second.close()
    }

    // MARK: - Bad input

    /// A receive time from a Kafka record's header near `Int64.max` milliseconds, an id and a time edited into the file
    /// by hand: each trapped (a crash at every restart, since the record is read again) or sized memory by the id.
    @Test func datesFromOutsideAndRowsEditedByHandDoNotCrash() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let first = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, dedupe: LedgerConformance.dedupe))
        var far = LedgerFixtures.delivery()
        far.receivedAt = Date(timeIntervalSince1970: 9.3e15)
        let rejected = LedgerFixtures.outcome(key: "far", kind: .rejected, reason: .unmatched)
        let result = try await first.record(
            RecordRequest(outcome: rejected, deadLetter: DeadLetterContent(commands: [], delivery: far)))
        guard case .recorded = result else { Issue.record("not recorded: \(result)"); return }
        await first.close()
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
            try connection.execute(
                "INSERT INTO outcomes (id, adapter, idempotency_key, outcome, source_position, recorded_at, body) "
                    + "VALUES (9000000000000000000, 'windowed', 'old', 'accepted', 'none', -9223372036854775808, '{}')")
        }
        let second = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(path: path, createFile: false, dedupe: LedgerConformance.dedupe))
        // Recorded "before the epoch's beginning": past any dedupe window.
        #expect(try await second.decision(adapter: "windowed", idempotencyKey: "old") == nil)
        await second.close()
    }

    /// One write of a batch that fails (its key's stored decision cannot be read) fails alone: the others commit.
    @Test func aFailingWriteOfABatchFailsAlone() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let first = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        _ = try await first.record(LedgerFixtures.outcome(key: "broken"))
        await first.close()
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
            try connection.execute("UPDATE outcomes SET body = 'not json' WHERE idempotency_key = 'broken'")
        }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        let results = await ledger.record(batch: [
            RecordRequest(outcome: LedgerFixtures.outcome(key: "before")),
            RecordRequest(outcome: LedgerFixtures.outcome(key: "broken", note: "again")),
            RecordRequest(outcome: LedgerFixtures.outcome(key: "after")),
        ])
        #expect(results.count == 3)
        if case .success(.recorded) = results.first {} else { Issue.record("before: \(String(describing: results.first))") }
        if case .failure(let error) = results.dropFirst().first {
            #expect(error.detail.contains("cannot be read"))
        } else {
            Issue.record("the unreadable decision did not fail its write: \(String(describing: results.dropFirst().first))")
        }
        if case .success(.recorded) = results.last {} else { Issue.record("after: \(String(describing: results.last))") }
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "after") != nil)
        await ledger.close()
    }

    @Test func aMissingDirectoryIsAClearError() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("no/such/dir/ledger.sqlite").path
        let error = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)) }
        #expect(error?.reason == "missing_directory")
        #expect(error?.description.contains(directory.appendingPathComponent("no/such/dir").path) == true)
        // Unless asked to create it.
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createDirectory: true))
        await ledger.close()
    }

    @Test func aCorruptFileIsAClearError() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)) }
        #expect(error?.reason == "corrupt")
        #expect(error?.kind == .fatal)
        #expect(error?.description.contains(path) == true)
    }

    @Test func aDirectoryInPlaceOfTheFileIsAClearError() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = await #expect(throws: LedgerError.self) {
            try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: directory.path))
        }
        #expect(error?.reason == "cannot_open")
    }

    @Test func aMissingLedgerIsNotCreatedWhenQuerying() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let error = await #expect(throws: LedgerError.self) {
            try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        }
        #expect(error?.reason == "not_found")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// Another program's database, with or without a `user_version` of its own (many set one for their migrations;
    /// Sluice sets its application id in the transaction of its first migration).
    @Test(arguments: [0, 2, 5])
    func anotherProgramsDatabaseIsRefused(userVersion: Int) async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("other.sqlite").path
        let other = try SQLiteConnection(path: path, readOnly: false, create: true)
        try other.execute("CREATE TABLE notes (text TEXT)")
        try other.execute("PRAGMA user_version = \(userVersion)")
        let error = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)) }
        #expect(error?.reason == "not_a_ledger")
        // Left as it was: not switched to WAL mode (the command-line tools open without migrating, too).
        var query = SQLiteLedgerConfiguration(path: path, createFile: false)
        query.migrates = false
        let readOnly = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(query) }
        #expect(readOnly?.reason == "not_a_ledger")
        let again = try SQLiteConnection(path: path, readOnly: true, create: false)
        let mode = try again.prepare("PRAGMA journal_mode")
        #expect(try mode.step() && mode.text(0)?.lowercased() == "delete")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// A version 1 ledger with a stored decision gains the check's covering index at start-up and keeps
    /// answering for its keys.
    @Test func aVersionOneLedgerIsMigrated() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let raw = try SQLiteConnection(path: path, readOnly: false, create: true)
        try raw.execute(SQLiteSchema.migrations[0].sql)
        try raw.execute("PRAGMA user_version = 1; PRAGMA application_id = \(SQLiteSchema.applicationID)")
        try raw.execute(
            """
            INSERT INTO outcomes (adapter, idempotency_key, outcome, reason, workflow_id, source_position, recorded_at, body)
            VALUES ('orders', 'old-1', 'rejected', 'workflow_not_found', NULL, 'orders-0-1', 1767225600000, '{}')
            """)
        let pageSize = try raw.integer("PRAGMA page_size")
        #expect(pageSize != Int64(SQLiteSchema.newFilePageSize))
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, createFile: false))
        #expect(try raw.integer("PRAGMA user_version") == SQLiteSchema.currentVersion)
        #expect(try raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'outcomes_decisions'") == 1)
        let summary = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "old-1")
        #expect(summary?.kind == .rejected && summary?.reason?.rawValue == "workflow_not_found")
        // SQLite fixes the page size when a file is created: an existing ledger keeps its own.
        #expect(try raw.integer("PRAGMA page_size") == pageSize)
        await ledger.close()
    }

    /// A new ledger file is created with 8 KiB pages (fewer pages, log frames and checkpoints per commit).
    @Test func aNewLedgerUsesEightKiBPages() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "k-1"))
            let raw = try SQLiteConnection(path: ledger.configuration.path, readOnly: true, create: false)
            #expect(try raw.integer("PRAGMA page_size") == Int64(SQLiteSchema.newFilePageSize))
        }
    }

    @Test func aNewerSchemaIsNeverDowngraded() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)).close()
        let raw = try SQLiteConnection(path: path, readOnly: false, create: false)
        raw.setBusyTimeout(milliseconds: 5000)
        try raw.execute("PRAGMA user_version = \(SQLiteSchema.currentVersion + 1)")
        let error = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path)) }
        #expect(error?.reason == "schema_too_new")
        #expect(error?.description.contains("never downgraded") == true)
        #expect(try raw.integer("PRAGMA user_version") == SQLiteSchema.currentVersion + 1)
    }

    /// The command-line tools open with `migrates: false`: they read a ledger of this binary's version, and refuse an
    /// older one instead of migrating a file a server may be using (and an empty file, which is no ledger).
    @Test func queriesCheckTheSchemaAndNeverMigrate() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        var query = SQLiteLedgerConfiguration(path: path, createFile: false, checkpoints: false)
        query.migrates = false
        _ = try SQLiteConnection(path: path, readOnly: false, create: true)
        let empty = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(query) }
        #expect(empty?.reason == "not_a_ledger", "\(String(describing: empty))")

        let server = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        _ = try await server.record(LedgerFixtures.outcome(key: "q-1"))
        await server.close()
        let reader = try await SQLiteLedger.open(query)
        #expect(try await reader.decision(adapter: "orders", idempotencyKey: "q-1") != nil)
        await reader.close()

        let raw = try SQLiteConnection(path: path, readOnly: false, create: false)
        raw.setBusyTimeout(milliseconds: 5000)
        try raw.execute("PRAGMA user_version = \(SQLiteSchema.currentVersion - 1)")
        let older = await #expect(throws: LedgerError.self) { try await SQLiteLedger.open(query) }
        #expect(older?.reason == "schema_too_old", "\(String(describing: older))")
        #expect(try raw.integer("PRAGMA user_version") == SQLiteSchema.currentVersion - 1)
    }

    /// A key decided already whose stored decision cannot be read (written by another version, damaged): the
    /// write fails, and its inbox row stays for the event's next delivery instead of leaving with no outcome.
    @Test func anUnreadableStoredDecisionKeepsTheInboxRow() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "unreadable"))
            let other = try SQLiteConnection(path: ledger.configuration.path, readOnly: false, create: false)
            try other.execute("UPDATE outcomes SET body = 'not json' WHERE idempotency_key = 'unreadable'")
            let inboxID = try await ledger.appendInbox(LedgerFixtures.delivery())
            var again = LedgerFixtures.outcome(key: "unreadable")
            again.message = "a second delivery"
            await #expect(throws: LedgerError.self) {
                try await ledger.record(RecordRequest(outcome: again, inboxID: inboxID))
            }
            #expect(try await ledger.pendingInbox(after: nil, limit: 10).map(\.id) == [inboxID])
            let duplicates = try other.statement("SELECT duplicates FROM outcomes WHERE idempotency_key = 'unreadable'")
            #expect(try duplicates.step())
            #expect(duplicates.int64(0) == 0, "the failed write counted a duplicate")
            duplicates.reset()
        }
    }

    @Test func aLockedDatabaseIsRetryableAndRecovers() async throws {
        try await withLedger({ $0.busyTimeout = .milliseconds(50) }) { ledger in
            // Another process (here: another connection) holds the write lock.
            let other = try SQLiteConnection(path: ledger.configuration.path, readOnly: false, create: false)
            try other.execute("BEGIN EXCLUSIVE")
            let error = await #expect(throws: LedgerError.self) { try await ledger.record(LedgerFixtures.outcome(key: "l1")) }
            #expect(error?.reason == "busy")
            #expect(error?.isRetryable == true)
            await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "l1") == nil)
            try other.execute("COMMIT")
            // Once the lock is gone the same write succeeds.
            guard case .recorded = try await ledger.record(LedgerFixtures.outcome(key: "l1")) else {
                Issue.record("the retried write was not recorded")
                return
            }
            try await ledger.checkReadiness()
        }
    }

    /// With `synchronous: full` the log flusher makes each commit durable before its callers resume; a
    /// log it cannot flush (here: deleted under the ledger) fails that write and every later one.
    @Test func aLogThatCannotBeFlushedStopsAcknowledgingWrites() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "f-1"))
            try FileManager.default.removeItem(atPath: ledger.configuration.path + "-wal")
            let error = await #expect(throws: LedgerError.self) { try await ledger.record(LedgerFixtures.outcome(key: "f-2")) }
            #expect(error?.reason == "flush_failed")
            #expect(error?.isRetryable == false)
            #expect(error?.description.contains("-wal") == true)
            // Sticky: a later flush could succeed without the pages the failed one lost.
            #expect(FileManager.default.createFile(atPath: ledger.configuration.path + "-wal", contents: Data()))
            let later = await #expect(throws: LedgerError.self) { try await ledger.record(LedgerFixtures.outcome(key: "f-3")) }
            #expect(later?.reason == "flush_failed")
            await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
            // Nothing more is committed, so nothing refused becomes visible, and reads no longer answer
            // "decided" from a decision that may not be on disk.
            let read = await #expect(throws: LedgerError.self) {
                try await ledger.decision(adapter: "orders", idempotencyKey: "f-2")
            }
            #expect(read?.reason == "flush_failed")
            await #expect(throws: LedgerError.self) { try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "f-1") }
        }
    }

    /// A log deleted under the ledger and made again at its path (a new connection, `sluice outcomes` say, makes a
    /// missing log) is not the file the writer writes to: flushing it would acknowledge writes that exist only in the
    /// deleted one, lost at the next start. The write is refused instead.
    @Test func aLogReplacedUnderTheLedgerStopsAcknowledgingWrites() async throws {
        try await withLedger { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "r-1"))
            let log = ledger.configuration.path + "-wal"
            try FileManager.default.removeItem(atPath: log)
            #expect(FileManager.default.createFile(atPath: log, contents: Data()))
            let error = await #expect(throws: LedgerError.self) { try await ledger.record(LedgerFixtures.outcome(key: "r-2")) }
            #expect(error?.reason == "flush_failed")
            #expect(error?.description.contains("was deleted or replaced") == true, "\(String(describing: error))")
            await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
        }
    }

    /// A checkpoint that cannot flush the database file (here: the file deleted under the ledger) stops the ledger
    /// as a failed log flush does, and the log is kept when the ledger closes: the frames it marked copied may
    /// not be on disk, and a restart copies the log again from its start.
    @Test func aDatabaseFileThatCannotBeFlushedStopsTheLedgerAndKeepsTheLog() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(path: path, checkpointPages: 1, now: clock.now))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "d-0"))
        try FileManager.default.removeItem(atPath: path)
        var refused: LedgerError?
        for index in 1...200 where refused == nil {
            do throws(LedgerError) {
                _ = try await ledger.record(LedgerFixtures.outcome(key: "d-\(index)"))
            } catch {
                refused = error
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(refused?.reason == "flush_failed", "\(String(describing: refused))")
        #expect(refused?.description.contains("ledger.sqlite") == true)
        await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
        await ledger.close()
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the log was checkpointed away on close")
    }

    /// A full disk fails every real write, but an empty transaction passes: readiness reports the writes' failure
    /// until one commits again. (The disk is "full" here through the writer's `max_page_count`.)
    @Test func aFullDiskMakesTheLedgerNotReadyUntilAWriteCommits() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(path: directory.appendingPathComponent("ledger.sqlite").path, now: clock.now))
        defer { Task { await ledger.close() } }
        try await ledger.checkReadiness()
        try await ledger.write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
            let pages = try connection.integer("PRAGMA page_count") ?? 1
            try connection.execute("PRAGMA max_page_count = \(pages)")
            return .success(())
        }
        var refused: LedgerError?
        for index in 0..<50 where refused == nil {
            do throws(LedgerError) {
                _ = try await ledger.record(LedgerFixtures.outcome(key: "full-\(index)", note: String(repeating: "x", count: 4_000)))
            } catch {
                refused = error
            }
        }
        #expect(refused?.reason == "full", "\(String(describing: refused))")
        let notReady = await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
        #expect(notReady?.reason == "full")
        // A transaction that writes nothing (readiness's own, batched with a refused write) commits on a full disk
        // too: it shows nothing.
        try await ledger.write { _ throws(SQLiteFailure) -> Result<Void, LedgerError> in .success(()) }
        let still = await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
        #expect(still?.reason == "full")
        try await ledger.write { connection throws(SQLiteFailure) -> Result<Void, LedgerError> in
            try connection.execute("PRAGMA max_page_count = 1073741823")
            return .success(())
        }
        _ = try await ledger.record(LedgerFixtures.outcome(key: "room-again"))
        try await ledger.checkReadiness()
    }

    /// A second close (a caller's cleanup path after the service's own) returns at once instead of waiting
    /// for ever on threads that stopped at the first.
    @Test(.timeLimit(.minutes(1))) func closingTwiceReturns() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(path: directory.appendingPathComponent("ledger.sqlite").path, now: clock.now))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "k"))
        await ledger.close()
        await ledger.close()
    }

    /// A database file deleted under the ledger takes writes through the open connections until the next
    /// checkpoint (thousands of pages), but a restart would start an empty ledger there: the next write is refused.
    @Test func aDeletedDatabaseFileRefusesTheNextWrite() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path, now: clock.now))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "kept"))
        try FileManager.default.removeItem(atPath: path)
        do {
            _ = try await ledger.record(LedgerFixtures.outcome(key: "lost"))
            Issue.record("a write was acknowledged into a deleted ledger")
        } catch {
            #expect(error.reason == "flush_failed")
            #expect(error.description.contains("was deleted or replaced"), "\(error)")
        }
        await #expect(throws: LedgerError.self) { try await ledger.checkReadiness() }
        await ledger.close()
    }

    /// Closing while writes are in flight: each is either durable and recorded or refused as closed,
    /// never failed by a flush that ran after the log was checkpointed away.
    @Test func closingWhileWritingFlushesTheLastCommits() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        for round in 0..<5 {
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
            let results = await withTaskGroup(of: String.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        do {
                            _ = try await ledger.record(LedgerFixtures.outcome(key: "c\(round)-\(index)"))
                            return "recorded"
                        } catch { return (error as? LedgerError)?.reason ?? "\(error)" }
                    }
                }
                await Task.yield()
                await ledger.close()
                var results: [String] = []
                for await result in group { results.append(result) }
                return results
            }
            #expect(Set(results).isSubset(of: ["recorded", "closed"]), "round \(round): \(Set(results))")
            // Everything reported recorded is there after reopening.
            let reopened = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
            let stored = try await reopened.outcomes(OutcomeQuery(limit: 10_000)).filter { $0.outcome.idempotencyKey.hasPrefix("c\(round)-") }
            #expect(stored.count == results.filter { $0 == "recorded" }.count)
            await reopened.close()
        }
    }

    /// SQLite names the log after the database's resolved path: through a symbolic link the log lies
    /// beside the target, and the flusher must flush that one.
    @Test func aLedgerReachedThroughASymbolicLinkIsFlushed() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: target.appendingPathComponent("ledger.sqlite").path)).close()
        let link = directory.appendingPathComponent("link.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.appendingPathComponent("ledger.sqlite").path)
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: link, createFile: false))
        guard case .recorded = try await ledger.record(LedgerFixtures.outcome(key: "s-1")) else {
            Issue.record("the write was not recorded")
            await ledger.close()
            return
        }
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("ledger.sqlite-wal").path))
        try await ledger.checkReadiness()
        await ledger.close()
    }

    /// `synchronous: normal` resumes callers at the commit, without the flusher.
    @Test func normalSynchronousWritesWithoutTheFlusher() async throws {
        try await withLedger({ $0.synchronous = .normal }) { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "n-1"))
            try FileManager.default.removeItem(atPath: ledger.configuration.path + "-wal")
            guard case .recorded = try await ledger.record(LedgerFixtures.outcome(key: "n-2")) else {
                Issue.record("the write was not recorded")
                return
            }
            try await ledger.checkReadiness()
        }
    }

    /// After `close()` returns no connection of the ledger is open: another program can take the file
    /// out of WAL mode, which SQLite refuses while any other connection is open. (The threads' connections
    /// used to close a moment after the threads reported that they had stopped.)
    @Test func closeReturnsWithEveryConnectionClosed() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        for round in 0..<30 {
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
            _ = try await ledger.record(LedgerFixtures.outcome(key: "k\(round)"))
            _ = try await ledger.decision(adapter: "orders", idempotencyKey: "k\(round)")
            await ledger.close()
            try expectNoConnectionOpen(to: path, "round \(round)")
        }
    }

    @Test func writesAfterCloseFail() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: directory.appendingPathComponent("l.sqlite").path))
        await ledger.close()
        let error = await #expect(throws: LedgerError.self) { try await ledger.record(LedgerFixtures.outcome(key: "x")) }
        #expect(error?.reason == "closed")
    }
}

/// Expects that no connection to the file at `path` is open: only then can another connection take it out of
/// WAL mode (it is put back in WAL mode afterwards).
func expectNoConnectionOpen(to path: String, _ context: String) throws {
    let other = try SQLiteConnection(path: path, readOnly: false, create: false)
    let select = try other.prepare("PRAGMA journal_mode = DELETE")
    #expect(try select.step())
    #expect(select.text(0) == "delete", "\(context): a connection of the closed ledger is still open")
    select.reset()
    let back = try other.prepare("PRAGMA journal_mode = WAL")
    _ = try back.step()
    back.reset()
}
