import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SluiceCore
import SluiceTesting
import Testing

@testable import SluiceApp

/// Start-up: inbox re-admission before intake opens, and a shutdown that comes first.
@Suite("Intake and inbox re-admission", .timeLimit(.minutes(2)))
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
        try await withUnreadableInbox(id: "evt_rr", order: 51, failures: 2) { readmission, intake, fake, ledger in
            // The service returns only at its own shutdown (here: its task cancelled), once intake is open.
            let running = Task { await readmission.run() }
            #expect(await eventually { intake.isOpen })
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.workflow("order-51") != nil)
            running.cancel()
            await running.value
        }
    }

    @Test("a row start-up could not re-admit (the inbox was unreadable) is delivered by a later sweep, not at the next start")
    func aRowLeftAtStartUpIsSweptUp() async throws {
        try await withUnreadableInbox(id: "evt_sw", order: 53, failures: 1) { readmission, intake, fake, ledger in
            var readmission = readmission
            readmission.readPatience = .zero
            readmission.sweepInterval = .milliseconds(100)
            readmission.sweepMinimumAge = .zero
            let running = Task { [readmission] in await readmission.run() }
            #expect(await eventually { intake.isOpen })
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.workflow("order-53") != nil)
            running.cancel()
            await running.value
        }
    }

    /// One inbox row, the first `failures` reads of the inbox failing, and the re-admission service of its pipeline.
    private func withUnreadableInbox(
        id: String, order: Int, failures: Int,
        _ body: (InboxReadmission, Intake, DurableWorkflowFake, InMemoryLedger) async throws -> Void
    ) async throws {
        let ledger = InMemoryLedger()
        _ = try await ledger.appendInbox(try orderDelivery(id: id, order: order).1)
        ledger.failInboxReads(failures)
        try await withPipeline(ledger: ledger) { pipeline, fake, ledger in
            let intake = Intake()
            let readmission = InboxReadmission(
                ledger: ledger, pipelines: ["orders": pipeline], intake: intake, logger: Logger(label: "test"))
            try await body(readmission, intake, fake, ledger)
        }
    }

    @Test("a sweep leaves alone the rows this process is delivering, and takes them once their delivery let go")
    func aSweepSkipsRowsInHand() async throws {
        try await withPipeline { pipeline, fake, ledger in
            fake.inject(.delay(.milliseconds(800)))
            let (event, delivery) = try orderDelivery(id: "evt_ih", order: 54)
            guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                Issue.record("the webhook was not accepted")
                return
            }
            let row = try #require(try await ledger.pendingInbox(after: nil, limit: 10).first)
            #expect(pipeline.isDelivering(inboxID: row.id))
            #expect(await pipeline.readmit(row) == .left(reason: "this process is delivering it already"))
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(await eventually { !pipeline.isDelivering(inboxID: row.id) })
            #expect(fake.requests.count == 1)
        }
    }

    @Test("a graceful shutdown stops a re-admission waiting for room in a full gate; the rows stay in the inbox")
    func shutdownStopsAReadmissionWaitingForRoom() async throws {
        let ledger = InMemoryLedger()
        for index in 0..<4 {
            _ = try await ledger.appendInbox(try orderDelivery(id: "evt_full\(index)", order: 60 + index).1)
        }
        try await withPipeline(adapter: try orderAdapter(maxInFlight: 1, maxQueued: 1), ledger: ledger) { pipeline, fake, ledger in
            // The engine holds every call: the gate stays full, and the third row waits for room.
            fake.inject(.delay(.seconds(20)), .delay(.seconds(20)), .delay(.seconds(20)), .delay(.seconds(20)))
            let readmission = InboxReadmission(
                ledger: ledger, pipelines: ["orders": pipeline], intake: Intake(), logger: Logger(label: "test"))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(services: [readmission], logger: Logger(label: "test")))
            let done = Mutex(false)
            let running = Task {
                try? await group.run()
                done.withLock { $0 = true }
            }
            #expect(await eventually { await pipeline.dispatcher.pullCapacity == 0 })
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            // Bounded here, so that a regression fails the test instead of holding the run for the engine's 20 s.
            let stopped = await eventually(timeout: .seconds(5)) { done.withLock { $0 } }
            #expect(stopped, "re-admission held the shutdown until the gate drained")
            running.cancel()
            await running.value
            #expect(ledger.inboxCount == 4, "the rows stay for the next start")
            await pipeline.dispatcher.cancel(reason: "test over")
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
