import Foundation
import Logging
import PostgresNIO
import SluiceCore
import Synchronization
import Testing

@testable import SluiceLedger

/// The PostgreSQL ledger against a real server: a throw-away cluster started for this suite.
@Suite(.postgresCluster) struct PostgresLedgerTests {
    let clock = TestClock()

    static let logger: Logger = {
        var logger = Logger(label: "sluice.ledger.test")
        logger.logLevel = .critical
        return logger
    }()

    func configuration(database: String, password: String = PostgresCluster.password) throws -> PostgresLedgerConfiguration {
        let cluster = try #require(PostgresCluster.current)
        var configuration = PostgresLedgerConfiguration(
            port: cluster.port, username: PostgresCluster.username, password: password, database: database,
            dedupe: LedgerConformance.dedupe, now: clock.now)
        // The conformance tests move time by hand, claims' expiry included.
        configuration.claimClock = .local
        return configuration
    }

    /// Runs `body` with a ledger on a fresh database.
    func withLedger(_ body: (PostgresLedger) async throws -> Void) async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        try await PostgresLedger.withLedger(try configuration(database: database), logger: Self.logger, body)
    }

    @Test func recordsOneDecisionPerKey() async throws { try await withLedger { try await LedgerConformance.recordsOneDecisionPerKey($0) } }
    @Test func batches() async throws { try await withLedger { try await LedgerConformance.batchesRecordEachRequestAsAlone($0) } }
    @Test func racingWorkers() async throws {
        try await withLedger { try await LedgerConformance.racingWorkersProduceOneDecisionPerKey($0, keys: 60, workers: 8) }
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

    /// Claims are measured by the database server's clock (the default), not the replicas': a replica whose clock
    /// runs an hour ahead neither takes nor prunes another's live claim, and a claim still ends once its time has
    /// passed on the server.
    @Test func claimsFollowTheDatabaseClockNotTheReplicas() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        var honest = try configuration(database: database)
        honest.claimClock = .database
        honest.now = { Date() }
        var ahead = honest
        ahead.now = { Date().addingTimeInterval(3_600) }
        try await PostgresLedger.withLedger(honest, logger: Self.logger) { first in
            try await PostgresLedger.withLedger(ahead, logger: Self.logger) { second in
                let claim = try await first.claim(adapter: "orders", idempotencyKey: "k1", owner: "a", for: .seconds(300))
                guard case .claimed(let until) = claim else {
                    Issue.record("not claimed: \(claim)")
                    return
                }
                #expect(abs(until.timeIntervalSinceNow - 300) < 60, "the server's clock, not an hour ahead: \(until)")
                let other = try await second.claim(adapter: "orders", idempotencyKey: "k1", owner: "b", for: .seconds(300))
                guard case .held(by: "a", let heldUntil) = other else {
                    Issue.record("the replica ahead took a live claim: \(other)")
                    return
                }
                // On the replica's own clock, the claim ends as far ahead as it does on the server's.
                let remaining = heldUntil.timeIntervalSince(Date().addingTimeInterval(3_600))
                #expect(remaining > 240 && remaining <= 300, "\(remaining) s left on the replica's clock")
                #expect(try await second.pruneBatch(RetentionPolicy(), batchSize: 100).claims == 0)

                // A short claim ends by the server's clock, and its owner then finds it lost.
                _ = try await first.claim(adapter: "orders", idempotencyKey: "k2", owner: "a", for: .milliseconds(200))
                try await Task.sleep(for: .milliseconds(500))
                let taken = try await second.claim(adapter: "orders", idempotencyKey: "k2", owner: "b", for: .seconds(300))
                guard case .claimed = taken else {
                    Issue.record("an ended claim was not taken: \(taken)")
                    return
                }
                let renewal = try await first.renewClaims(adapter: "orders", idempotencyKeys: ["k1", "k2"], owner: "a", for: .seconds(300))
                #expect(renewal.renewed == 1)
                #expect(renewal.lost == ["k2": "b"])
            }
        }
    }

    /// Two replicas (two ledgers, two pools) race on the same keys: one decision per key, and both
    /// replicas see the same one.
    @Test func replicasRacingOnOneKeyStoreOneDecision() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        let configuration = try configuration(database: database)
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { first in
            try await PostgresLedger.withLedger(configuration, logger: Self.logger) { second in
                let keys = 200
                let answers = try await withThrowingTaskGroup(of: (String, Outcome).self) { group in
                    for index in 0..<keys {
                        for (replica, ledger) in [("a", first), ("b", second)] {
                            group.addTask {
                                let mine = LedgerFixtures.outcome(key: "k\(index)", note: "replica \(replica)")
                                return ("k\(index)", try await ledger.record(mine).decision(given: mine))
                            }
                        }
                    }
                    var answers: [String: Set<Outcome>] = [:]
                    for try await (key, outcome) in group { answers[key, default: []].insert(outcome) }
                    return answers
                }
                for index in 0..<keys {
                    #expect(answers["k\(index)"]?.count == 1, "replicas disagree on k\(index)")
                }
                let stored = try await first.outcomes(OutcomeQuery(limit: 10_000))
                #expect(stored.count == keys)
                #expect(stored.reduce(0) { $0 + $1.duplicates } == keys)
                let counted = try await cluster.psql(
                    "SELECT count(*) FROM (SELECT 1 FROM sluice_outcomes GROUP BY adapter, idempotency_key HAVING count(*) > 1) d",
                    database: database)
                #expect(counted.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            }
        }
    }

    /// Replicas starting together on a fresh database: the migration runs once, under an advisory lock,
    /// and none of them fails in the catalog race of `CREATE TABLE`.
    @Test func replicasStartingTogetherOnAFreshDatabaseAllStart() async throws {
        let cluster = try #require(PostgresCluster.current)
        for _ in 0..<3 {
            let configuration = try configuration(database: try await cluster.makeDatabase())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in 0..<6 {
                    group.addTask {
                        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
                            _ = try await ledger.record(LedgerFixtures.outcome(key: "k", note: "replica \(replica)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Every session bounds lock waits and idle transactions, so that a frozen replica's locks cannot
    /// hold this one's writes (and its shutdown) for the hours a TCP keepalive takes.
    @Test func sessionsBoundLockWaitsAndIdleTransactions() async throws {
        try await withLedger { ledger in
            var settings: [String: String] = [:]
            try await ledger.client.withConnection { connection in
                for name in ["lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout"] {
                    for try await value in try await connection.query(PostgresQuery(unsafeSQL: "SHOW \(name)"), logger: Self.logger)
                        .decode(String.self)
                    {
                        settings[name] = value
                    }
                }
            }
            #expect(settings == ["lock_timeout": "10s", "statement_timeout": "1min", "idle_in_transaction_session_timeout": "1min"])
        }
    }

    @Test func aWrongPasswordIsAClearError() async throws {
        let cluster = try #require(PostgresCluster.current)
        let configuration = try configuration(database: "postgres", password: "not-the-password")
        let error = await #expect(throws: LedgerError.self) { try await PostgresLedger.connect(configuration, logger: Self.logger) }
        #expect(error?.reason == "authentication")
        #expect(error?.kind == .fatal)
        #expect(error?.description.contains("127.0.0.1:\(cluster.port)") == true)
        #expect(error?.description.contains("not-the-password") == false)
    }

    @Test func aServerThatIsNotThereIsRetryable() async throws {
        var configuration = try configuration(database: "postgres")
        configuration.port = try PostgresCluster.freePort()
        let error = await #expect(throws: LedgerError.self) { try await PostgresLedger.connect(configuration, logger: Self.logger) }
        #expect(error?.isRetryable == true)
    }

    /// The database is dropped under a running ledger: a batch of writes fails with the clear error after one
    /// attempt to connect, instead of each write trying alone (a full batch made 2048 failed sign-ins).
    @Test func aBatchThatCannotConnectFailsWholeOnce() async throws {
        let cluster = try #require(PostgresCluster.current)
        let (database, proxy, configuration) = try await proxiedDatabase()
        defer { proxy.close() }
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
            _ = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "before-drop")))
            try await cluster.psql("DROP DATABASE \(database) WITH (FORCE)")
            let connected = proxy.accepted
            let requests = (0..<200).map { RecordRequest(outcome: LedgerFixtures.outcome(key: "after-drop-\($0)")) }
            for result in await ledger.record(batch: requests) {
                guard case .failure(let error) = result else {
                    Issue.record("recorded in a dropped database: \(result)")
                    continue
                }
                expectReason(error, "unknown_database")
            }
            // One attempt per batch the writer took (the writes arrive together: a few batches at most).
            let attempts = proxy.accepted - connected
            #expect(attempts < 10, "\(attempts) connections for \(requests.count) writes")
        }
    }

    /// Ids far apart (edited by hand) overflowed bigint in the count-based retention's span, and every prune failed.
    @Test func retentionCopesWithIdsEditedByHand() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        try await PostgresLedger.withLedger(try configuration(database: database), logger: Self.logger) { ledger in
            _ = try await ledger.record(LedgerFixtures.outcome(key: "low"))
            _ = try await ledger.record(LedgerFixtures.outcome(key: "high"))
            _ = try await cluster.psql(
                "UPDATE sluice_outcomes SET id = -9223372036854775000 WHERE idempotency_key = 'low';"
                    + "UPDATE sluice_outcomes SET id = 9223372036854775000 WHERE idempotency_key = 'high'",
                database: database)
            let pruned = try await ledger.pruneBatch(RetentionPolicy(maxOutcomes: 1), batchSize: 10)
            #expect(pruned.outcomes == 1)
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "high") != nil)
        }
    }

    @Test func aNewerSchemaIsNeverDowngraded() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        try await cluster.psql("CREATE TABLE sluice_schema (version INTEGER NOT NULL); INSERT INTO sluice_schema VALUES (99)", database: database)
        let error = await #expect(throws: LedgerError.self) {
            try await PostgresLedger.withLedger(try configuration(database: database), logger: Self.logger) { _ in }
        }
        #expect(error?.reason == "schema_too_new")
    }

    /// Queries (`sluice outcomes`, `sluice replay`) check the schema and never change it: a newer command-line
    /// tool must not upgrade a database that older servers share (they would refuse to start).
    @Test func queriesCheckTheSchemaAndNeverMigrate() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        var query = try configuration(database: database)
        query.migrates = false
        let empty = await #expect(throws: LedgerError.self) {
            try await PostgresLedger.withLedger(query, logger: Self.logger) { _ in }
        }
        expectReason(empty, "no_schema")
        let tables = try await cluster.psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'sluice_%'", database: database)
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("0"), "\(tables)")
        // Once a server created it, queries open it.
        try await PostgresLedger.withLedger(try configuration(database: database), logger: Self.logger) { _ in }
        let count = try await PostgresLedger.withLedger(query, logger: Self.logger) { try await $0.outcomes(OutcomeQuery()).count }
        #expect(count == 0)
        try await cluster.psql("INSERT INTO sluice_schema VALUES (99)", database: database)
        let newer = await #expect(throws: LedgerError.self) {
            try await PostgresLedger.withLedger(query, logger: Self.logger) { _ in }
        }
        expectReason(newer, "schema_too_new")
    }

    private func expectReason(_ error: LedgerError?, _ reason: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(error?.reason == reason, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    /// A fresh database reached through a proxy that can drop an answer or leave its connections half-open, and
    /// a configuration that goes through it. The caller closes the proxy.
    func proxiedDatabase() async throws -> (database: String, proxy: CommitAnswerDropper, configuration: PostgresLedgerConfiguration) {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        let proxy = try CommitAnswerDropper(upstreamPort: cluster.port)
        var configuration = try configuration(database: database)
        configuration.port = proxy.port
        return (database, proxy, configuration)
    }

    /// The answer to a batch's `COMMIT` is lost with its connection after the server committed: the writer asks
    /// the server whether the transaction committed instead of running it again, so an inbox row is appended
    /// once and a dead letter is re-driven once.
    @Test func aCommitWhoseAnswerIsLostIsNotAppliedTwice() async throws {
        let (_, proxy, configuration) = try await proxiedDatabase()
        defer { proxy.close() }
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
            let first = try await ledger.appendInbox(LedgerFixtures.delivery(body: "first"))
            proxy.arm()
            let second = try await ledger.appendInbox(LedgerFixtures.delivery(body: "second"))
            #expect(proxy.drops == 1)
            let pending = try await ledger.pendingInbox(after: nil, limit: 10)
            #expect(pending.map(\.id) == [first, second], "one row per append, and the id the server committed")

            let rejected = LedgerFixtures.outcome(key: "lost-commit", kind: .rejected)
            _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: DeadLetterContent(commands: [])))
            let letter = try #require(try await ledger.deadLetters(DeadLetterQuery()).first)
            proxy.arm()
            try await ledger.markRedriven(
                deadLetterID: letter.id, outcome: LedgerFixtures.outcome(key: "lost-commit", kind: .accepted))
            #expect(proxy.drops == 2)
            let letters = try await ledger.deadLetters(DeadLetterQuery(includeRedriven: true))
            #expect(letters.map(\.redriveCount) == [1], "re-driven once")

            // A duplicate is counted once, though its batch of decisions would otherwise run again.
            let decided = LedgerFixtures.outcome(key: "counted")
            _ = try await ledger.record(RecordRequest(outcome: decided))
            proxy.arm()
            let again = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "counted", kind: .rejected)))
            guard case .alreadyDecided = again else {
                Issue.record("the second outcome was not answered as the key's decision: \(again)")
                return
            }
            #expect(proxy.drops == 3)
            let stored = try await ledger.outcomes(OutcomeQuery(idempotencyKey: "counted"))
            #expect(stored.map(\.duplicates) == [1], "counted once")
        }
    }

    /// The writer's connection goes half-open (the network drops everything, and neither side is told): the
    /// writer gives it up after its answer timeout and retries on a new connection, instead of waiting for
    /// the kernel (about 15 minutes) with every write behind it.
    @Test func aHalfOpenWriterConnectionIsGivenUp() async throws {
        var (database, proxy, configuration) = try await proxiedDatabase()
        defer { proxy.close() }
        configuration.answerTimeout = .seconds(2)
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
            _ = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "before-cut")))
            proxy.freezeOpenConnections()
            let (answer, waited) = await Self.answered { () async throws(LedgerError) in
                try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "after-cut")))
            }
            guard case .success(.recorded)? = answer else {
                Issue.record("the write did not get through in \(waited): \(String(describing: answer))")
                return
            }
            #expect(waited >= .seconds(2) && waited < .seconds(20), "\(waited)")
        }
        // Read back directly (the pool's connections through the proxy are half-open too).
        try await PostgresLedger.withLedger(try self.configuration(database: database), logger: Self.logger) { ledger in
            let decided = try await ledger.decision(adapter: "orders", idempotencyKey: "after-cut")
            #expect(decided != nil)
        }
    }

    /// The writer's connection goes half-open in the middle of a long result (a batch re-recording decided keys
    /// reads their bodies back): PostgresNIO hands the rows over before they have all arrived, and the writer gives
    /// the connection up after its answer timeout as when a statement has no answer at all, then retries the
    /// batch, instead of waiting for the rest of the rows with every write behind it.
    @Test func aResultCutOffByAHalfOpenConnectionIsGivenUp() async throws {
        var (_, proxy, configuration) = try await proxiedDatabase()
        defer { proxy.close() }
        configuration.answerTimeout = .seconds(2)
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
            // About 8 KB each: read back together, hundreds of KB.
            let note = String(repeating: "x", count: 8_000)
            let requests = (0..<100).map {
                RecordRequest(outcome: LedgerFixtures.outcome(key: "large-\($0)", note: note))
            }
            for result in await ledger.record(batch: requests) { _ = try result.get() }
            proxy.stallAnswer(to: "FOR UPDATE", after: 32_000)
            let (answer, waited) = await Self.answered { () async throws(LedgerError) in
                try await ledger.record(batch: requests).map { result throws(LedgerError) in try result.get() }
            }
            #expect(proxy.stalls == 1, "no answer was long enough to stall")
            guard case .success(let results)? = answer else {
                Issue.record("the writes did not get through in \(waited): \(String(describing: answer))")
                return
            }
            for result in results {
                guard case .recorded = result else { Issue.record("not recorded again: \(result)"); continue }
            }
            #expect(waited >= .seconds(2) && waited < .seconds(20), "\(waited)")
        }
    }

    /// Runs `call` in a task of its own and waits up to 30 s for its answer: nil when there was none, so that a
    /// regression fails the test instead of hanging the run.
    static func answered<Value: Sendable>(_ call: @escaping @Sendable () async throws(LedgerError) -> Value) async
        -> (answer: Result<Value, LedgerError>?, waited: Duration)
    {
        let started = ContinuousClock.now
        let answer = Mutex<Result<Value, LedgerError>?>(nil)
        Task {
            do throws(LedgerError) {
                let value = try await call()
                answer.withLock { $0 = .success(value) }
            } catch {
                answer.withLock { $0 = .failure(error) }
            }
        }
        while answer.withLock({ $0 }) == nil, ContinuousClock.now - started < .seconds(30) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (answer.withLock { $0 }, ContinuousClock.now - started)
    }

    /// Another session holds one key's claim row locked (a replica frozen mid-transaction holds it until the server
    /// ends its session, a minute later): the write of that key fails at the lock timeout, once, as retryable, and
    /// the writes of other keys are recorded right after it. Before, the batch was retried whole: the single writer
    /// waited out the lock five times over, and every write batched with that key failed with it.
    @Test func aRowLockedElsewhereFailsOnlyItsOwnWrite() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        var configuration = try configuration(database: database)
        configuration.lockTimeout = .seconds(1)
        try await PostgresLedger.withLedger(configuration, logger: Self.logger) { ledger in
            _ = try await ledger.claim(adapter: "orders", idempotencyKey: "held", owner: "frozen", for: .seconds(300))
            let holder = Task {
                try await cluster.psql(
                    "BEGIN; SELECT 1 FROM sluice_claims WHERE idempotency_key = 'held' FOR UPDATE; SELECT pg_sleep(8); COMMIT;",
                    database: database)
            }
            defer { holder.cancel() }
            var holding = false
            for _ in 0..<100 where !holding {
                let sleeping = try? await cluster.psql(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' AND state = 'active' AND pid <> pg_backend_pid()",
                    database: database)
                holding = sleeping?.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
                if !holding { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(holding, "the lock holder did not start")
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let error = await #expect(throws: LedgerError.self) {
                        try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "held")))
                    }
                    #expect(error?.isRetryable == true, "\(String(describing: error))")
                }
                for index in 0..<20 {
                    group.addTask {
                        _ = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "free-\(index)")))
                    }
                }
                try await group.waitForAll()
            }
            let took = ContinuousClock.now - started
            // One lock timeout (1 s) for the batch, one more for the held key's write alone; five retries took ~6.5 s.
            #expect(took < .seconds(4), "\(took)")
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "free-19") != nil)
        }
    }

    /// A pooled connection goes half-open under a read (the idempotency check): the read fails as `no_answer`
    /// after the answer timeout instead of waiting on it for as long as the kernel keeps it, and the pool's
    /// next connection answers.
    @Test func aHalfOpenPooledConnectionFailsTheReadInTime() async throws {
        let (_, proxy, configuration) = try await proxiedDatabase()
        defer { proxy.close() }
        var bounded = configuration
        bounded.answerTimeout = .seconds(2)
        bounded.maxConnections = 2
        try await PostgresLedger.withLedger(bounded, logger: Self.logger) { ledger in
            _ = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "before-cut")))
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "before-cut") != nil)
            proxy.freezeOpenConnections()
            let (answer, waited) = await Self.answered { () async throws(LedgerError) in
                try await ledger.decision(adapter: "orders", idempotencyKey: "before-cut")
            }
            guard case .failure(let error)? = answer else {
                Issue.record("the read on the frozen connection did not fail in \(waited): \(String(describing: answer))")
                return
            }
            #expect(error.reason == "no_answer" && error.isRetryable, "\(error)")
            #expect(waited >= .seconds(2) && waited < .seconds(20), "\(waited)")
            // The pool opens a new connection (through the proxy, not frozen) and the next read is answered: the frozen
            // connection was closed before the failed read returned, so it is not lent again.
            let found = await Self.answered { () async throws(LedgerError) in
                try await ledger.decision(adapter: "orders", idempotencyKey: "before-cut")
            }
            guard case .success(let outcome)? = found.0 else {
                Issue.record("the next read failed: \(String(describing: found.0)) after \(found.1)")
                return
            }
            #expect(outcome?.idempotencyKey == "before-cut")
        }
    }

    /// Connections are killed while batches are in flight: failed batches are retried, and every
    /// acknowledged write is in the database exactly once.
    @Test func lostConnectionsMidBatchLoseNothingAcknowledged() async throws {
        let cluster = try #require(PostgresCluster.current)
        let database = try await cluster.makeDatabase()
        try await PostgresLedger.withLedger(try configuration(database: database), logger: Self.logger) { ledger in
            let acknowledged = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<3000 {
                    group.addTask {
                        do {
                            _ = try await ledger.record(LedgerFixtures.outcome(key: "lost-\(index)"))
                            return "lost-\(index)"
                        } catch let error as LedgerError {
                            #expect(error.isRetryable, "\(error)")
                            return nil
                        }
                    }
                }
                group.addTask {
                    for _ in 0..<5 {
                        try await cluster.psql(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)' AND pid <> pg_backend_pid()")
                    }
                    return nil
                }
                var keys: Set<String> = []
                for try await key in group { if let key { keys.insert(key) } }
                return keys
            }
            #expect(acknowledged.count > 2500, "only \(acknowledged.count) of 3000 writes survived the retries")
            let stored = try await ledger.outcomes(OutcomeQuery(limit: 10_000))
            let storedKeys = Set(stored.map(\.outcome.idempotencyKey))
            #expect(acknowledged.isSubset(of: storedKeys))
            #expect(stored.count == storedKeys.count)
        }
    }
}
