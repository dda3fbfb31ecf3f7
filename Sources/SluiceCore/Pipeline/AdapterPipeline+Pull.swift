import Foundation
import Synchronization
import Tracing

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
    /// - Parameter takenBack: asked on the gate's actor in the same turn as the admission (an ordered source's check,
    ///   see ``submit(batch:unless:settled:)``): true when the source took the event back to submit it again in
    ///   turn; it is then not admitted and `settled` is not called. Its claim (a shared ledger) stays: it is this
    ///   replica's one claim on the key, which another submission of the key (one in the gate) may hold too, and the
    ///   source submits the event again, claiming it again.
    /// - Throws: ``DispatchAdmissionError`` when the gate refuses the event now (full, cancelling);
    ///   `settled` is then not called and the source keeps the event.
    public func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)? = nil,
        settled: @escaping @Sendable (Settlement) async -> Void
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
                await settled(settlement(known: known))
                return
            }
            while true {
                switch try await claim(key) {
                case .proceed: break
                case .decided(let outcome):
                    metrics.recordKnown()
                    await settled(settlement(known: outcome))
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
        let trace = EventTrace.start(plan, source: "kafka", name: spanName)
        do {
            let admitted = try await trace.within { () async throws(DispatchAdmissionError) in
                try await dispatcher.submitReporting(plan, source: .pull, unless: takenBack) { result in
                    let settlement = await self.settle(result, plan: plan, inboxID: nil, delivery: nil, trace: trace)
                    await settled(settlement)
                    return settlement.isDurable
                }
            }
            if !admitted { trace.end(note: Self.takenBackNote) }
        } catch {
            // Decided no longer (past the dedupe window, or pruned): refused now, admitted when submitted again.
            if case .alreadyDecided = error, case .success(let known?) = await decision(behind: error, key: key) {
                trace.end(note: "already decided")
                await settled(settlement(known: known))
                return
            }
            trace.end(note: "refused: \(error)")
            // In progress here means this replica's earlier run holds the claim: it is that run's to release.
            if case .alreadyInProgress = error {} else { await releaseClaim(key) }
            throw error
        }
    }
}

extension AdapterPipeline {
    /// Records the rejection of a pull source's record that could not become an event (see
    /// ``CompiledAdapter/unreadable(_:reason:message:now:)``), kept as a dead letter: every record ends with one
    /// outcome in the ledger.
    public func rejectUnreadable(_ event: Event, reason: OutcomeReason, message: String) async -> Settlement {
        metrics.recordReceived()
        let outcome = adapter.unreadable(event, reason: reason, message: message, now: now())
        countMappingRejection(outcome)
        return await record(outcome, commands: [], inboxID: nil, delivery: nil)
    }

    /// ``submit(_:unless:settled:)`` for a pull source's whole fetch, in order: every event is mapped, the
    /// ledger is asked about all their keys in one round trip, and the undecided plans are admitted to
    /// the gate in one turn of the dispatcher. `settled` receives each admitted event's index and its
    /// one ``Settlement``.
    ///
    /// Events whose mapping rejected them are recorded concurrently (they call no engine and need no
    /// order). With a shared ledger (claims), each event takes the one-at-a-time path.
    ///
    /// - Parameter takenBack: an ordered source's check of the event at an index, asked on the gate's actor in the
    ///   same turn as its admission: true when the source took it back, to submit it again behind an earlier event
    ///   of its partition that ended undecided while this one was being mapped and checked. The earlier event's
    ///   settlement reaches its source before the gate lets its ordering key go, so this event either queues behind
    ///   it in the gate or is taken back: it never runs first.
    /// - Returns: for each event, nil when it was taken (`settled` will be called for it) or taken back by
    ///   `takenBack` (`settled` is not called), or why the gate refused it now (`settled` is then not called;
    ///   the source keeps the event).
    public func submit(
        batch events: [Event], unless takenBack: (@Sendable (Int) -> Bool)? = nil,
        settled: @escaping @Sendable (Int, Settlement) async -> Void
    ) async -> [DispatchAdmissionError?] {
        var refusals = [DispatchAdmissionError?](repeating: nil, count: events.count)
        guard options.claimOwner == nil else {
            // One at a time. When the adapter keeps order, an event that is not taken (refused, or its ledger call
            // failed) is submitted again by the source later: the events after it in this fetch must wait for it,
            // so they are refused too, and the source submits them again in order.
            let notTaken = NotTaken()
            for (index, event) in events.enumerated() {
                if adapter.isOrdered, notTaken.value {
                    refusals[index] = .cancelling(reason: "an earlier event of this fetch is submitted again first")
                    continue
                }
                do throws(DispatchAdmissionError) {
                    try await submit(event, unless: Self.check(takenBack, at: index)) { settlement in
                        if !settlement.isDurable { notTaken.set() }
                        await settled(index, settlement)
                    }
                } catch {
                    refusals[index] = error
                    notTaken.set()
                }
            }
            return refusals
        }
        var plans: [(index: Int, plan: Plan)] = []
        var rejections: [(index: Int, outcome: Outcome)] = []
        let decidedAt = now()
        for (index, event) in events.enumerated() {
            metrics.recordReceived()
            switch adapter.map(event, now: decidedAt) {
            case .rejected(let outcome):
                countMappingRejection(outcome)
                rejections.append((index, outcome))
            case .plan(let plan):
                plans.append((index, plan))
            }
        }
        if !rejections.isEmpty {
            Task {
                await withDiscardingTaskGroup { group in
                    for (index, outcome) in rejections {
                        group.addTask { await settled(index, self.record(outcome, commands: [], inboxID: nil, delivery: nil)) }
                    }
                }
            }
        }
        guard !plans.isEmpty else { return refusals }
        let known: [String: DecisionSummary]
        do {
            known = try await ledger.decisionSummaries(adapter: adapter.name, idempotencyKeys: plans.map(\.plan.idempotencyKey))
        } catch {
            for (index, _) in plans { await settled(index, .unrecorded(error)) }
            return refusals
        }
        var submissions: [Dispatcher.Submission] = []
        var admitted: [(index: Int, plan: Plan, trace: EventTrace)] = []
        let tracer = InstrumentationSystem.tracer
        for (index, plan) in plans {
            if known[plan.idempotencyKey] != nil {
                metrics.recordKnown()
                Task { await self.settleKnown(plan.idempotencyKey, index: index, settled: settled) }
                continue
            }
            let trace = EventTrace.start(plan, source: "kafka", name: spanName, tracer: tracer)
            submissions.append(
                Dispatcher.Submission(
                    plan: plan, context: trace.span.context,
                    completion: .batched(self, attachment: PulledEvent(index: index, trace: trace, settled: settled)),
                    waits: Self.check(takenBack, at: index)))
            admitted.append((index, plan, trace))
        }
        guard !submissions.isEmpty else { return refusals }
        let gate = await dispatcher.submitAll(submissions, source: .pull, keepingOrder: adapter.isOrdered)
        for (position, admission) in gate.enumerated() {
            let (index, plan, trace) = admitted[position]
            let refusal: DispatchAdmissionError
            switch admission {
            case .admitted: continue
            case .waits:
                trace.end(note: Self.takenBackNote)
                continue
            case .refused(let error): refusal = error
            }
            if case .alreadyDecided = refusal {
                trace.end(note: "already decided")
                Task { await self.settleKnown(plan.idempotencyKey, index: index, settled: settled) }
                continue
            }
            trace.end(note: "refused: \(refusal)")
            refusals[index] = refusal
        }
        return refusals
    }

