import Tracing

// Running one plan: its steps in dependency order, each with retries.

extension Dispatcher {
    /// How one step ended.
    enum StepResult: Sendable {
        case succeeded(Outcome, PlanExecution.StepTiming)
        case failed(reason: OutcomeReason, message: String, outcome: Outcome?, PlanExecution.StepTiming)
        /// The event was abandoned (budget expired) while the step ran or waited.
        case abandoned
        /// The engine refused Sluice itself (authentication, configuration): stop, do not ack.
        case fatal(EngineError)
    }

    /// Runs a plan's steps (independent steps at once) and assembles the event's result.
    ///
    /// A step starts as soon as every step it needs has ended, not when its whole wave has: a step waiting only for
    /// a fast one does not wait out a slow sibling's retries.
    nonisolated func run(_ plan: Plan, remap: Bool) async -> DispatchResult {
        var execution = PlanExecution(plan: plan)
        // Cut (its budget ended): no further engine call, whatever steps are left.
        if Task.isCancelled { return .abandoned(reason: "cancelled") }
        var ready = execution.startReadySteps()
        // One step ready at a time (one step, or a chain: most plans) needs no task group.
        while ready.count == 1 {
            let index = ready[0]
            if let ended = record(await runStep(plan.steps[index], of: plan, remap: remap), of: index, in: &execution) {
                return ended
            }
            if Task.isCancelled { return .abandoned(reason: "cancelled") }
            ready = execution.startReadySteps()
        }
        if !ready.isEmpty {
            let ended = await withTaskGroup(of: (Int, StepResult).self) { group -> DispatchResult? in
                for index in ready {
                    group.addTask { (index, await self.runStep(plan.steps[index], of: plan, remap: remap)) }
                }
                var ended: DispatchResult?
                for await (index, result) in group {
                    switch result {
                    case .fatal(let error):
                        // The engine's refusal names the cause better than the siblings it cancels.
                        ended = .abandoned(reason: "engine refused Sluice: \(error)")
                    case .abandoned:
                        ended = ended ?? .abandoned(reason: "cancelled")
                    case .succeeded, .failed:
                        guard ended == nil else { continue }
                        _ = record(result, of: index, in: &execution)
                        if Task.isCancelled {
                            ended = .abandoned(reason: "cancelled")
                        } else {
                            for next in execution.startReadySteps() {
                                group.addTask { (next, await self.runStep(plan.steps[next], of: plan, remap: remap)) }
                            }
                        }
                    }
                    // The event is abandoned whatever its other steps do: they stop now (and come back abandoned)
                    // instead of holding the event's slot through their retries.
                    if ended != nil { group.cancelAll() }
                }
                return ended
            }
            if let ended { return ended }
        }
        return .decided(execution.outcome(decidedAt: date(now)))
    }

    /// Records how a step ended in `execution`; the event's result when it ends the event (abandoned, or the engine
    /// refused Sluice), nil when the plan goes on.
    private nonisolated func record(
        _ result: StepResult, of index: Int, in execution: inout PlanExecution
    ) -> DispatchResult? {
        switch result {
        case .abandoned:
            return .abandoned(reason: "cancelled")
        case .fatal(let error):
            return .abandoned(reason: "engine refused Sluice: \(error)")
        case .succeeded(let outcome, let timing):
            execution.record(index, timing: timing)
            execution.stepSucceeded(index, outcome: outcome, at: date(now))
        case .failed(let reason, let message, let outcome, let timing):
            execution.record(index, timing: timing)
            execution.stepFailed(index, reason: reason, message: message, outcome: outcome, at: date(now))
        }
        return nil
    }

    /// Runs one step until it succeeds, fails for good, runs out of attempts or is abandoned (its
    /// task cancelled).
    /// One engine call, its answer recorded on its span.
    nonisolated func execute(_ command: EngineCommand, span: any Span) async -> Result<Outcome, EngineError> {
        do throws(EngineError) {
            let outcome = try await engine.execute(command, adapter: adapter)
            if span.isRecording {
                span.attributes["sluice.outcome"] = outcome.kind.rawValue
                if let reason = outcome.reason { span.attributes["sluice.reason"] = reason.rawValue }
            }
            return .success(outcome)
        } catch {
            span.setStatus(SpanStatus(code: .error, message: error.description))
            return .failure(error)
        }
    }

    nonisolated func runStep(_ step: PlanStep, of plan: Plan, remap: Bool) async -> StepResult {
        var timing = PlanExecution.StepTiming()
        var attempt = 0
        while true {
            // Cut between attempts (its backoff had just ended): the engine hears nothing more of it.
            if Task.isCancelled { return .abandoned }
            attempt += 1
            if attempt > 1, plan.adapterVersion != currentVersion(), !remap {
                return .failed(
                    reason: .incompatibleState,
                    message: "the adapter changed to version \(currentVersion()) while retrying; sluice replay re-sends the commands as version \(plan.adapterVersion) mapped them",
                    outcome: nil, timing)
            }
            let started = now
            timing.attempts = attempt
            if timing.firstStart == nil { timing.firstStart = date(started) }
            let command = step.command
            let answer = await withSpan("engine \(command.action.rawValue)", ofKind: .client) { span in
                if span.isRecording {
                    span.attributes["sluice.adapter"] = adapter
                    span.attributes["sluice.request_id"] = command.requestID
                    span.attributes["sluice.attempt"] = attempt
                    if let workflowID = command.target.workflowID { span.attributes["sluice.workflow_id"] = workflowID }
                }
                return await execute(command, span: span)
            }
            let answered = now
            metrics.recordStep(action: command.action, duration: started.duration(to: answered))
            timing.lastAnswer = date(answered)
            if Task.isCancelled { return .abandoned }
            let retryAfter: Duration?
            let failure: (reason: OutcomeReason, message: String, outcome: Outcome?)
            switch answer {
            case .success(let outcome) where outcome.kind != .rejected:
                timing.lastError = nil
                return .succeeded(outcome, timing)
            case .success(let outcome):
                let reason = outcome.reason ?? "rejected"
                failure = (reason, outcome.message ?? "the engine rejected the command (\(reason))", outcome)
                guard retry.isRetryable(reason: reason.rawValue) else {
                    return .failed(reason: reason, message: failure.message, outcome: outcome, timing)
                }
                retryAfter = nil
            case .failure(let error):
                switch error.kind {
                case .fatal: return .fatal(error)
                case .nonRetryable:
                    return .failed(reason: OutcomeReason(rawValue: error.reason), message: error.description, outcome: nil, timing)
                case .retryable:
                    failure = (OutcomeReason(rawValue: error.reason), error.description, nil)
                    guard retry.isRetryable(reason: error.reason) else {
                        return .failed(reason: failure.reason, message: failure.message, outcome: nil, timing)
                    }
                    retryAfter = error.retryAfter
                }
            }
            timing.lastError = failure.message
            var jitter = SplitMix64(seed: await nextJitter())
            guard let delay = retry.delay(afterAttempt: attempt, retryAfter: retryAfter, random: &jitter) else {
                let reason: OutcomeReason = failure.outcome == nil ? .retriesExhausted : failure.reason
                return .failed(
                    reason: reason, message: "gave up after \(attempt) attempts: \(failure.message)",
                    outcome: failure.outcome, timing)
            }
            metrics.recordRetry()
            do {
                try await clock.sleep(until: answered + delay)
            } catch {
                return .abandoned
            }
        }
    }
}

extension PlanExecution {
    /// Records how a step's attempts went.
    public mutating func record(_ step: Int, timing: StepTiming) {
        timings[step] = timing
    }
}
