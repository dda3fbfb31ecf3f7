import Foundation
import Synchronization
import Testing

@testable import SluiceCore

/// A ``DispatchRecorder`` that holds its calls until the test lets them go, and remembers what each call held.
final class HeldRecorder: DispatchRecorder {
    private struct State {
        var calls: [[String]] = []
        var held = 0
        var released = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var results: [String: DispatchResult] = [:]
    }
    private let state = Mutex(State())
    /// Keys whose result this recorder says is not durable (a failed ledger write).
    private let notDurable: Set<String>

    init(notDurable: Set<String> = []) {
        self.notDurable = notDurable
    }

    func record(_ finished: [FinishedEvent]) async -> [Bool] {
        let keys = finished.map(\.plan.idempotencyKey)
        let hold = state.withLock { state -> Bool in
            state.calls.append(keys)
            return !state.released
        }
        if hold {
            await withCheckedContinuation { continuation in
                let go = state.withLock { state -> Bool in
                    if state.released { return true }
                    state.held += 1
                    state.waiters.append(continuation)
                    return false
                }
                if go { continuation.resume() }
            }
        }
        state.withLock { state in
            for event in finished {
                precondition(state.results[event.plan.idempotencyKey] == nil, "recorded twice")
                state.results[event.plan.idempotencyKey] = event.result
            }
        }
        return keys.map { !notDurable.contains($0) }
    }

    /// Lets every held call and every later one go.
    func release() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var calls: [[String]] { state.withLock { $0.calls } }
    var held: Int { state.withLock { $0.held } }
    var results: [String: DispatchResult] { state.withLock { $0.results } }
}

@Suite struct DispatcherBatchedRecordingTests {
    static func submissions(_ plans: [Plan], recorder: HeldRecorder) -> [Dispatcher.Submission] {
        plans.map { Dispatcher.Submission(plan: $0, context: nil, completion: .batched(recorder, attachment: $0.idempotencyKey)) }
    }

    /// Waits until `condition` holds, looking every millisecond (at most ten seconds).
    static func eventually(_ condition: () async -> Bool) async {
        for _ in 0..<10_000 {
            if await condition() { return }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test func eventsFinishedMeanwhileAreRecordedTogetherAndALaneMovesOnOnlyOnceRecorded() async throws {
        let engine = ScriptedEngine(otherwise: .outcome(.accepted))
        let recorder = HeldRecorder()
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 16, maxQueued: 32, cancellationBudget: .seconds(2))
        let plans = (1...12).map { PlanFactory.plan("k\($0)", orderingKey: "lane-\($0)") } + [PlanFactory.plan("k1-next", orderingKey: "lane-1")]
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            let admissions = await dispatcher.submitAll(Self.submissions(plans, recorder: recorder))
            #expect(admissions.allSatisfy { $0 == .admitted })
            // Every first event of a lane has run; the recorder holds the calls it got, the rest wait for it.
            await Self.eventually {
                let pending = dispatcher.finished.withLock { $0.results.count }
                return engine.calls.count == 12 && recorder.calls.map(\.count).reduce(0, +) + pending == 12
            }
            #expect(recorder.calls.count <= Dispatcher.concurrentRecorders)
            let waiting = dispatcher.finished.withLock { $0.results.count }
            #expect(recorder.calls.contains { $0.count > 1 } || waiting > 1, "recorded together")
            #expect(!engine.calls.map(\.idempotencyKey).contains("k1-next"), "its lane waits until k1 is recorded")
            recorder.release()
            await Self.eventually { recorder.results.count == 13 }
        }
        #expect(recorder.results.values.allSatisfy { $0.outcome?.kind == .accepted })
        #expect(Set(recorder.calls.joined()) == Set(plans.map(\.idempotencyKey)))
        #expect(recorder.calls.joined().count == 13, "each event recorded once")
        // The held calls, one for the twelve still pending at the release (or fewer), one for k1-next.
        #expect(recorder.calls.count <= Dispatcher.concurrentRecorders + 2)
        #expect(engine.calls.last?.idempotencyKey == "k1-next")
    }

