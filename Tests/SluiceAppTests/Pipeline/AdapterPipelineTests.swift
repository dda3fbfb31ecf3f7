import Foundation
import Logging
@testable import SluiceApp
import SluiceCore
import SluiceTesting
import Synchronization
import Testing

@Suite("Adapter pipeline: inbox, idempotency check, gate, engine, ledger")
struct AdapterPipelineTests {
    @Test("a webhook is durable in the inbox before it is accepted, and its outcome clears the row")
    func acceptedThenDecided() async throws {
        try await withPipeline { pipeline, fake, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_1", order: 1)
            let answer = await pipeline.accept(event, delivery: delivery)
            #expect(answer == .accepted(eventID: event.id, idempotencyKey: "evt_1"))
            let decided = await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_1")) != nil }
            #expect(decided)
            let outcome = try #require(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_1"))
            #expect(outcome.kind == .accepted)
            #expect(outcome.workflowID == "order-1")
            #expect(outcome.sluice?.sourcePosition == .inbox(id: 1))
            #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
            #expect(fake.workflow("order-1") != nil)
        }
    }

    @Test("a key the ledger decided is answered with that outcome: no inbox row, no engine call")
    func knownKey() async throws {
        try await withPipeline { pipeline, fake, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_2", order: 2)
            _ = await pipeline.accept(event, delivery: delivery)
            #expect(await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_2")) != nil })
            let requests = fake.requests.count
            let again = await pipeline.accept(event, delivery: delivery)
            guard case .known(let outcome) = again else {
                Issue.record("expected the earlier outcome, got \(again)")
                return
            }
            #expect(outcome.kind == .accepted)
            #expect(fake.requests.count == requests)
            #expect(ledger.inboxCount == 0)
            #expect(pipeline.counts.alreadyDecided == 1)
        }
    }

    @Test("a saturated boundary refuses with Retry-After and stores nothing")
    func saturated() async throws {
        let adapter = try orderAdapter(maxInFlight: 1, maxQueued: 1)
        try await withPipeline(adapter: adapter) { pipeline, fake, ledger in
            fake.inject(.delay(.seconds(1)), .delay(.seconds(1)))
            var answers: [WebhookAcceptance] = []
            for index in 0..<4 {
                let (event, delivery) = try orderDelivery(id: "evt_s\(index)", order: 100 + index)
                answers.append(await pipeline.accept(event, delivery: delivery))
            }
            let accepted = answers.filter { if case .accepted = $0 { true } else { false } }.count
            let refused = answers.filter { if case .saturated = $0 { true } else { false } }.count
            #expect(accepted == 2)
            #expect(refused == 2)
            // Only the accepted ones were ever stored.
            #expect(ledger.inboxAppends == 2)
            #expect(await eventually { ledger.inboxCount == 0 })
        }
    }

    @Test("a pull source waiting for room in a full gate stops waiting when its task is cancelled")
    func capacityWaitIsCancellable() async throws {
        let adapter = try orderAdapter(maxInFlight: 1, maxQueued: 2)
        try await withPipeline(adapter: adapter) { pipeline, fake, _ in
            fake.inject(.delay(.seconds(2)), .delay(.seconds(2)), .delay(.seconds(2)))
            for index in 0..<3 {
                let (event, delivery) = try orderDelivery(id: "evt_w\(index)", order: 300 + index)
                _ = await pipeline.accept(event, delivery: delivery)
            }
            #expect(await pipeline.dispatcher.pullCapacity == 0)
            let waiter = Task { await pipeline.dispatcher.waitForPullCapacity() }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            waiter.cancel()
            await waiter.value
            #expect(ContinuousClock.now - started < .seconds(1))
        }
    }

    @Test("an unmatched event is decided at mapping and recorded; a dead letter only when the adapter asks")
    func unmatched() async throws {
        try await withPipeline(adapter: try orderAdapter(unmatched: "dead_letter")) { pipeline, fake, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_u", order: 3, type: "order.deleted")
            let answer = await pipeline.accept(event, delivery: delivery)
            guard case .decided(let outcome) = answer else {
                Issue.record("expected a decision at mapping, got \(answer)")
                return
            }
            #expect(outcome.kind == .rejected)
            #expect(outcome.reason == .unmatched)
            #expect(fake.requests.isEmpty)
            let letters = try await ledger.deadLetters(DeadLetterQuery())
            #expect(letters.count == 1)
            #expect(letters.first?.content.delivery?.body == delivery.body)
        }
        try await withPipeline { pipeline, _, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_u2", order: 4, type: "order.deleted")
            _ = await pipeline.accept(event, delivery: delivery)
            #expect(try await ledger.deadLetters(DeadLetterQuery()).isEmpty)
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_u2")?.reason == .unmatched)
        }
    }

