import SluiceCore
import SluiceTesting
import Testing

/// The in-memory fake obeys the same contract as the real ledgers.
@Suite struct InMemoryLedgerTests {
    let clock = TestClock()
    var ledger: InMemoryLedger { InMemoryLedger(dedupe: LedgerConformance.dedupe, now: clock.now) }

    @Test func recordsOneDecisionPerKey() async throws { try await LedgerConformance.recordsOneDecisionPerKey(ledger) }
    @Test func batches() async throws { try await LedgerConformance.batchesRecordEachRequestAsAlone(ledger) }
    @Test func racingWorkers() async throws { try await LedgerConformance.racingWorkersProduceOneDecisionPerKey(ledger) }
    @Test func claims() async throws { try await LedgerConformance.claimsExcludeOtherWorkersUntilTheyExpire(ledger, clock: clock) }
    @Test func claimRenewal() async throws { try await LedgerConformance.ownersRenewTheirClaimsOnly(ledger, clock: clock) }
    @Test func inbox() async throws { try await LedgerConformance.inboxRowsLeaveWithTheirOutcome(ledger) }
    @Test func deadLetters() async throws { try await LedgerConformance.deadLettersAreKeptAndRedriven(ledger) }
    @Test func dedupeWindows() async throws { try await LedgerConformance.dedupeWindowsExpire(ledger, clock: clock) }
    @Test func aRedriveKeepsANewerDecision() async throws { try await LedgerConformance.aRedriveKeepsANewerDecision(ledger, clock: clock) }
    @Test func retriedPastItsWindow() async throws { try await LedgerConformance.theSameOutcomeAgainPastItsWindowIsTheSameDecision(ledger, clock: clock) }
    @Test func queries() async throws { try await LedgerConformance.queriesFilter(ledger, clock: clock) }
    @Test func retention() async throws { try await LedgerConformance.retentionPrunesInBatches(ledger, clock: clock) }

    /// A prune stops between batches once its task is cancelled (a graceful shutdown): the first run on a large
    /// ledger must not hold the shutdown for minutes. The rest waits for the next run.
    @Test func aCancelledPruneStopsBetweenBatches() async throws {
        let ledger = self.ledger
        for index in 0..<10 { _ = try await ledger.record(LedgerFixtures.outcome(key: "old-\(index)")) }
        clock.advance(.seconds(3_600))
        let pruning = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await ledger.prune(RetentionPolicy(maxAge: .seconds(60)), batchSize: 2)
        }
        #expect(try await pruning.value.outcomes == 2)
        #expect(try await ledger.prune(RetentionPolicy(maxAge: .seconds(60)), batchSize: 2).outcomes == 8)
    }

    @Test func failedWritesThrow() async throws {
        let ledger = self.ledger
        ledger.failWrites(with: .retryable("full", "disk full"))
        await #expect(throws: LedgerError.retryable("full", "disk full")) {
            try await ledger.appendInbox(LedgerFixtures.delivery())
        }
        ledger.failWrites(with: nil)
        _ = try await ledger.appendInbox(LedgerFixtures.delivery())
    }
}
