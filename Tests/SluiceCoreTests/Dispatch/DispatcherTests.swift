import Foundation
import Synchronization
import Testing

@testable import SluiceCore

@Suite struct DispatcherTests {
    @Test func aPlanEndsWithOneAcceptedOutcomeAndItsReport() async throws {
        let engine = ScriptedEngine([.outcome(.accepted)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.dispatch(PlanFactory.plan("k1"))
        }
        let outcome = try #require(result.outcome)
        #expect(outcome.kind == .accepted)
        #expect(outcome.idempotencyKey == "k1")
        #expect(outcome.sluice?.attempts == 1)
        #expect(outcome.sluice?.steps.map(\.status) == [.succeeded])
        #expect(outcome.sluice?.sourcePosition == .inbox(id: 1))
        #expect(engine.calls.map(\.requestID) == ["req-k1-1"])
    }

    @Test func retryableErrorsBackOffWithFullJitterWithinTheCeiling() async throws {
        let transient = EngineError.retryable("server_error", "HTTP 503", statusCode: 503)
        let engine = ScriptedEngine([.error(transient), .error(transient), .error(transient), .outcome(.accepted)])
        let retry = RetryPolicy(maxAttempts: 10, initialInterval: .milliseconds(200), backoffCoefficient: 2, maxInterval: .seconds(30), nonRetryable: [])
        let results = ResultBox()
        try await withDispatcher(engine: engine, retry: retry) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k1"), completion: results.completion(for: "k1"))
            for (attempt, ceiling) in [(1, Duration.milliseconds(200)), (2, .milliseconds(400)), (3, .milliseconds(800))] {
                await engine.waitForCalls(attempt)
                await clock.waitForSleepers(1)
                let delay = try #require(clock.pendingDelays.first)
                #expect(delay >= .zero && delay <= ceiling, "attempt \(attempt) waits \(delay), ceiling \(ceiling)")
                clock.advance(by: delay)
            }
            let outcome = try #require(await results.result("k1").outcome)
            #expect(outcome.kind == .accepted)
            #expect(outcome.sluice?.steps.first?.attempts == 4)
            #expect(outcome.sluice?.attempts == 4)
        }
        #expect(Set(engine.calls.map(\.requestID)) == ["req-k1-1"], "every retry reuses the step's request id")
    }

