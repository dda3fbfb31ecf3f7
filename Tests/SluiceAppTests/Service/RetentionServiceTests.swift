import Foundation
import Logging
import SluiceCore
import SluiceLedger
import Testing

@testable import SluiceApp

@Suite("Retention service")
struct RetentionServiceTests {
    /// A worker that died left its claim on a key that never came back: without a retention policy the service used
    /// to return at once, and nothing ever deleted the claim.
    @Test("expired claims are deleted without a retention policy")
    func expiredClaimsAreDeletedWithoutAPolicy() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-retention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: directory.appendingPathComponent("ledger.sqlite").path))
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "evt_gone", owner: "dead-replica", for: .milliseconds(1))
        try await Task.sleep(for: .milliseconds(20))
        let service = RetentionService(ledger: ledger, policy: RetentionPolicy(), interval: .seconds(3600), logger: Logger(label: "test"))
        let running = Task { await service.run() }
        try await Task.sleep(for: .milliseconds(500))
        running.cancel()
        await running.value
        #expect(try await ledger.prune(RetentionPolicy()).claims == 0, "the service left the expired claim")
        await ledger.close()
    }
}