    @Test func aResultNotMadeDurableEndsUndecidedWithTheEventsBehindIt() async throws {
        let engine = ScriptedEngine(otherwise: .outcome(.accepted))
        let recorder = HeldRecorder(notDurable: ["a"])
        recorder.release()
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 4, maxQueued: 8, cancellationBudget: .seconds(2))
        let plans = [PlanFactory.plan("a", orderingKey: "lane"), PlanFactory.plan("b", orderingKey: "lane")]
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            _ = await dispatcher.submitAll(Self.submissions(plans, recorder: recorder))
            await Self.eventually { recorder.results.count == 2 }
            #expect(recorder.results["b"] == .abandoned(reason: "an earlier event of its ordering key was not recorded"))
            // Not in the ledger: a redelivery runs it again instead of being refused as decided.
            let next = HeldRecorder()
            next.release()
            let again = await dispatcher.submitAll(Self.submissions([PlanFactory.plan("a")], recorder: next))
            #expect(again == [.admitted])
            await Self.eventually { engine.calls.count == 2 }
        }
        #expect(engine.calls.map(\.idempotencyKey) == ["a", "a"])
    }

    /// A result that waits for a recorder (all of them busy writing) when the cancellation budget runs out is being
    /// recorded, not cut: its event ends decided, and the engine does not see it again.
    @Test func aResultWaitingForABusyRecorderIsNotCutByTheBudget() async throws {
        let busy = Dispatcher.concurrentRecorders
        let engine = ScriptedEngine(Array(repeating: .outcome(.accepted), count: busy) + [.gate])
        let recorder = HeldRecorder()
        let boundary = Boundary(mode: .pullOnly, maxInFlight: busy + 1, maxQueued: 16, cancellationBudget: .seconds(2))
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            // One event per recorder call, each call held: every recorder task is busy.
            for index in 1...busy {
                _ = await dispatcher.submitAll(Self.submissions([PlanFactory.plan("k\(index)")], recorder: recorder))
                await Self.eventually { recorder.held == index }
            }
            _ = await dispatcher.submitAll(Self.submissions([PlanFactory.plan("late")], recorder: recorder))
            await engine.waitForCalls(busy + 1)
            await dispatcher.cancel(reason: "shutdown")
            engine.release()
            await Self.eventually { dispatcher.finished.withLock { $0.results.count } == 1 }
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
            // The expiry has run once it took the waiting result in, or (what must not happen) cut its event.
            await Self.eventually {
                let cut = await dispatcher.snapshot.abandoned > 0
                return cut || dispatcher.finished.withLock { $0.results.isEmpty }
            }
            recorder.release()
            await Self.eventually { recorder.results.count == busy + 1 }
        }
        #expect(recorder.results["late"]?.outcome?.kind == .accepted, "\(String(describing: recorder.results["late"]))")
        #expect(engine.calls.count == busy + 1)
    }

    /// Events of two recorders finished together: each recorder gets its own events only, each once.
    @Test func eachRecorderRecordsItsOwnEvents() async throws {
        let engine = ScriptedEngine(otherwise: .outcome(.accepted))
        let (first, second) = (HeldRecorder(), HeldRecorder())
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 16, maxQueued: 32, cancellationBudget: .seconds(2))
        let plans = (1...10).map { PlanFactory.plan("k\($0)") }
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            let submissions = plans.enumerated().map { index, plan in
                Dispatcher.Submission(
                    plan: plan, context: nil,
                    completion: .batched(index.isMultiple(of: 2) ? first : second, attachment: plan.idempotencyKey))
            }
            _ = await dispatcher.submitAll(submissions)
            await Self.eventually { engine.calls.count == 10 }
            first.release()
            second.release()
            await Self.eventually { first.results.count + second.results.count == 10 }
        }
        #expect(Set(first.results.keys) == ["k1", "k3", "k5", "k7", "k9"])
        #expect(Set(second.results.keys) == ["k2", "k4", "k6", "k8", "k10"])
        #expect(first.calls.joined().count == 5 && second.calls.joined().count == 5)
    }

    @Test func queuedEventsAbandonedByACancellationReachTheRecorder() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .outcome(.accepted))
        let recorder = HeldRecorder()
        recorder.release()
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 8, cancellationBudget: .seconds(2))
        let plans = [PlanFactory.plan("running"), PlanFactory.plan("queued")]
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            _ = await dispatcher.submitAll(Self.submissions(plans, recorder: recorder))
            await engine.waitForCalls(1)
            await dispatcher.cancel(reason: "partitions revoked")
            await Self.eventually { recorder.results["queued"] != nil }
            engine.release()
            await Self.eventually { recorder.results.count == 2 }
            // The budget's timer, which found nothing left to cut.
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
        }
        #expect(recorder.results["queued"] == .abandoned(reason: "partitions revoked"))
        #expect(recorder.results["running"]?.outcome?.kind == .accepted, "it finished within its budget")
    }
}
