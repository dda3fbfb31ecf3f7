import Foundation
import Logging
@testable import SluiceApp
import SluiceCore
import SluiceTesting
import Testing

/// The background checks behind `/readyz`: what they publish, and when.
@Suite struct HealthMonitorTests {
    /// The ledger's answer counts as soon as it is in: the status page's reads after it (the recent dead letters,
    /// the inbox depth) must not hold it back, each up to the check timeout.
    @Test func theLedgersAnswerIsPublishedBeforeTheStatusReads() async throws {
        let ledger = InMemoryLedger()
        ledger.holdDeadLetterReads(true)
        let monitor = HealthMonitor(
            ledger: ledger, engines: [:], pipelines: [:], checkTimeout: .seconds(30), logger: Logger(label: "test"))
        #expect(!monitor.isReady, "nothing checked yet")
        let round = Task { await monitor.checkAll() }
        let deadline = ContinuousClock.now + .seconds(10)
        while !monitor.isReady, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(monitor.isReady, "the ledger's check waited for a read of the dead letters")
        #expect(ledger.deadLetterReads == 1)
        ledger.holdDeadLetterReads(false)
        await round.value
    }

    /// A ledger that fails its check is not read for the status page in the same round: each read would only wait
    /// out its timeout.
    @Test func aFailingLedgerIsNotReadForTheStatusPage() async throws {
        let ledger = InMemoryLedger()
        ledger.failWrites(with: .retryable("disk_full", "no space left on device"))
        let monitor = HealthMonitor(
            ledger: ledger, engines: [:], pipelines: [:], checkTimeout: .seconds(1), logger: Logger(label: "test"))
        await monitor.checkAll()
        let (ready, checks) = monitor.readiness
        #expect(!ready)
        #expect(checks.map(\.name) == ["ledger"] && checks.first?.ok == false)
        #expect(ledger.deadLetterReads == 0)
    }
}