    @Test func retryAfterIsALowerBound() async throws {
        let engine = ScriptedEngine([.error(.retryable("rate_limited", "HTTP 429", retryAfter: .seconds(7), statusCode: 429)), .outcome(.accepted)])
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k1"), completion: results.completion(for: "k1"))
            await clock.waitForSleepers(1)
            #expect(clock.pendingDelays == [.seconds(7)])
            clock.advance(by: .seconds(6))
            #expect(engine.calls.count == 1)
            clock.advance(by: .seconds(1))
            #expect(await results.result("k1").outcome?.kind == .accepted)
        }
    }

    @Test func aNonRetryableRejectionEndsAtOnce() async throws {
        let engine = ScriptedEngine([.outcome(.rejected, .unknownTarget)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.dispatch(PlanFactory.plan("k1"))
        }
        let outcome = try #require(result.outcome)
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == .unknownTarget)
        #expect(engine.calls.count == 1)
        #expect(outcome.sluice?.steps.first?.status == .failed)
    }

    @Test func aRetryableRejectionIsTriedAgain() async throws {
        let engine = ScriptedEngine([.outcome(.rejected, .taskQueueDraining), .outcome(.duplicate)])
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k1"), completion: results.completion(for: "k1"))
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(1))
            let outcome = try #require(await results.result("k1").outcome)
            #expect(outcome.kind == .duplicate)
        }
    }

    @Test func exhaustedRetriesEndRejectedWithTheLastError() async throws {
        let engine = ScriptedEngine(otherwise: .error(.retryable("transport", "connection refused")))
        let retry = RetryPolicy(maxAttempts: 3, initialInterval: .milliseconds(100), backoffCoefficient: 2, maxInterval: .seconds(1), nonRetryable: [])
        let results = ResultBox()
        try await withDispatcher(engine: engine, retry: retry) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k1"), completion: results.completion(for: "k1"))
            for attempt in 1...2 {
                await engine.waitForCalls(attempt)
                await clock.waitForSleepers(1)
                clock.advance(by: .seconds(1))
            }
            let outcome = try #require(await results.result("k1").outcome)
            #expect(outcome.kind == .rejected)
            #expect(outcome.reason == .retriesExhausted)
            #expect(outcome.message?.contains("gave up after 3 attempts") == true)
            #expect(outcome.sluice?.steps.first?.lastError?.contains("connection refused") == true)
        }
        #expect(engine.calls.count == 3)
    }

    /// A rejection the same command sent again cannot change ends the event at once under the default policy
    /// (no backoff on the manual clock: a retry would wait for it for ever).
    @Test(arguments: [
        OutcomeReason.instanceAlreadyStarted, .runNotActive, .unsupportedAction, "unknown_signal", "invalid_arguments",
        "workflow_id_reserved_in_namespace",
    ])
    func aFinalRejectionIsNotRetried(reason: OutcomeReason) async throws {
        let engine = ScriptedEngine([.outcome(.rejected, reason)], otherwise: .outcome(.accepted))
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in try await dispatcher.dispatch(PlanFactory.plan("k1")) }
        let outcome = try #require(result.outcome)
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == reason)
        #expect(outcome.sluice?.attempts == 1)
        #expect(engine.calls.count == 1)
    }

    @Test func aFailedStepSkipsTheStepsThatNeedIt() async throws {
        let engine = ScriptedEngine([.outcome(.rejected, .malformedPayload)])
        let plan = PlanFactory.plan("k1", steps: [("start", [], .startWorkflow), ("signal", ["start"], .signalWorkflow)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in try await dispatcher.dispatch(plan) }
        let outcome = try #require(result.outcome)
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == .malformedPayload)
        #expect(outcome.action == "start_workflow")
        #expect(outcome.sluice?.steps.map(\.status) == [.failed, .skipped])
        #expect(outcome.sluice?.steps.last?.reason == .dependencyFailed)
        #expect(engine.calls.count == 1)
    }

    @Test func independentStepsRunTogetherAndDependentsAfter() async throws {
        let engine = ScriptedEngine([.gate, .gate, .outcome(.accepted)])
        let plan = PlanFactory.plan("k1", steps: [("a", [], .startWorkflow), ("b", [], .startWorkflow), ("c", ["a", "b"], .signalWorkflow)])
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.submit(plan, completion: results.completion(for: "k1"))
            await engine.waitForCalls(2)
            #expect(engine.calls.map(\.requestID).sorted() == ["req-k1-a", "req-k1-b"])
            engine.release(2)
            let outcome = try #require(await results.result("k1").outcome)
            #expect(outcome.kind == .accepted)
            #expect(outcome.sluice?.steps.map(\.status) == [.succeeded, .succeeded, .succeeded])
        }
        #expect(engine.calls.last?.requestID == "req-k1-c")
    }

    @Test func allDuplicatesMakeADuplicateOutcome() async throws {
        let engine = ScriptedEngine(otherwise: .outcome(.duplicate))
        let plan = PlanFactory.plan("k1", steps: [("1", [], .startWorkflow), ("2", ["1"], .signalWorkflow)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in try await dispatcher.dispatch(plan) }
        #expect(result.outcome?.kind == .duplicate)
    }

    /// A plan whose first step took effect and whose last was a duplicate (a `use_existing` start of a running
    /// workflow) is accepted, without the last step's `duplicate_start`: the event's outcome read "accepted,
    /// duplicate_start" in the ledger, the outcome topic and the metrics.
    @Test func anAcceptedPlanEndingInADuplicateStepHasNoDuplicateReason() async throws {
        let engine = ScriptedEngine([.outcome(.accepted), .outcome(.duplicate, .duplicateStart)])
        let plan = PlanFactory.plan("k2", steps: [("1", [], .startWorkflow), ("2", ["1"], .startWorkflow)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in try await dispatcher.dispatch(plan) }
        #expect(result.outcome?.kind == .accepted)
        #expect(result.outcome?.reason == nil)
    }

    /// Two independent steps run side by side: each reports its own time, not the time the slower one finished.
    @Test(.timeLimit(.minutes(1))) func stepsRunSideBySideReportTheirOwnDurations() async throws {
        let engine = ScriptedEngine([.outcome(.accepted), .gate], otherwise: .outcome(.accepted))
        let plan = PlanFactory.plan(
            "k3", steps: [("a", [], .startWorkflow), ("b", [], .startWorkflow), ("c", ["a"], .signalWorkflow), ("d", ["b"], .signalWorkflow)])
        let result = try await withDispatcher(engine: engine) { dispatcher, clock in
            let running = Task { try await dispatcher.dispatch(plan) }
            // The third call is the step after the fast one: the fast step's answer is recorded by then.
            await engine.waitForCalls(3)
            clock.advance(by: .milliseconds(400))
            engine.release()
            return try await running.value
        }
        // Which of `a` and `b` the engine answers first is up to the scheduler: one took no time, the other 400 ms.
        let durations = (result.outcome?.sluice?.steps ?? []).filter { ["a", "b"].contains($0.id) }.map(\.durationMilliseconds).sorted()
        #expect(durations.count == 2)
        #expect(durations.first == 0, "the fast step reported the slow one's time: \(durations)")
        #expect((durations.last ?? 0) >= 399)
    }

    /// `a` and `b` run at once; `c` needs only `a`, `d` only `b`. The step after the one that answers first starts
    /// while the other still waits (it ran in waves: both of the first pair had to end before either next one).
    @Test func aStepStartsWhenTheStepsItNeedsEndNotItsWave() async throws {
        let engine = ScriptedEngine([.outcome(.accepted), .gate], otherwise: .outcome(.accepted))
        let plan = PlanFactory.plan(
            "k4", steps: [("a", [], .startWorkflow), ("b", [], .startWorkflow), ("c", ["a"], .signalWorkflow), ("d", ["b"], .signalWorkflow)])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in
            let running = Task { try await dispatcher.dispatch(plan) }
            let deadline = ContinuousClock.now + .seconds(5)
            while engine.calls.count < 3, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(engine.calls.count == 3, "the next step waited for its wave's slow step")
            engine.release()
            return try await running.value
        }
        #expect(result.outcome?.kind == .accepted)
        #expect(engine.calls.count == 4)
        #expect(result.outcome?.sluice?.steps.allSatisfy { $0.status == .succeeded } == true)
    }

    @Test func theSameOrderingKeyRunsOneAtATimeInOrder() async throws {
        let engine = ScriptedEngine([.gate], otherwise: .outcome(.accepted))
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.submit(PlanFactory.plan("first", orderingKey: "order-1"), completion: results.completion(for: "first"))
            try await dispatcher.submit(PlanFactory.plan("second", orderingKey: "order-1"), completion: results.completion(for: "second"))
            await engine.waitForCalls(1)  // "first" holds the scripted gate before "other" starts
            try await dispatcher.submit(PlanFactory.plan("other", orderingKey: "order-2"), completion: results.completion(for: "other"))
            _ = await results.result("other")
            #expect(results.count == 1, "order-1's second event waits for the first")
            #expect(await Self.waitUntilIdle(dispatcher, inFlight: 1).inFlight == 1)
            engine.release()
            _ = await results.result("second")
        }
        #expect(results.order == ["other", "first", "second"])
        #expect(engine.calls.map(\.idempotencyKey).filter { $0 != "other" } == ["first", "second"])
    }

    @Test func aFullQueueRefusesPushWithRetryAfter() async throws {
        let engine = ScriptedEngine(otherwise: .gate)
        let boundary = Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(1))
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            try await dispatcher.submit(PlanFactory.plan("a"), completion: results.completion(for: "a"))
            try await dispatcher.submit(PlanFactory.plan("b"), completion: results.completion(for: "b"))
            await #expect(throws: DispatchAdmissionError.saturated(maxQueued: 1, retryAfter: .seconds(1))) {
                try await dispatcher.submit(PlanFactory.plan("c"), completion: results.completion(for: "c"))
            }
            await #expect(throws: DispatchAdmissionError.alreadyInProgress(key: "a")) {
                try await dispatcher.submit(PlanFactory.plan("a"), completion: results.completion(for: "a2"))
            }
            #expect(await dispatcher.pullCapacity == 0)
            #expect(await dispatcher.snapshot.refused == 1, "the runtime counts backpressure refusals only")
            engine.release()
            _ = await results.result("a")
            await engine.waitForCalls(2)
            engine.release()
            _ = await results.result("b")
        }
    }

    /// A webhook reserves its place before the inbox write: other admissions cannot take it meanwhile, and the
    /// stored event is admitted into it; a place given back (the write failed) is free again.
    @Test func reservedPlacesAreHeldForTheEventsBeingStored() async throws {
        let engine = ScriptedEngine(otherwise: .gate)
        let boundary = Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 2, cancellationBudget: .seconds(1))
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, _ in
            try await dispatcher.submit(PlanFactory.plan("running"), completion: results.completion(for: "running"))
            await engine.waitForCalls(1)
            try await dispatcher.reserveAdmission(key: "b")
            try await dispatcher.reserveAdmission(key: "c")
            await #expect(throws: DispatchAdmissionError.self) { try await dispatcher.reserveAdmission(key: "d") }
            await #expect(throws: DispatchAdmissionError.self) {
                try await dispatcher.submit(PlanFactory.plan("x"), completion: results.completion(for: "x"))
            }
            try await dispatcher.submitReserved(PlanFactory.plan("b")) { result in
                await results.completion(for: "b")(result)
                return true
            }
            await dispatcher.releaseReservation()  // c's inbox write failed
            try await dispatcher.submit(PlanFactory.plan("y"), completion: results.completion(for: "y"))
            #expect(await dispatcher.snapshot.queued == 2)
            for done in 1...3 {
                await engine.waitForCalls(done)
                engine.release()
            }
            _ = await results.result("y")
        }
        #expect(results.order == ["running", "b", "y"])
    }

    @Test func aPullOnlyBoundaryRefusesPush() async throws {
        let boundary = Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(1))
        try await withDispatcher(engine: ScriptedEngine(), boundary: boundary) { dispatcher, _ in
            await #expect(throws: DispatchAdmissionError.modeRefused(mode: .pullOnly)) {
                try await dispatcher.submit(PlanFactory.plan("a"), completion: { _ in })
            }
            let result = try await dispatcher.dispatch(PlanFactory.plan("b"), source: .pull)
            #expect(result.outcome?.kind == .accepted)
        }
    }

    @Test func cancellationGivesInFlightWorkItsBudgetThenAbandonsIt() async throws {
        let engine = ScriptedEngine([.hang, .gate])
        let boundary = Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 4, cancellationBudget: .seconds(2))
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("hangs", orderingKey: "x"), completion: results.completion(for: "hangs"))
            await engine.waitForCalls(1)  // "hangs" takes the scripted hang before "finishes" starts
            try await dispatcher.submit(PlanFactory.plan("finishes", orderingKey: "y"), completion: results.completion(for: "finishes"))
            try await dispatcher.submit(PlanFactory.plan("queued", orderingKey: "x"), completion: results.completion(for: "queued"))
            await engine.waitForCalls(2)
            await dispatcher.cancel(reason: "shutdown")
            #expect(await results.result("queued") == .abandoned(reason: "shutdown"))
            await #expect(throws: DispatchAdmissionError.cancelling(reason: "shutdown")) {
                try await dispatcher.submit(PlanFactory.plan("late"), completion: { _ in })
            }
            engine.release()
            #expect(await results.result("finishes").outcome?.kind == .accepted)
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
            #expect(await results.result("hangs") == .abandoned(reason: "shutdown"))
            let snapshot = await Self.waitUntilIdle(dispatcher)
            #expect(snapshot.abandoned == 1)
            #expect(snapshot.inFlight == 0)
        }
        #expect(results.count == 3)
    }

    @Test func anOutcomeBeingRecordedWhenTheBudgetRunsOutIsNeitherAbandonedNorCancelled() async throws {
        let engine = ScriptedEngine([.hang, .gate])
        let boundary = Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 2, cancellationBudget: .seconds(2))
        let results = ResultBox()
        let recording = HeldRecording()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("hangs"), completion: results.completion(for: "hangs"))
            await engine.waitForCalls(1)
            try await dispatcher.submit(PlanFactory.plan("k"), completion: recording.completion)
            await engine.waitForCalls(2)
            await dispatcher.cancel(reason: "shutdown")
            engine.release()
            await recording.waitUntilRecording()
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
            #expect(await results.result("hangs") == .abandoned(reason: "shutdown"), "the expiry has run")
            #expect(await dispatcher.snapshot.abandoned == 1, "only the event still running was abandoned")
            recording.release()
        }
        #expect(recording.result?.outcome?.kind == .accepted)
        #expect(!recording.wasCancelled, "the budget must not cancel the recording of an outcome")
    }

    /// The same when the cancellation comes only after the result is in (a revoke, then shutdown, while the
    /// outcome is being written): no new budget for it, so its ordering key's lane stays held until it is durable.
    @Test func aCancellationRequestedWhileAnOutcomeIsBeingRecordedLeavesItAlone() async throws {
        let engine = ScriptedEngine([.hang, .outcome(.accepted), .outcome(.accepted)])
        let boundary = Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 4, cancellationBudget: .seconds(2))
        let results = ResultBox()
        let recording = HeldRecording()
        try await withDispatcher(engine: engine, boundary: boundary) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("hangs"), completion: results.completion(for: "hangs"))
            await engine.waitForCalls(1)
            try await dispatcher.submit(PlanFactory.plan("k", orderingKey: "order-1"), completion: recording.completion)
            await recording.waitUntilRecording()
            try await dispatcher.submit(PlanFactory.plan("next", orderingKey: "order-1"), completion: results.completion(for: "next"))
            await dispatcher.cancel(keys: ["k", "hangs"], reason: "partition revoked")
            await dispatcher.cancel(reason: "shutdown")
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
            #expect(await results.result("hangs") == .abandoned(reason: "partition revoked"))
            #expect(await results.result("next") == .abandoned(reason: "shutdown"), "queued behind k, never started")
            #expect(engine.calls.map(\.idempotencyKey) == ["hangs", "k"], "k's successor did not start before k was recorded")
            recording.release()
        }
        #expect(recording.result?.outcome?.kind == .accepted)
        #expect(!recording.wasCancelled, "the budget must not cancel the recording of an outcome")
    }

    @Test func cancellingAfterFinishStillAbandonsAtTheBudgetAndRunReturns() async throws {
        let engine = ScriptedEngine([.hang])
        let clock = ManualClock()
        let dispatcher = Dispatcher(
            adapter: "orders", boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(2)),
            retry: .default, engine: engine, clock: clock, currentVersion: { 1 }, jitterSeed: 1)
        let results = ResultBox()
        async let running: Void = dispatcher.run()
        try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "k"))
        await engine.waitForCalls(1)
        await dispatcher.finish()
        await dispatcher.cancel(reason: "shutdown")
        await clock.waitForSleepers(1)
        clock.advance(by: .seconds(2))
        #expect(await results.result("k") == .abandoned(reason: "shutdown"))
        await running
    }

    /// Shutdown takes as long as the work in flight, not always the whole budget: once the last run has settled, the
    /// budget's timer stops and ``Dispatcher/run()`` returns (a budget longer than an orchestrator's grace period
    /// would otherwise get every graceful shutdown killed).
    @Test func runReturnsWhenTheLastRunSettlesNotAtTheBudgetsEnd() async throws {
        let engine = ScriptedEngine([.gate])
        let clock = ManualClock()
        let dispatcher = Dispatcher(
            adapter: "orders", boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(30)),
            retry: .default, engine: engine, clock: clock, currentVersion: { 1 }, jitterSeed: 1)
        let results = ResultBox()
        let running = Task { await dispatcher.run() }
        try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "k"))
        await engine.waitForCalls(1)
        await dispatcher.cancel(reason: "shutting down")
        await dispatcher.finish()
        await clock.waitForSleepers(1)  // the budget's timer
        engine.release()
        #expect(await results.result("k").outcome?.kind == .accepted)
        // The clock never reaches the deadline: run() must return on its own. (Waited for through a stream, whose
        // iteration a cancelled group ends; awaiting the task itself would not.)
        let (ended, endedSink) = AsyncStream.makeStream(of: Void.self)
        Task {
            await running.value
            endedSink.finish()
        }
        let returned = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in ended {}
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(returned, "run() waited for the budget's deadline with nothing left to cut")
        if !returned {
            clock.advance(by: .seconds(30))
            await running.value
        }
    }

    @Test func aBackoffWaitIsCutShortByAbandonment() async throws {
        let engine = ScriptedEngine(otherwise: .error(.retryable("server_error", "HTTP 500")))
        let boundary = Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .seconds(1))
        let retry = RetryPolicy(maxAttempts: 10, initialInterval: .seconds(30), backoffCoefficient: 1, maxInterval: .seconds(30), nonRetryable: [])
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: boundary, retry: retry) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "k"))
            await engine.waitForCalls(1)
            await clock.waitForSleepers(1)
            await dispatcher.cancel(reason: "partition revoked")
            await clock.waitForSleepers(2)
            clock.advance(by: .seconds(1))
            #expect(await results.result("k") == .abandoned(reason: "partition revoked"))
        }
        #expect(engine.calls.count == 1)
    }

    @Test func cancellingSomeKeysLeavesTheOthersRunning() async throws {
        let engine = ScriptedEngine([.hang, .outcome(.accepted)])
        let results = ResultBox()
        try await withDispatcher(engine: engine) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("revoked"), completion: results.completion(for: "revoked"))
            await engine.waitForCalls(1)
            await dispatcher.cancel(keys: ["revoked"], reason: "partition 3 revoked")
            try await dispatcher.submit(PlanFactory.plan("kept"), completion: results.completion(for: "kept"))
            #expect(await results.result("kept").outcome?.kind == .accepted)
            await clock.waitForSleepers(1)
            clock.advance(by: .seconds(2))
            #expect(await results.result("revoked") == .abandoned(reason: "partition 3 revoked"))
            // Redelivered to this consumer later: it runs again.
            #expect(try await dispatcher.dispatch(PlanFactory.plan("revoked")).outcome?.kind == .accepted)
        }
    }

    @Test func workMappedUnderAnOlderVersionIsNotSilentlyRemapped() async throws {
        let engine = ScriptedEngine()
        try await withDispatcher(engine: engine, version: { 2 }) { dispatcher, _ in
            let stale = try await dispatcher.dispatch(PlanFactory.plan("old", version: 1))
            #expect(stale.outcome?.kind == .rejected)
            #expect(stale.outcome?.reason == .incompatibleState)
            #expect(engine.calls.isEmpty)
            let remapped = try await dispatcher.dispatch(PlanFactory.plan("remapped", version: 1), remap: true)
            #expect(remapped.outcome?.kind == .accepted)
        }
    }

    @Test func aVersionChangeDuringRetriesStopsTheRetries() async throws {
        let version = VersionBox(1)
        let engine = ScriptedEngine(otherwise: .error(.retryable("server_error", "HTTP 502")))
        let results = ResultBox()
        try await withDispatcher(engine: engine, version: { version.value }) { dispatcher, clock in
            try await dispatcher.submit(PlanFactory.plan("k"), completion: results.completion(for: "k"))
            await clock.waitForSleepers(1)
            version.value = 2
            clock.advance(by: .seconds(1))
            let outcome = try #require(await results.result("k").outcome)
            #expect(outcome.reason == .incompatibleState)
        }
        #expect(engine.calls.count == 1)
    }

    @Test func aFatalEngineErrorAbandonsTheEventSoItIsRedelivered() async throws {
        let engine = ScriptedEngine([.error(.fatal("unauthorized", "HTTP 401: bad token", statusCode: 401))])
        let result = try await withDispatcher(engine: engine) { dispatcher, _ in
            try await dispatcher.dispatch(PlanFactory.plan("k"))
        }
        guard case .abandoned(let reason) = result else { Issue.record("expected abandoned, got \(result)"); return }
        #expect(reason.contains("unauthorized"))
    }

    /// Waits until `inFlight` events are in flight (by default none: the last completion has returned and the
    /// gate has filed its key), or ten seconds have passed, and returns the gate's snapshot. A result reaches its
    /// completion before the gate frees the event's place, so a test that has the result must wait for this
    /// before counting places.
    @discardableResult
    static func waitUntilIdle(_ dispatcher: Dispatcher, inFlight: Int = 0) async -> GateSnapshot {
        for _ in 0..<10_000 {
            let snapshot = await dispatcher.snapshot
            if snapshot.inFlight == inFlight { return snapshot }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return await dispatcher.snapshot
    }

    /// A pull-only gate of one in flight and four queued, and a scripted engine that holds each call.
    static let fullPullGate = Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 4, cancellationBudget: .seconds(1))

    /// Fills ``fullPullGate`` from a pull source: "a" in flight, "b" … "e" queued.
    func fill(_ dispatcher: Dispatcher, results: ResultBox) async throws {
        for key in ["a", "b", "c", "d", "e"] {
            try await dispatcher.submit(PlanFactory.plan(key), source: .pull, completion: results.completion(for: key))
        }
    }

    @Test func aPausedPullSourceIsWokenBelowTheLowWatermark() async throws {
        let engine = ScriptedEngine(otherwise: .gate)
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: Self.fullPullGate) { dispatcher, _ in
            try await fill(dispatcher, results: results)
            #expect(await dispatcher.pullCapacity == 0)
            async let woken: Void = dispatcher.waitForPullCapacity()
            for done in 1...2 {
                await engine.waitForCalls(done)
                engine.release()
            }
            await woken
            #expect(await dispatcher.snapshot.queued <= 2)
            for done in 3...5 {
                await engine.waitForCalls(done)
                engine.release()
            }
            _ = await results.result("e")
        }
        #expect(results.order == ["a", "b", "c", "d", "e"])
    }

    /// A revoke that cancels the queued work empties the queue: a pull source parked for room must
    /// wake then, not only when the (stuck) in-flight event finally settles.
    @Test func cancellingQueuedKeysWakesAPausedPullSource() async throws {
        let engine = ScriptedEngine(otherwise: .gate)
        let results = ResultBox()
        try await withDispatcher(engine: engine, boundary: Self.fullPullGate) { dispatcher, _ in
            try await fill(dispatcher, results: results)
            await engine.waitForCalls(1)
            let woken = Task { await dispatcher.waitForPullCapacity() }
            while await dispatcher.capacityWaiters.isEmpty { await Task.yield() }
            await dispatcher.cancel(keys: ["b", "c", "d", "e"], reason: "partitions revoked")
            let wokenInTime = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await woken.value
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    woken.cancel()  // unparks it, so that the group can end
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            #expect(wokenInTime, "the waiter stayed parked with an empty queue")
            engine.release()
            #expect(await results.result("a").outcome?.kind == .accepted)
            #expect(await results.result("e") == .abandoned(reason: "partitions revoked"))
        }
    }

    /// A decided event whose completion could not make it durable (the ledger write failed) is not
    /// remembered as succeeded: its redelivery runs again instead of being refused `alreadyDecided`.
    @Test func aDecisionThatWasNotRecordedRunsAgainWhenRedelivered() async throws {
        let engine = ScriptedEngine()
        try await withDispatcher(engine: engine) { dispatcher, _ in
            let (first, firstSink) = AsyncStream.makeStream(of: DispatchResult.self)
            try await dispatcher.submitReporting(PlanFactory.plan("k"), source: .pull) { result in
                firstSink.yield(result)
                firstSink.finish()
                return false
            }
            for await result in first { #expect(result.outcome?.kind == .accepted) }
            // The result reaches the caller before the gate files the key (after the completion returns).
            await Self.waitUntilIdle(dispatcher)
            #expect(try await dispatcher.dispatch(PlanFactory.plan("k"), source: .pull).outcome?.kind == .accepted)
            await Self.waitUntilIdle(dispatcher)
            // Once recorded, a redelivery is refused as decided.
            await #expect(throws: DispatchAdmissionError.alreadyDecided(key: "k")) {
                try await dispatcher.dispatch(PlanFactory.plan("k"), source: .pull)
            }
        }
        #expect(engine.calls.count == 2)
    }
}

final class VersionBox: Sendable {
    private let storage: Mutex<Int>
    init(_ value: Int) { storage = Mutex(value) }
    var value: Int {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
