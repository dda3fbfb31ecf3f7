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
