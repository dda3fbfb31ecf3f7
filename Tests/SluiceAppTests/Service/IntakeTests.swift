import Foundation
import Logging
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceApp

/// Start-up: inbox re-admission before intake opens, and a shutdown that comes first.
@Suite("Intake and inbox re-admission")
struct IntakeTests {
    @Test("a shutdown during re-admission releases the sources waiting for intake; intake does not open")
    func drainingReleasesWaitingSources() async {
        let intake = Intake()
        let waiting = Task { await intake.waitUntilOpen() }
        try? await Task.sleep(for: .milliseconds(50))
        intake.drain()
        await waiting.value
        #expect(!intake.isOpen)
        await intake.waitUntilOpen()  // returns at once once draining
    }

    @Test("an inbox that cannot be read at start-up is read again; intake opens after the rows are admitted")
    func unreadableInboxIsReadAgain() async throws {
        let ledger = InMemoryLedger()
        let (_, delivery) = try orderDelivery(id: "evt_rr", order: 51)
        _ = try await ledger.appendInbox(delivery)
        ledger.failInboxReads(2)
        try await withPipeline(ledger: ledger) { pipeline, fake, ledger in
            let intake = Intake()
            let readmission = InboxReadmission(
                ledger: ledger, pipelines: ["orders": pipeline], intake: intake, logger: Logger(label: "test"))
            await readmission.run()
            #expect(intake.isOpen)
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.workflow("order-51") != nil)
        }
    }

    @Test("the bridge endpoint waits for re-admission like webhooks do")
    func bridgeCallsWaitForReadmission() async throws {
        try await withPipeline { pipeline, fake, _ in
            let intake = Intake()
            let guarded = BridgeGuard(intake: intake, pipeline: pipeline)
            let (event, _) = try orderDelivery(id: "evt_bg", order: 52)
            let plan = try #require(pipeline.adapter.map(event).plan)
            guard case .unavailable(let reason) = await guarded.execute(plan) else {
                Issue.record("a bridge call ran before re-admission was done")
                return
            }
            #expect(reason.contains("re-admitted"))
            #expect(fake.requests.isEmpty)
            intake.open()
            guard case .outcome(let outcome, _) = await guarded.execute(plan) else {
                Issue.record("expected an outcome once intake is open")
                return
            }
            #expect(outcome.kind == .accepted)
        }
    }
}