    @Test("an inbox that cannot be written answers unavailable, never accepted, without the ledger's error text")
    func inboxFailure() async throws {
        try await withPipeline { pipeline, fake, ledger in
            ledger.failWrites(with: .retryable("disk_full", "no space left on device"))
            let (event, delivery) = try orderDelivery(id: "evt_f", order: 5)
            let answer = await pipeline.accept(event, delivery: delivery)
            guard case .unavailable(let reason, _) = answer else {
                Issue.record("expected unavailable, got \(answer)")
                return
            }
            #expect(reason.contains("inbox"))
            // The ledger's own error text is logged, never told to the sender.
            #expect(!reason.contains("no space left") && !reason.contains("disk_full"))
            #expect(fake.requests.isEmpty)
            ledger.failWrites(with: nil)
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_f"))
        }
    }

    @Test("an accepted webhook whose engine refused Sluice is admitted again while running, and delivered once it is fixed")
    func abandonedWebhookIsAdmittedAgain() async throws {
        try await withPipeline { pipeline, fake, ledger in
            fake.inject(.status(401))  // a bad token, fixed a moment later
            let (event, delivery) = try orderDelivery(id: "evt_401", order: 41)
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_401"))
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 }, "delivered without a restart")
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_401")?.kind == .accepted)
            #expect(fake.workflow("order-41") != nil)
        }
    }

    /// An engine that fails every event (a revoked token) left each accepted row in memory, waiting to be admitted
    /// again, for as long as the outage lasted. At the boundary's `max_queued` of them new webhooks are answered 503
    /// (their senders retry); once the rows are delivered the adapter accepts again.
    @Test("undecided rows waiting to be admitted again are bounded by max_queued: past it new webhooks get 503")
    func undecidedRowsAreBounded() async throws {
        try await withPipeline(adapter: try orderAdapter(maxInFlight: 2, maxQueued: 2)) { pipeline, fake, ledger in
            fake.inject(.status(401), .status(401))  // a revoked token: both events end undecided, then it is fixed
            for (id, order) in [("evt_b1", 81), ("evt_b2", 82)] {
                let (event, delivery) = try orderDelivery(id: id, order: order)
                #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: id))
            }
            #expect(await eventually(timeout: .seconds(5)) { pipeline.isHoldingUndecidedRowsToItsLimit })
            let (third, thirdDelivery) = try orderDelivery(id: "evt_b3", order: 83)
            guard case .unavailable(let reason, let retryAfter?) = await pipeline.accept(third, delivery: thirdDelivery) else {
                Issue.record("a webhook was accepted while max_queued undecided rows were held")
                return
            }
            #expect(reason.contains("wait to be admitted again"), "\(reason)")
            #expect(retryAfter >= .seconds(1))
            #expect(ledger.inboxAppends == 2)
            // Fixed: the held rows are delivered (after their 1 s backoff), and the adapter accepts again.
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 && !pipeline.isHoldingUndecidedRowsToItsLimit })
            #expect(await pipeline.accept(third, delivery: thirdDelivery) == .accepted(eventID: third.id, idempotencyKey: "evt_b3"))
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.workflow("order-81") != nil && fake.workflow("order-82") != nil && fake.workflow("order-83") != nil)
        }
    }

    /// Re-admission passed rows of an ordered adapter by (it held its limit of undecided rows): a new webhook of the
    /// adapter would otherwise run before an earlier event of its key still in the inbox. Refused until a pass takes
    /// every row up; an unordered adapter has no order to keep.
    @Test("while re-admission left rows of an ordered adapter in the inbox, its new webhooks get 503")
    func passedByRowsHoldBackNewWebhooksOfAnOrderedAdapter() async throws {
        try await withPipeline(adapter: try orderAdapter(ordered: true)) { pipeline, _, ledger in
            pipeline.hasRowsPassedBy = true
            let (event, delivery) = try orderDelivery(id: "evt_pb1", order: 86)
            guard case .unavailable(let reason, _) = await pipeline.accept(event, delivery: delivery) else {
                Issue.record("a webhook was accepted ahead of rows of its adapter left in the inbox")
                return
            }
            #expect(reason.contains("earlier events of this adapter wait in the inbox"))
            #expect(ledger.inboxAppends == 0)
            pipeline.hasRowsPassedBy = false
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_pb1"))
        }
        try await withPipeline { pipeline, _, _ in
            pipeline.hasRowsPassedBy = true
            let (event, delivery) = try orderDelivery(id: "evt_pb2", order: 87)
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_pb2"))
        }
    }

    @Test("a webhook whose key a bridge call is running is stored before it is accepted, and cleared with that call's decision")
    func aWebhookDuringABridgeCallOfItsKeyIsStored() async throws {
        try await withPipeline { pipeline, fake, ledger in
            fake.inject(.delay(.milliseconds(600)))
            let (event, delivery) = try orderDelivery(id: "evt_bw", order: 55)
            let plan = try #require(pipeline.adapter.map(event).plan)
            let call = Task { await pipeline.execute(plan) }
            #expect(await eventually { await pipeline.dispatcher.snapshot.inFlight == 1 })
            guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                Issue.record("the webhook was not accepted")
                return
            }
            // The bridge call stored nothing: had it ended undecided, a 202 without this row would have lost the event.
            #expect(ledger.inboxCount == 1, "accepted without a stored delivery")
            guard case .outcome(let outcome, firstDecision: true) = await call.value else {
                Issue.record("the bridge call did not decide")
                return
            }
            #expect(outcome.kind == .accepted)
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.requests.count == 1)
        }
    }

    @Test("a duplicate of a webhook whose stored delivery is on its way is accepted without a second row")
    func aDuplicateOfAStoredDeliveryIsNotStoredAgain() async throws {
        try await withPipeline { pipeline, fake, ledger in
            fake.inject(.delay(.milliseconds(600)))
            let (event, delivery) = try orderDelivery(id: "evt_dd", order: 56)
            for _ in 0..<3 {
                guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                    Issue.record("a delivery was not accepted")
                    return
                }
            }
            #expect(ledger.inboxCount == 1, "each duplicate was stored")
            #expect(await eventually { ledger.inboxCount == 0 })
            #expect(fake.requests.count == 1)
        }
    }

    @Test("with a shared ledger, a row admitted again after its run ended undecided claims its key first: another replica that took it up meanwhile keeps it")
    func anUndecidedRowClaimsItsKeyBeforeItRunsAgain() async throws {
        let ledger = InMemoryLedger()
        try await withPipeline(ledger: ledger, options: PipelineOptions(claimOwner: "this-replica")) { pipeline, fake, ledger in
            fake.inject(.status(401))  // this run ends undecided and lets its claim go
            let (event, delivery) = try orderDelivery(id: "evt_uc", order: 57)
            guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                Issue.record("the webhook was not accepted")
                return
            }
            // Another replica's sweep takes the row up during this one's backoff (1 s), and holds the key for 3 s.
            let taken = await eventually {
                guard await pipeline.dispatcher.snapshot.inFlight == 0 else { return false }
                let claim = try? await ledger.claim(adapter: "orders", idempotencyKey: "evt_uc", owner: "other-replica", for: .seconds(3))
                if case .claimed? = claim { return true }
                return false
            }
            #expect(taken)
            try await Task.sleep(for: .seconds(2))
            #expect(fake.requests.count == 1, "the row ran again while another replica held its key")
            // The other replica died: its claim ends, and this one delivers the row.
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 })
            #expect(fake.requests.count == 2)
        }
    }

    @Test("a pending inbox row left by a crash is re-admitted, delivered and cleared")
    func readmission() async throws {
        let ledger = InMemoryLedger()
        let (_, delivery) = try orderDelivery(id: "evt_r", order: 6)
        let id = try await ledger.appendInbox(delivery)
        try await withPipeline(ledger: ledger) { pipeline, fake, ledger in
            let result = await pipeline.readmit(InboxItem(id: id, delivery: delivery))
            #expect(result == .admitted)
            #expect(await eventually { ledger.inboxCount == 0 })
            let outcome = try await ledger.decision(adapter: "orders", idempotencyKey: "evt_r")
            #expect(outcome?.kind == .accepted)
            #expect(outcome?.sluice?.sourcePosition == .inbox(id: id))
            #expect(fake.workflow("order-6") != nil)
        }
    }

    @Test("a pull source's event settles once its outcome is durable; a decided key settles at once")
    func pull() async throws {
        try await withPipeline { pipeline, fake, ledger in
            let (event, _) = try orderDelivery(id: "evt_p", order: 7)
            let settlements = SettlementLog()
            try await pipeline.submit(event) { settlements.append($0) }
            #expect(await eventually { settlements.count == 1 })
            guard case .recorded(let outcome, let deadLetter) = settlements.items.first else {
                Issue.record("expected a recorded settlement, got \(settlements.items)")
                return
            }
            #expect(outcome.kind == .accepted)
            #expect(!deadLetter)
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_p") == outcome)
            let calls = fake.requests.count
            try await pipeline.submit(event) { settlements.append($0) }
            #expect(settlements.count == 2)
            #expect(settlements.items.last == .recorded(outcome, deadLetter: false))
            #expect(fake.requests.count == calls)
        }
    }

    @Test("a redelivered event whose key was rejected settles as a dead letter again, so the source produces it to its topic")
    func redeliveredRejectionIsADeadLetterAgain() async throws {
        try await withPipeline { pipeline, fake, ledger in
            // The first delivery's rejection is durable, but its dead-letter record never reached the topic
            // (the process died in between): the redelivery must produce it.
            let rejected = Outcome(
                adapter: "orders", action: "start_workflow", idempotencyKey: "evt_dl", kind: .rejected, reason: .malformedPayload)
            _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: DeadLetterContent(commands: [])))
            let (event, _) = try orderDelivery(id: "evt_dl", order: 9)
            let settlements = SettlementLog()
            try await pipeline.submit(event) { settlements.append($0) }
            #expect(await eventually { settlements.count == 1 })
            #expect(settlements.items.first == .recorded(rejected, deadLetter: true))
            let settled = Mutex<[Int: Settlement]>([:])
            _ = await pipeline.submit(batch: [event]) { index, settlement in settled.withLock { $0[index] = settlement } }
            #expect(await eventually { settled.withLock { $0.count } == 1 })
            #expect(settled.withLock { $0[0] } == .recorded(rejected, deadLetter: true))
            #expect(fake.requests.isEmpty)
        }
    }

    @Test("a pull source's event whose outcome could not be written runs again when it comes back, and is recorded then")
    func unrecordedEventRunsAgain() async throws {
        try await withPipeline { pipeline, fake, ledger in
            let (event, _) = try orderDelivery(id: "evt_unrecorded", order: 8)
            let settlements = SettlementLog()
            ledger.failWrites(with: .retryable("disk_full", "no space left on device"))
            try await pipeline.submit(event) { settlements.append($0) }
            #expect(await eventually { settlements.count == 1 })
            guard case .unrecorded? = settlements.items.first else {
                Issue.record("expected an unrecorded settlement, got \(settlements.items)")
                return
            }
            ledger.failWrites(with: nil)
            // The Kafka source submits it again after a backoff: it must not be refused as already decided.
            try await pipeline.submit(event) { settlements.append($0) }
            #expect(await eventually { settlements.count == 2 })
            guard case .recorded(let outcome, _)? = settlements.items.last else {
                Issue.record("expected a recorded settlement, got \(settlements.items)")
                return
            }
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_unrecorded") == outcome)
            #expect(fake.workflow("order-8") != nil)
        }
    }

    @Test("a pull source's batch: one ledger check for all keys, decided keys answered from the ledger, mapping rejections recorded, a key twice in one batch refused once")
    func pullBatch() async throws {
        try await withPipeline { pipeline, fake, ledger in
            // A key decided earlier: settles with that decision and calls no engine.
            let (decided, _) = try orderDelivery(id: "evt_b0", order: 10)
            let earlier = SettlementLog()
            try await pipeline.submit(decided) { earlier.append($0) }
            #expect(await eventually { earlier.count == 1 })
            let calls = fake.requests.count
            let batch = [
                decided,
                try orderDelivery(id: "evt_b1", order: 11).0,
                try orderDelivery(id: "evt_b2", order: 12, type: "order.unknown").0,  // no rule: rejected unmatched
                try orderDelivery(id: "evt_b3", order: 13).0,
                try orderDelivery(id: "evt_b3", order: 13).0,  // the same key again in the same fetch
            ]
            let settled = Mutex<[Int: Settlement]>([:])
            let refusals = await pipeline.submit(batch: batch) { index, settlement in
                settled.withLock { $0[index] = settlement }
            }
            #expect(refusals.count == 5)
            #expect(refusals[0] == nil && refusals[1] == nil && refusals[2] == nil && refusals[3] == nil)
            #expect(refusals[4] == .alreadyInProgress(key: "evt_b3"))
            #expect(await eventually { settled.withLock { $0.count } == 4 })
            let results = settled.withLock { $0 }
            #expect(results[0] == earlier.items.first)
            guard case .recorded(let unmatched, _)? = results[2], case .recorded(let first, _)? = results[1],
                case .recorded(let third, _)? = results[3]
            else {
                Issue.record("expected recorded settlements, got \(results)")
                return
            }
            #expect(unmatched.kind == .rejected && unmatched.reason == .unmatched)
            #expect(first.kind == .accepted && third.kind == .accepted)
            #expect(results[4] == nil)
            // Two engine calls: evt_b1 and evt_b3, once each.
            #expect(fake.requests.count == calls + 2)
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_b3") == third)
            #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_b2")?.reason == .unmatched)
        }
    }

    @Test("the synchronous path answers the engine's recorded outcome, then the same one on a retry")
    func synchronous() async throws {
        try await withPipeline { pipeline, fake, _ in
            let (event, _) = try orderDelivery(id: "evt_sync", order: 8)
            let plan = try #require(pipeline.adapter.map(event).plan)
            let first = await pipeline.execute(plan)
            guard case .outcome(let outcome, firstDecision: true) = first else {
                Issue.record("expected a first decision, got \(first)")
                return
            }
            #expect(outcome.kind == .accepted)
            #expect(await pipeline.execute(plan) == .outcome(outcome, firstDecision: false))
            #expect(fake.requests.count == 1)
        }
    }

    @Test("the synchronous path answers timed out when the engine is slower than the wait, and the work goes on")
    func synchronousTimeout() async throws {
        try await withPipeline(options: PipelineOptions(synchronousWait: .milliseconds(200))) { pipeline, fake, ledger in
            fake.inject(.delay(.seconds(1)))
            let (event, _) = try orderDelivery(id: "evt_slow", order: 9)
            let plan = try #require(pipeline.adapter.map(event).plan)
            let answer = await pipeline.execute(plan)
            guard case .timedOut = answer else {
                Issue.record("expected timed out, got \(answer)")
                return
            }
            #expect(await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_slow")) != nil })
        }
    }

    @Test("with a shared ledger, a key another replica holds is not worked on twice")
    func claims() async throws {
        let ledger = InMemoryLedger()
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "evt_c", owner: "other-replica", for: .seconds(60))
        try await withPipeline(ledger: ledger, options: PipelineOptions(claimOwner: "this-replica")) { pipeline, fake, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_c", order: 10)
            // The other replica's copy may not be durable yet: no 2xx, nothing stored, retry later.
            guard case .unavailable(_, let retryAfter?) = await pipeline.accept(event, delivery: delivery) else {
                Issue.record("a webhook whose key another replica holds was answered as if stored")
                return
            }
            #expect(retryAfter >= .seconds(1) && retryAfter <= .seconds(30))
            #expect(ledger.inboxCount == 0)
            #expect(fake.requests.isEmpty)
            // The other replica gave the key up (it died before storing the event): the retry is taken.
            try await ledger.release(adapter: "orders", idempotencyKey: "evt_c", owner: "other-replica")
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_c"))
            #expect(await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_c")) != nil })
        }
    }

    @Test("with a shared ledger, the claim of an event still in the gate is renewed past its duration")
    func claimsOfEventsInTheGateAreRenewed() async throws {
        let options = PipelineOptions(claimOwner: "this-replica", claimDuration: .seconds(1))
        try await withPipeline(options: options) { pipeline, fake, ledger in
            #expect(pipeline.claimRenewalInterval < .seconds(1))
            fake.inject(.delay(.seconds(3)))
            let (event, delivery) = try orderDelivery(id: "evt_renew", order: 12)
            #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: "evt_renew"))
            // The engine takes 3 s; the claim lasts 1 s and is renewed meanwhile by the service `sluice serve` runs.
            let renewing = Task { await ClaimRenewalService(pipelines: [pipeline], logger: Logger(label: "test")).run() }
            defer { renewing.cancel() }
            try await Task.sleep(for: .milliseconds(1_600))
            let other = try await ledger.claim(adapter: "orders", idempotencyKey: "evt_renew", owner: "other-replica", for: .seconds(60))
            guard case .held(by: "this-replica", _) = other else {
                Issue.record("another replica took the key of an event still running here: \(other)")
                return
            }
            #expect(await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_renew")) != nil })
            // Decided: the claim ended with the outcome, and there is nothing left to renew.
            #expect(try await pipeline.renewClaims() == nil)
            #expect(fake.workflow("order-12") != nil)
        }
    }

    /// A row re-admitted while the gate is full waits for room outside the gate, holding its key's claim. Only keys in
    /// the gate were renewed: the claim lapsed while the row waited, and another replica's sweep could take the row up
    /// and call the engine for it too.
    @Test("with a shared ledger, the claim of an inbox row waiting for room in a full gate is renewed")
    func claimsOfRowsWaitingForRoomAreRenewed() async throws {
        let options = PipelineOptions(claimOwner: "this-replica", claimDuration: .seconds(1))
        try await withPipeline(adapter: try orderAdapter(maxInFlight: 1, maxQueued: 1), options: options) { pipeline, fake, ledger in
            fake.inject(.delay(.seconds(3)), .delay(.seconds(3)))
            for (id, order) in [("evt_full1", 13), ("evt_full2", 14)] {
                let (event, delivery) = try orderDelivery(id: id, order: order)
                #expect(await pipeline.accept(event, delivery: delivery) == .accepted(eventID: event.id, idempotencyKey: id))
            }
            #expect(await pipeline.dispatcher.pullCapacity == 0)
            let (_, waiting) = try orderDelivery(id: "evt_waits", order: 15)
            let id = try await ledger.appendInbox(waiting)
            let readmitting = Task { await pipeline.readmit(InboxItem(id: id, delivery: waiting)) }
            let renewing = Task { await ClaimRenewalService(pipelines: [pipeline], logger: Logger(label: "test")).run() }
            defer { renewing.cancel() }
            try await Task.sleep(for: .milliseconds(1_600))
            #expect(await pipeline.dispatcher.isActive("evt_waits") == false, "the row was not waiting outside the gate")
            let other = try await ledger.claim(adapter: "orders", idempotencyKey: "evt_waits", owner: "other-replica", for: .seconds(60))
            guard case .held(by: "this-replica", _) = other else {
                Issue.record("another replica took the key of a row waiting here for room: \(other)")
                return
            }
            #expect(await readmitting.value == .admitted)
            #expect(await eventually(timeout: .seconds(15)) { ledger.inboxCount == 0 })
        }
    }

    @Test("with a shared ledger, an ordered fetch stops at the first event not taken: the later ones are refused, to come again after it")
    func sharedLedgerBatchKeepsOrder() async throws {
        let ledger = InMemoryLedger()
        try await withPipeline(adapter: try orderAdapter(ordered: true), ledger: ledger, options: PipelineOptions(claimOwner: "this-replica")) {
            pipeline, fake, ledger in
            #expect(pipeline.adapter.isOrdered)
            ledger.failClaims(1)
            let batch = [try orderDelivery(id: "evt_o1", order: 70).0, try orderDelivery(id: "evt_o2", order: 70).0]
            let settled = Mutex<[Int: Settlement]>([:])
            let refusals = await pipeline.submit(batch: batch) { index, settlement in settled.withLock { $0[index] = settlement } }
            guard case .unrecorded? = settled.withLock({ $0[0] }) else {
                Issue.record("the first event's claim failed, yet it settled \(String(describing: settled.withLock { $0[0] }))")
                return
            }
            guard case .cancelling? = refusals[1] else {
                Issue.record("the second event was taken before the first: \(String(describing: refusals[1]))")
                return
            }
            #expect(fake.requests.isEmpty)
        }
    }

    /// The gate refuses an event of an ordered fetch (its key is still running: a run that outlived a revoke's
    /// drain). The source submits it again later; had the gate taken the events behind it, one of its ordering key
    /// could run first.
    @Test("an ordered fetch stops at the first event the gate refuses: the later ones are refused, to come again after it")
    func batchKeepsOrderAfterARefusal() async throws {
        try await withPipeline(adapter: try orderAdapter(ordered: true)) { pipeline, fake, _ in
            fake.inject(.delay(.seconds(2)))
            let first = try orderDelivery(id: "evt_r1", order: 71).0
            #expect(await pipeline.submit(batch: [first]) { _, _ in } == [nil])
            #expect(await eventually { fake.requests.contains { $0.json?["idempotency_key"]?.stringValue == "evt_r1" } })
            let batch = [first, try orderDelivery(id: "evt_r2", order: 71).0, try orderDelivery(id: "evt_r3", order: 72).0]
            let refusals = await pipeline.submit(batch: batch) { _, _ in }
            guard case .alreadyInProgress? = refusals[0], case .cancelling? = refusals[1], case .cancelling? = refusals[2] else {
                Issue.record("events behind a refused one were taken: \(refusals)")
                return
            }
            #expect(await pipeline.dispatcher.snapshot.inFlight + pipeline.dispatcher.snapshot.queued == 1)
        }
    }

    /// A row that ended undecided comes back after a backoff; the rows of its ordering key behind it, and new
    /// arrivals of the key meanwhile, must not run first.
    @Test("an ordered adapter's rows admitted again after an undecided run keep their order, ahead of new arrivals of the key")
    func readmissionKeepsOrderPerKey() async throws {
        try await withPipeline(adapter: try orderAdapter(ordered: true)) { pipeline, fake, ledger in
            fake.inject(.status(401))  // the first event ends undecided: the engine refused Sluice
            for id in ["evt_k1", "evt_k2"] {
                let (event, delivery) = try orderDelivery(id: id, order: 80)
                guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                    Issue.record("\(id) was not accepted")
                    return
                }
            }
            let failed = await eventually {
                let inFlight = await pipeline.dispatcher.snapshot.inFlight
                return fake.requests.count == 1 && inFlight == 0
            }
            #expect(failed)
            // During the 1 s backoff a new webhook of the same order arrives.
            let (late, lateDelivery) = try orderDelivery(id: "evt_k3", order: 80)
            guard case .accepted = await pipeline.accept(late, delivery: lateDelivery) else {
                Issue.record("evt_k3 was not accepted")
                return
            }
            #expect(await eventually { ledger.inboxCount == 0 })
            let keys = fake.requests.compactMap { $0.json?["idempotency_key"]?.stringValue }
            #expect(keys == ["evt_k1", "evt_k1", "evt_k2", "evt_k3"])
        }
    }

    /// At start-up (or in a sweep) the first of two pending rows of one order cannot be claimed (the shared ledger
    /// blinked): it was let go for a later sweep while the second ran at once, out of order.
    @Test("re-admission of an ordered adapter keeps a row it cannot claim now ahead of the later rows of its key")
    func readmissionKeepsARowItCannotClaimFirst() async throws {
        let ledger = InMemoryLedger()
        var items: [InboxItem] = []
        for id in ["evt_c1", "evt_c2"] {
            let (_, delivery) = try orderDelivery(id: id, order: 84)
            items.append(InboxItem(id: try await ledger.appendInbox(delivery), delivery: delivery))
        }
        let options = PipelineOptions(claimOwner: "this-replica")
        try await withPipeline(adapter: try orderAdapter(ordered: true), ledger: ledger, options: options) { pipeline, fake, ledger in
            ledger.failClaims(1)
            guard case .left = await pipeline.readmit(items[0]) else {
                Issue.record("the row whose claim failed was not left")
                return
            }
            #expect(await pipeline.readmit(items[1]) == .admitted)
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 }, "delivered without a sweep")
            let keys = fake.requests.compactMap { $0.json?["idempotency_key"]?.stringValue }
            #expect(keys == ["evt_c1", "evt_c2"])
        }
    }

    /// The lane's drainer takes a row up and checks the ledger for it; the row admitted before it ends undecided
    /// again meanwhile and goes back into the lane. The row taken up must not enter the gate ahead of it.
    @Test("a row the lane took up waits behind an earlier row that ended undecided again while it was being checked")
    func aLaneRowWaitsBehindAnEarlierRowTakenBack() async throws {
        try await withPipeline(adapter: try orderAdapter(ordered: true)) { pipeline, fake, ledger in
            fake.inject(.status(401), .status(401))  // evt_t1 ends undecided twice
            for id in ["evt_t1", "evt_t2"] {
                let (event, delivery) = try orderDelivery(id: id, order: 82)
                guard case .accepted = await pipeline.accept(event, delivery: delivery) else {
                    Issue.record("\(id) was not accepted")
                    return
                }
            }
            // After the lane's 1 s backoff the drainer admits evt_t1 and takes evt_t2 up; its ledger check waits
            // until evt_t1 has ended undecided again.
            ledger.holdDecisions(forKeys: ["evt_t2"])
            #expect(await Self.drainerHolds(pipeline, fake: fake, ledger: ledger))
            ledger.releaseDecisions()
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 })
            let keys = fake.requests.compactMap { $0.json?["idempotency_key"]?.stringValue }
            #expect(keys == ["evt_t1", "evt_t1", "evt_t1", "evt_t2"])
        }
    }

    /// Whether the first row ran twice and ended undecided again while the lane's drainer waits in the ledger
    /// check of the second.
    static func drainerHolds(_ pipeline: AdapterPipeline, fake: DurableWorkflowFake, ledger: InMemoryLedger) async -> Bool {
        await eventually(timeout: .seconds(10)) {
            guard fake.requests.count == 2, ledger.heldDecisions == 1 else { return false }
            return await pipeline.dispatcher.snapshot.inFlight == 0
        }
    }

    /// A lane's row that cannot be admitted when its turn comes (here its claim fails) keeps its place at the head.
    @Test("a row its lane cannot admit now keeps its place: a later arrival of its key still waits behind it")
    func aLaneRowNotAdmittedKeepsItsPlace() async throws {
        try await withPipeline(adapter: try orderAdapter(ordered: true), options: PipelineOptions(claimOwner: "this-replica")) {
            pipeline, fake, ledger in
            fake.inject(.status(401))
            let (first, firstDelivery) = try orderDelivery(id: "evt_h1", order: 81)
            guard case .accepted = await pipeline.accept(first, delivery: firstDelivery) else {
                Issue.record("evt_h1 was not accepted")
                return
            }
            #expect(await eventually { fake.requests.count == 1 })
            ledger.failClaims(1)  // the lane's turn for evt_h1 (after 1 s) finds the ledger failing
            try await Task.sleep(for: .milliseconds(1_500))
            let (second, secondDelivery) = try orderDelivery(id: "evt_h2", order: 81)
            guard case .accepted = await pipeline.accept(second, delivery: secondDelivery) else {
                Issue.record("evt_h2 was not accepted")
                return
            }
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 })
            let keys = fake.requests.compactMap { $0.json?["idempotency_key"]?.stringValue }
            #expect(keys == ["evt_h1", "evt_h1", "evt_h2"])
        }
    }

    @Test("with a shared ledger, re-admission leaves a row another replica is working on, and runs it once its claim ends")
    func readmissionRespectsClaims() async throws {
        let ledger = InMemoryLedger()
        let (_, delivery) = try orderDelivery(id: "evt_rc", order: 11)
        let id = try await ledger.appendInbox(delivery)
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "evt_rc", owner: "other-replica", for: .seconds(1))
        try await withPipeline(ledger: ledger, options: PipelineOptions(claimOwner: "this-replica")) { pipeline, fake, ledger in
            guard case .left = await pipeline.readmit(InboxItem(id: id, delivery: delivery)) else {
                Issue.record("a row another replica holds was run again")
                return
            }
            #expect(fake.requests.isEmpty)
            // The other replica died: its claim ends, and this replica delivers the row.
            #expect(await eventually(timeout: .seconds(10)) { ledger.inboxCount == 0 })
            let decided = try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_rc")
            #expect(decided?.kind == .accepted)
            #expect(fake.workflow("order-11") != nil)
        }
    }
}

/// Settlements received by a pull source's callback.
final class SettlementLog: Sendable {
    private let log = Mutex<[Settlement]>([])
    func append(_ settlement: Settlement) { log.withLock { $0.append(settlement) } }
    var items: [Settlement] { log.withLock { $0 } }
    var count: Int { items.count }
}
