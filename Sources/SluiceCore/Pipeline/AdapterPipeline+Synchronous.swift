// The synchronous path of the Durable Workflow-compatible bridge endpoint: the client waits for
// the engine's real outcome, which is durable in the ledger before it is answered.

extension AdapterPipeline {
    /// Runs one plan through the ledger check, the gate and the engine, and answers with its
    /// recorded decision.
    ///
    /// A key the ledger knows answers at once (`firstDecision: false`). When no decision comes
    /// within ``PipelineOptions/synchronousWait``, the answer is ``SynchronousResult/timedOut(retryAfter:)``
    /// and the work goes on: the client's retry with the same key finds the decision, or waits for
    /// the same run.
    public func execute(_ plan: Plan) async -> SynchronousResult {
        metrics.recordReceived()
        let key = plan.idempotencyKey
        do {
            if let known = try await knownDecision(key) {
                metrics.recordKnown()
                return .outcome(known, firstDecision: false)
            }
            switch try await claim(key) {
            case .proceed: break
            case .decided(let outcome): return .outcome(outcome, firstDecision: false)
            case .held: return .timedOut(retryAfter: .seconds(1))
            }
        } catch {
            return .unavailable(reason: ledgerFailure("the ledger could not be read", error))
        }
        let (results, sink) = AsyncStream.makeStream(of: Settlement.self, bufferingPolicy: .bufferingNewest(1))
        let trace = EventTrace.start(plan, source: "bridge", name: spanName)
        do {
            _ = try await trace.within { () async throws(DispatchAdmissionError) in
                try await dispatcher.submitReporting(plan, source: .push) { result in
                    let settlement = await self.settle(result, plan: plan, inboxID: nil, delivery: nil, trace: trace)
                    sink.yield(settlement)
                    sink.finish()
                    return settlement.isDurable
                }
            }
        } catch {
            trace.end(note: "refused: \(error)")
            // In progress here means this replica's earlier run holds the claim (renewed just now): it
            // is that run's to release.
            if case .alreadyInProgress = error {} else { await releaseClaim(key) }
            switch error {
            case .saturated(_, let retryAfter): return .saturated(retryAfter: retryAfter)
            case .alreadyInProgress, .alreadyDecided:
                // Decided no longer (past the dedupe window, or pruned): the client's retry is admitted.
                if case .success(let known?) = await decision(behind: error, key: key) {
                    return .outcome(known, firstDecision: false)
                }
                return .timedOut(retryAfter: .seconds(1))
            case .cancelling(let reason): return .unavailable(reason: "not accepting events: \(reason)")
            case .modeRefused(let mode): return .unavailable(reason: "adapter '\(adapter.name)' is \(mode.rawValue)")
            }
        }
        let wait = options.synchronousWait
        return await withTaskGroup(of: SynchronousResult?.self) { group in
            group.addTask {
                for await settlement in results {
                    switch settlement {
                    case .recorded(let outcome, _): return .outcome(outcome, firstDecision: true)
                    case .abandoned(let reason): return .unavailable(reason: self.abandonedReason(reason))
                    case .unrecorded: return .unavailable(reason: Self.unrecordedReason)
                    }
                }
                return .unavailable(reason: "the gate stopped")
            }
            group.addTask {
                try? await Task.sleep(for: wait)
                return Task.isCancelled ? nil : .timedOut(retryAfter: .seconds(1))
            }
            var answer: SynchronousResult = .timedOut(retryAfter: .seconds(1))
            for await result in group {
                if let result {
                    answer = result
                    break
                }
            }
            group.cancelAll()
            return answer
        }
    }
}