    /// A source's `takenBack` check of a fetch's event, for the event at `index`.
    private static func check(_ takenBack: (@Sendable (Int) -> Bool)?, at index: Int) -> (@Sendable () -> Bool)? {
        guard let takenBack else { return nil }
        return { takenBack(index) }
    }

    /// The trace's note for an event its source took back (``submit(batch:unless:settled:)``).
    static var takenBackNote: String { "waits behind an earlier event of its partition submitted again" }

    /// Settles an event whose key the ledger already decided, with that decision.
    private func settleKnown(_ key: String, index: Int, settled: @Sendable (Int, Settlement) async -> Void) async {
        switch await decision(behind: .alreadyDecided(key: key), key: key) {
        case .success(let known?):
            await settled(index, settlement(known: known))
        case .success(nil):
            // Past the dedupe window or pruned: delivered again, and admitted this time.
            await settled(index, .abandoned(reason: "the earlier decision is no longer in the ledger"))
        case .failure(let error):
            await settled(index, .unrecorded(error))
        }
    }
}

/// Where a pulled event's settlement goes (see ``AdapterPipeline/record(_:)``).
private final class PulledEvent: Sendable {
    let index: Int
    let trace: EventTrace
    let settled: @Sendable (Int, Settlement) async -> Void

    init(index: Int, trace: EventTrace, settled: @escaping @Sendable (Int, Settlement) async -> Void) {
        self.index = index
        self.trace = trace
        self.settled = settled
    }
}

extension AdapterPipeline: DispatchRecorder {
    /// Records the finished events of pull sources together: their outcomes in one ledger call
    /// (``OutcomeLedger/record(batch:)``), then each settled with its source, as ``settle(_:plan:inboxID:delivery:trace:)``
    /// does for one.
    func record(_ finished: [FinishedEvent]) async -> [Bool] {
        var requests: [RecordRequest] = []
        requests.reserveCapacity(finished.count)
        for event in finished {
            switch event.result {
            case .decided(let outcome):
                requests.append(recordRequest(outcome, commands: event.plan.steps.map(\.command), inboxID: nil, delivery: nil))
            case .abandoned:
                await releaseClaim(event.plan.idempotencyKey)
            }
        }
        var results = await ledger.record(batch: requests)[...]
        var durables: [Bool] = []
        durables.reserveCapacity(finished.count)
        var next = requests.startIndex
        for event in finished {
            let settlement: Settlement
            switch event.result {
            case .decided:
                let result = results.popFirst() ?? .failure(.fatal("internal", "the ledger answered fewer writes than asked"))
                settlement = self.settlement(recording: requests[next], result)
                next += 1
            case .abandoned(let reason):
                settlement = .abandoned(reason: reason)
            }
            if let pulled = event.attachment as? PulledEvent {
                pulled.trace.end(settlement)
                await pulled.settled(pulled.index, settlement)
            }
            durables.append(settlement.isDurable)
        }
        return durables
    }
}

/// Set once an event of a fetch was not taken (see ``AdapterPipeline/submit(batch:settled:)``).
private final class NotTaken: Sendable {
    private let flag = Mutex(false)
    var value: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}
