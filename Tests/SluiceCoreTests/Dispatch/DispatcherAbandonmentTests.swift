import Foundation
import Synchronization
import Testing

@testable import SluiceCore

/// What happens around an event that ends undecided: its ordering lane, its sibling steps, its redelivery,
/// and a gate whose task is cancelled.
@Suite("Dispatcher: abandonment")
struct DispatcherAbandonmentTests {
    static let unauthorized = EngineError.fatal("unauthorized", "HTTP 401: bad token", statusCode: 401)

    /// A later event of the same ordering key does not overtake one that was abandoned: it is abandoned
    /// too, and both come back from their source in order.
    @Test func anAbandonedEventTakesTheRestOfItsLaneWithIt() async throws {
        // The refusal waits until "second" is queued behind "first": answered at once, "first" could end before
        // "second" was submitted, which would then find an empty lane and run.
        let engine = ScriptedEngine([.gatedError(Self.unauthorized)], otherwise: .outcome(.accepted))
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.submit(PlanFactory.plan("first", orderingKey: "o"), completion: results.completion(for: "first"))
            try await dispatcher.submit(PlanFactory.plan("second", orderingKey: "o"), completion: results.completion(for: "second"))
            engine.release()
            guard case .abandoned = await results.result("first") else { Issue.record("first was not abandoned"); return }
            // Submitted once the engine has answered "first" (the scripted answers go in call order).
            try await dispatcher.submit(PlanFactory.plan("other", orderingKey: "p"), completion: results.completion(for: "other"))
            guard case .abandoned(let reason) = await results.result("second") else {
                Issue.record("second ran before the first was delivered again")
                return
            }
            #expect(reason.contains("earlier event of its ordering key"))
            #expect(await results.result("other").outcome?.kind == .accepted, "another key is not affected")
            // Redelivered in order, both run.
            #expect(try await dispatcher.dispatch(PlanFactory.plan("first", orderingKey: "o")).outcome?.kind == .accepted)
            #expect(try await dispatcher.dispatch(PlanFactory.plan("second", orderingKey: "o")).outcome?.kind == .accepted)
        }
        #expect(engine.calls.map(\.idempotencyKey).filter { $0 != "other" } == ["first", "first", "second"])
    }

    /// An event cut when its cancellation budget ends comes again from its source: the later events of its ordering
    /// key that were not part of the cancellation (admitted after it, or from elsewhere) are abandoned with it, not
    /// started in its place.
    @Test func aCutEventTakesTheRestOfItsLaneWithIt() async throws {
        let engine = ScriptedEngine([.hang], otherwise: .outcome(.accepted))
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("first", orderingKey: "o"), completion: results.completion(for: "first"))
            try await dispatcher.submit(PlanFactory.plan("second", orderingKey: "o"), completion: results.completion(for: "second"))
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["first"], reason: "partition revoked")
            clock.advance(by: .seconds(3))
            guard case .abandoned = await results.result("first") else { Issue.record("first was not cut"); return }
            guard case .abandoned(let reason) = await results.result("second") else {
                Issue.record("second ran before the first was delivered again")
                return
            }
            #expect(reason.contains("earlier event of its ordering key"))
        }
        #expect(engine.calls.map(\.idempotencyKey) == ["first"])
    }

    /// A cut event's task can still be inside an engine call that does not stop at once when its key comes again (a
    /// revoked partition assigned back): the new run waits for that task, so the engine never has the key twice at once.
    @Test func aCutEventsKeyRunsAgainOnlyOnceItsTaskHasEnded() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .outcome(.accepted))
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "cut"))
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["k"], reason: "partition revoked")
            clock.advance(by: .seconds(3))
            guard case .abandoned = await results.result("cut") else { Issue.record("the event was not cut"); return }
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "again"))
            // The first call has not returned (the engine ignores the cancellation for now).
            try await Task.sleep(for: .milliseconds(200))
            #expect(engine.calls.count == 1, "the key was sent again while its cut call was still in the engine")
            #expect(await dispatcher.snapshot.inFlight == 1)
            engine.release(1)
            #expect(await results.result("again").outcome?.kind == .accepted)
        }
        #expect(engine.calls.map(\.idempotencyKey) == ["k", "k"])
    }

    /// A cut task still inside the engine keeps its place of `max_in_flight`: another key starts only once it ended.
    @Test func aCutEventsTaskKeepsItsPlaceUntilItEnds() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .outcome(.accepted))
        let results = ResultBox()
        let boundary = Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 16, cancellationBudget: .seconds(2))
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("a", orderingKey: "x"), completion: results.completion(for: "a"))
            try await dispatcher.submit(PlanFactory.plan("b", orderingKey: "y"), completion: results.completion(for: "b"))
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["a"], reason: "partition revoked")
            clock.advance(by: .seconds(3))
            guard case .abandoned = await results.result("a") else { Issue.record("a was not cut"); return }
            try await Task.sleep(for: .milliseconds(200))
            #expect(engine.calls.count == 1, "b started while the cut call of a was still in the engine")
            engine.release(1)
            #expect(await results.result("b").outcome?.kind == .accepted)
        }
        #expect(engine.calls.map(\.idempotencyKey) == ["a", "b"])
    }

    /// A key's new run that waits for its cut predecessor's task holds that task's place; when the waiting run is cut
    /// too, the task (still in the engine) keeps its place again: no other event starts in it.
    @Test func aCutTaskKeepsItsPlaceWhenTheRunWaitingForItIsCut() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .gate)
        let results = ResultBox()
        let boundary = Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 16, cancellationBudget: .seconds(2))
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "first"))
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["k"], reason: "partition revoked")
            clock.advance(by: .seconds(3))
            guard case .abandoned = await results.result("first") else { Issue.record("the first run was not cut"); return }
            // k again: started by the gate, waiting for the first run's task, which ignores its cancellation.
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "second"))
            await dispatcher.cancel(keys: ["k"], reason: "partition revoked again")
            clock.advance(by: .seconds(3))
            guard case .abandoned = await results.result("second") else { Issue.record("the second run was not cut"); return }
            // Two other keys: one place is free, the other still held by the first run's task.
            try await dispatcher.submit(PlanFactory.plan("x"), completion: results.completion(for: "x"))
            try await dispatcher.submit(PlanFactory.plan("y"), completion: results.completion(for: "y"))
            await engine.waitForCalls(2)
            try await Task.sleep(for: .milliseconds(200))
            #expect(engine.calls.map(\.idempotencyKey) == ["k", "x"], "more calls than max_in_flight at once")
            engine.release(3)
            #expect(await results.result("x").outcome?.kind == .accepted)
            #expect(await results.result("y").outcome?.kind == .accepted)
        }
    }

    /// Cancelling a queued event (one per call, as a revoke's handler may) abandons the events queued behind it in
    /// its lane too: they would otherwise run before it comes back.
    @Test func aCancelledQueuedEventTakesTheEventsBehindItWithIt() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .outcome(.accepted))
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            for key in ["first", "second", "third"] {
                try await dispatcher.submit(PlanFactory.plan(key, orderingKey: "o"), completion: results.completion(for: key))
            }
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["second"], reason: "partition revoked")
            engine.release(1)
            #expect(await results.result("first").outcome?.kind == .accepted)
            guard case .abandoned = await results.result("second") else { Issue.record("second was not abandoned"); return }
            guard case .abandoned(let reason) = await results.result("third") else {
                Issue.record("third ran before the second was delivered again")
                return
            }
            #expect(reason.contains("earlier event of its ordering key"))
        }
        #expect(engine.calls.map(\.idempotencyKey) == ["first"])
    }

    /// A key whose rejection is recorded is decided like an accepted one: submitted again, it is refused as decided
    /// (the caller answers it from the ledger), not run against the engine a second time.
    @Test func aRejectedKeyIsDecided() async throws {
        let engine = ScriptedEngine([.outcome(.rejected, .malformedPayload)], otherwise: .outcome(.accepted))
        try await withDispatcher(engine: engine) { dispatcher, _ in
            let first = try await dispatcher.dispatch(PlanFactory.plan("k"))
            #expect(first.outcome?.kind == .rejected)
            // The result reaches the caller before the gate files the key (after the completion returns).
            await DispatcherTests.waitUntilIdle(dispatcher)
            await #expect {
                try await dispatcher.submit(PlanFactory.plan("k")) { _ in }
            } throws: { error in
                if case DispatchAdmissionError.alreadyDecided = error { true } else { false }
            }
            // Past its dedupe window (the ledger no longer has it), the key is forgotten and admitted again.
            await dispatcher.forgetDecided("k")
            let again = try await dispatcher.dispatch(PlanFactory.plan("k"))
            #expect(again.outcome?.kind == .accepted)
        }
        #expect(engine.calls.count == 2)
    }

    /// A step the engine refuses ends the event at once: its independent sibling, waiting out a long
    /// Retry-After, stops instead of holding the event's slot.
    @Test func aFatalStepStopsItsSiblings() async throws {
        let engine = ScriptedEngine([.hang, .error(Self.unauthorized)], otherwise: .outcome(.accepted))
        let plan = PlanFactory.plan("k", steps: [("a", [], .startWorkflow), ("b", [], .startWorkflow)])
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.submit(plan, completion: results.completion(for: "k"))
            guard case .abandoned(let reason) = await results.result("k") else { Issue.record("not abandoned"); return }
            #expect(reason.contains("unauthorized"), "the engine's refusal is the reason, not the cancelled sibling")
            #expect(await DispatcherTests.waitUntilIdle(dispatcher).inFlight == 0)
        }
        #expect(engine.calls.count == 2)
    }

    /// A redelivery of an abandoned key into a full gate is refused `saturated` (429 with Retry-After), not
    /// `alreadyInProgress`.
    @Test func aRedeliveryIntoAFullGateIsSaturated() async throws {
        let engine = ScriptedEngine([.error(Self.unauthorized)], otherwise: .gate)
        let boundary = Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(1))
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            guard case .abandoned = try await dispatcher.dispatch(PlanFactory.plan("k")) else { Issue.record("not abandoned"); return }
            try await dispatcher.submit(PlanFactory.plan("a"), completion: results.completion(for: "a"))
            await engine.waitForCalls(2)
            try await dispatcher.submit(PlanFactory.plan("b"), completion: results.completion(for: "b"))
            await #expect {
                try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "k"))
            } throws: { error in
                if case DispatchAdmissionError.saturated = error { true } else { false }
            }
            engine.release(2)
            _ = await results.result("b")
        }
    }

    /// While the gate is cancelling, a pull source's wait for room returns at once (it is refused
    /// `cancelling` then), even with the queue full and nothing left to settle.
    @Test func waitingForRoomReturnsWhileCancelling() async throws {
        let engine = ScriptedEngine(otherwise: .hang)
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 2, cancellationBudget: .seconds(60))
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            for key in ["a", "b", "c"] {
                try await dispatcher.submit(PlanFactory.plan(key), source: .pull, completion: results.completion(for: key))
            }
            await dispatcher.cancel(reason: "shutting down")
            await dispatcher.waitForPullCapacity()
            clock.advance(by: .seconds(61))
            _ = await results.result("a")
        }
    }

    /// Cancelling the task that runs the gate cuts everything at once: queued events are abandoned, a
    /// hanging engine call is cancelled, and `run()` returns.
    @Test func cancellingTheGatesTaskLeavesNoBudget() async throws {
        let engine = ScriptedEngine(otherwise: .hang)
        let clock = ManualClock()
        let dispatcher = Dispatcher(
            adapter: "orders", boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 4, cancellationBudget: .seconds(3_600)),
            retry: .default, engine: engine, clock: clock, currentVersion: { 1 }, jitterSeed: 42)
        let running = Task { await dispatcher.run() }
        let results = ResultBox()
        try await dispatcher.submit(PlanFactory.plan("a"), completion: results.completion(for: "a"))
        try await dispatcher.submit(PlanFactory.plan("b"), completion: results.completion(for: "b"))
        await engine.waitForCalls(1)
        running.cancel()
        await running.value
        guard case .abandoned = await results.result("a"), case .abandoned = await results.result("b") else {
            Issue.record("expected both abandoned")
            return
        }
        #expect(await dispatcher.snapshot.inFlight == 0)
    }
}
