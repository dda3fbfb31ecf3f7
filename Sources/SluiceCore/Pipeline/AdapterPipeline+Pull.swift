import Foundation

// Pull sources (Kafka): the source fetches only what ``Dispatcher/pullCapacity`` allows and
// acknowledges an event when its settlement is durable.

extension AdapterPipeline {
    /// Maps and admits one event from a pull source. `settled` receives exactly one
    /// ``Settlement``, after the outcome is durable (or the event was abandoned and must be
    /// delivered again); events the ledger already decided settle at once, with no engine call.
    ///
    /// When replicas share the ledger and another one holds the key (a rebalance moved the
    /// partition while the old owner finished), this waits, within the claim's expiry, for that
    /// worker to decide or give up.
    ///
    /// - Throws: ``DispatchAdmissionError`` when the gate refuses the event now (full, cancelling);
    ///   `settled` is then not called and the source keeps the event.
    public func submit(
        _ event: Event, settled: @escaping @Sendable (Settlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        metrics.recordReceived()
        let plan: Plan
        switch adapter.map(event, now: now()) {
        case .rejected(let outcome):
            countMappingRejection(outcome)
            await settled(record(outcome, commands: [], inboxID: nil, delivery: nil))
            return
        case .plan(let mapped):
            plan = mapped
        }
        let key = plan.idempotencyKey
        do {
            if let known = try await knownDecision(key) {
                metrics.recordKnown()
                await settled(.recorded(known, deadLetter: false))
                return
            }
            while true {
                switch try await claim(key) {
                case .proceed: break
                case .decided(let outcome):
                    metrics.recordKnown()
                    await settled(.recorded(outcome, deadLetter: false))
                    return
                case .held(let until):
                    let wait = min(max(until.timeIntervalSince(now()), 0.05), 0.5)
                    try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
                    if Task.isCancelled {
                        await settled(.abandoned(reason: "cancelled while another worker held the key"))
                        return
                    }
                    continue
                }
                break
            }
        } catch {
            await settled(.unrecorded(error))
            return
        }
        let trace = EventTrace.start(plan, source: "kafka")
        do {
            try await trace.within { () async throws(DispatchAdmissionError) in
                try await dispatcher.submit(plan, source: .pull) { result in
                    await settled(self.settle(result, plan: plan, inboxID: nil, delivery: nil, trace: trace))
                }
            }
        } catch {
            if case .alreadyDecided = error, let known = try? await knownDecision(key) {
                trace.end(note: "already decided")
                await settled(.recorded(known, deadLetter: false))
                return
            }
            trace.end(note: "refused: \(error)")
            await releaseClaim(key)
            throw error
        }
    }
}
