import Foundation
import Logging
import Synchronization

// Webhooks through the ledger's inbox: an event is durable before its sender hears `202`, and
// rows a crash left behind are re-admitted at start-up.

extension AdapterPipeline: WebhookSink {
    /// Maps a verified webhook, answers a known key from the ledger, asks the gate for room, writes
    /// the delivery to the inbox and admits it. Delivery to the engine happens after the answer.
    public func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        metrics.recordReceived()
        let plan: Plan
        switch adapter.map(event, now: now()) {
        case .rejected(let outcome):
            countMappingRejection(outcome)
            switch await record(outcome, commands: [], inboxID: nil, delivery: delivery) {
            case .recorded(let decision, _): return .decided(decision)
            case .unrecorded: return .unavailable(reason: Self.unrecordedReason, retryAfter: .seconds(1))
            case .abandoned(let reason): return .unavailable(reason: abandonedReason(reason), retryAfter: .seconds(1))
            }
        case .plan(let mapped):
            plan = mapped
        }
        let key = plan.idempotencyKey
        let accepted = WebhookAcceptance.accepted(eventID: event.id, idempotencyKey: key)
        do {
            if let known = try await knownDecision(key) {
                metrics.recordKnown()
                return .known(known)
            }
        } catch {
            return .unavailable(reason: ledgerFailure("the ledger could not be read", error), retryAfter: .seconds(1))
        }
        if isHoldingUndecidedRowsToItsLimit {
            return .unavailable(
                reason: "\(adapter.boundary.maxQueued) accepted events of this adapter ended undecided and wait to be admitted again (the engine or the ledger keeps failing them); retry later",
                retryAfter: .seconds(5))
        }
        if adapter.isOrdered, hasRowsPassedBy {
            return .unavailable(
                reason: "earlier events of this adapter wait in the inbox to be admitted again, and a new one must not run before them; retry later",
                retryAfter: .seconds(5))
        }
        var reserved = true
        do {
            try await dispatcher.reserveAdmission(key: key, source: .push)
        } catch {
            switch error {
            case .saturated(_, let retryAfter): return .saturated(retryAfter: retryAfter)
            case .alreadyInProgress, .alreadyDecided:
                // A stored delivery of this key is on its way: this one adds nothing.
                if inboxInHand.holdsRow(forKey: key) { return accepted }
                // The key is running here from a source that stored nothing (a bridge call, which may yet end
                // undecided). This delivery is stored, so that `202` always means stored; its row waits for the
                // key's run and is cleared with its decision (or runs, if there is none).
                reserved = false
            case .cancelling(let reason): return .unavailable(reason: "not accepting events: \(reason)", retryAfter: .seconds(5))
            case .modeRefused(let mode): return .unavailable(reason: "adapter '\(adapter.name)' is \(mode.rawValue)", retryAfter: nil)
            }
        }
        let holdsReservation = reserved
        let releaseReservation = { [dispatcher] in if holdsReservation { await dispatcher.releaseReservation() } }
        // From here the reservation is either used by the admission or given back.
        do {
            switch try await claim(key) {
            case .proceed: break
            case .decided(let outcome):
                await releaseReservation()
                return .known(outcome)
            case .held(let until):
                await releaseReservation()
                // Another replica is working on this key, but it claims before it writes its inbox: its
                // copy may not be durable yet (or ever, if it dies now). A 2xx here could lose the event;
                // the sender's retry finds the decision, or the claim released or expired.
                let remaining = Int64(until.timeIntervalSince(now()).rounded(.up))
                return .unavailable(
                    reason: "another replica is working on this event; retry",
                    retryAfter: .seconds(min(max(remaining, 1), 30)))
            }
        } catch {
            await releaseReservation()
            return .unavailable(
                reason: ledgerFailure("the ledger could not claim the event", error), retryAfter: .seconds(1))
        }
        let started = ContinuousClock.now
        let inboxID: Int64
        do {
            inboxID = try await ledger.appendInbox(delivery)
        } catch {
            await releaseReservation()
            // A claim held for the key's run in progress is that run's to release.
            if holdsReservation { await releaseClaim(key) }
            return .unavailable(
                reason: ledgerFailure("the inbox could not store the event", error), retryAfter: .seconds(1))
        }
        metrics.recordInboxAppend(ContinuousClock.now - started)
        guard inboxInHand.take(inboxID) else {
            // A sweep found the row first (the append took longer than a sweep's minimum age): it delivers it.
            await releaseReservation()
            return accepted
        }
        var durable = plan
        durable.sourcePosition = .inbox(id: inboxID)
        if joinsOpenLane(durable, inboxID: inboxID, delivery: delivery, attempt: 0) {
            // Earlier rows of its ordering key wait to be admitted again: this one goes after them.
            await releaseReservation()
            if holdsReservation { await releaseClaim(key) }
            return accepted
        }
        let trace = EventTrace.start(durable, source: "webhook", name: spanName)
        _ = await trace.within {
            await admitDurable(
                durable, inboxID: inboxID, delivery: delivery, waiting: false, reserved: holdsReservation, trace: trace)
        }
        return accepted
    }

    /// Re-admits an inbox row that has no outcome yet (a crash or shutdown came between the `202`
    /// and the outcome, or its delivery was left behind), waiting for room in the gate. Returns once the
    /// row is admitted, decided, or left for a later sweep or start (the gate is cancelling); at once with
    /// `left` when this process is delivering the row already.
    public func readmit(_ item: InboxItem) async -> ReadmissionResult {
        guard inboxInHand.take(item.id) else { return .left(reason: "this process is delivering it already") }
        let (result, kept) = await readmitTaken(item)
        letGo(item.id, after: result, kept: kept)
        return result
    }

    /// Releases a row in hand unless it was admitted (its outcome releases it) or is kept for a later look.
    private func letGo(_ inboxID: Int64, after result: ReadmissionResult, kept: Bool = false) {
        if case .admitted = result { return }
        if !kept { inboxInHand.release(inboxID) }
    }

    /// Whether this process is delivering the inbox row now (a sweep skips it).
    public func isDelivering(inboxID: Int64) -> Bool { inboxInHand.contains(inboxID) }

    /// ``readmit(_:)`` of a row in hand; `kept` when the row stays in hand though it is not admitted (it is looked
    /// at again when another replica's claim on its key ends).
    ///
    /// A row whose ordering key has an open lane of rows waiting to be admitted again joins that lane, unless it is
    /// that lane's drainer admitting it (`fromLane`).
    private func readmitTaken(
        _ item: InboxItem, attempt: Int = 0, fromLane: Bool = false
    ) async -> (result: ReadmissionResult, kept: Bool) {
        let delivery = item.delivery
        let event: Event
        do {
            event = try Event.webhook(
                source: adapter.name, request: EventOrigin.WebhookRequest(target: delivery.target),
                headers: delivery.headers, body: delivery.body, receivedAt: delivery.receivedAt,
                position: .inbox(id: item.id))
        } catch {
            let outcome = Outcome(
                adapter: adapter.name, action: "none", idempotencyKey: "inbox-\(item.id)", kind: .rejected,
                reason: .malformedPayload, message: error.description)
            return (await readmissionResult(of: record(outcome, commands: [], inboxID: item.id, delivery: delivery)), false)
        }
        switch adapter.map(event, now: now()) {
        case .rejected(let outcome):
            countMappingRejection(outcome)
            return (await readmissionResult(of: record(outcome, commands: [], inboxID: item.id, delivery: delivery)), false)
        case .plan(let plan):
            // Left by a ledger failure: an ordered adapter's row keeps its place at the head of its key's lane.
            func ledgerFailed(_ reason: String) -> (result: ReadmissionResult, kept: Bool) {
                if !fromLane, holdsInLane(item, plan: plan, attempt: attempt, backoff: ReadmissionLanes.backoff(afterAttempt: attempt)) {
                    return (.left(reason: reason + "; it waits at the head of its ordering key's lane"), true)
                }
                return (.left(reason: reason), false)
            }
            do {
                if let known = try await knownDecision(plan.idempotencyKey) {
                    return (await readmissionResult(of: record(known, commands: [], inboxID: item.id, delivery: nil)), false)
                }
            } catch {
                return ledgerFailed("the ledger could not be read: \(error)")
            }
            if !fromLane, joinsOpenLane(plan, inboxID: item.id, delivery: delivery, attempt: attempt) {
                return (.admitted, true)
            }
            // With a shared ledger the row may be another replica's event in progress: not run twice.
            do {
                switch try await claim(plan.idempotencyKey) {
                case .proceed: break
                case .decided(let outcome):
                    return (await readmissionResult(of: record(outcome, commands: [], inboxID: item.id, delivery: nil)), false)
                case .held(let until):
                    if fromLane, let orderingKey = plan.orderingKey {
                        // It stays first in its lane: the rows of its key behind it wait for that claim too.
                        let row = ReadmissionLanes.Row(inboxID: item.id, delivery: delivery, attempt: attempt)
                        _ = readmissionLanes.hold(row, orderingKey: orderingKey, backoff: waitForClaim(until: until))
                    } else if !holdsInLane(item, plan: plan, attempt: attempt, backoff: waitForClaim(until: until)) {
                        readmitWhenFree(item, at: until)
                    }
                    return (.left(reason: "another replica is working on it; looked at again when its claim ends"), true)
                }
            } catch {
                return ledgerFailed("the ledger could not claim the event: \(error)")
            }
            let trace = EventTrace.start(plan, source: "inbox", name: spanName)
            let result = await trace.within {
                await admitDurable(
                    plan, inboxID: item.id, delivery: delivery, waiting: true, attempt: attempt, fromLane: fromLane, trace: trace)
            }
            // Left after its key was claimed (the gate is stopping): the claim is given back, unless a run of the key in
            // this process holds it.
            if case .left = result, await !dispatcher.isActive(plan.idempotencyKey) { await releaseClaim(plan.idempotencyKey) }
            return (result, false)
        }
    }

    private func readmissionResult(of settlement: Settlement) -> ReadmissionResult {
        switch settlement {
        case .recorded(let outcome, _): .decided(outcome)
        case .abandoned(let reason): .left(reason: reason)
        case .unrecorded(let error): .left(reason: "the ledger could not record the outcome: \(error)")
        }
    }

    /// Admits a plan whose delivery is durable in the inbox. When the gate is full (a re-admission at
    /// start-up, or a bridge call took the place), the row is durable already, so the admission waits for
    /// room instead of refusing: in a tracked task of the caller when `waiting`, else in a task of its own.
    /// `reserved`: the plan holds a place from ``Dispatcher/reserveAdmission(key:source:)``, used up by the
    /// first attempt.
    ///
    /// A row whose event ends undecided while Sluice runs (the engine refused Sluice, the outcome could not be
    /// recorded) is admitted again after a backoff (`attempt`), so that it is delivered once the cause is fixed
    /// rather than at the next start; its sender already has its `202`. One abandoned because the gate is
    /// stopping is refused then, and stays in the inbox for the next start.
    ///
    /// A row of an ordered adapter that finds its ordering key's lane open as it enters the gate waits in the lane
    /// instead (``laneCheck(_:inboxID:delivery:attempt:taken:)``); `fromLane` says it is the row the lane's
    /// drainer is admitting.
    @discardableResult
    func admitDurable(
        _ plan: Plan, inboxID: Int64, delivery: Delivery, waiting: Bool, reserved: Bool = false, attempt: Int = 0,
        fromLane: Bool = false, trace: EventTrace
    ) async -> ReadmissionResult {
        inboxInHand.attach(key: plan.idempotencyKey, to: inboxID)
        let result = await admitRow(
            plan, inboxID: inboxID, delivery: delivery, waiting: waiting, reserved: reserved, attempt: attempt,
            fromLane: fromLane, trace: trace)
        letGo(inboxID, after: result)
        return result
    }

    /// ``admitDurable(_:inboxID:delivery:waiting:reserved:attempt:fromLane:trace:)`` of a row in hand, which its
    /// outcome lets go of, unless it is admitted again later.
    private func admitRow(
        _ plan: Plan, inboxID: Int64, delivery: Delivery, waiting: Bool, reserved: Bool, attempt: Int, fromLane: Bool,
        trace: EventTrace
    ) async -> ReadmissionResult {
        var waitsForOtherRow = 0
        var reservation = reserved
        let waitsInLane = laneCheck(plan, inboxID: inboxID, delivery: delivery, attempt: attempt, taken: fromLane)
        while true {
            do {
                let completion: @Sendable (DispatchResult) async -> Bool = { result in
                    let settlement = await self.settle(result, plan: plan, inboxID: inboxID, delivery: delivery, trace: trace)
                    // Abandoned because the gate is stopping: the row waits for the next start.
                    if !settlement.isDurable, await !self.dispatcher.isStopping {
                        self.admitAgainLater(plan, inboxID: inboxID, delivery: delivery, attempt: attempt)
                    } else {
                        self.inboxInHand.release(inboxID)
                    }
                    return settlement.isDurable
                }
                let admitted: Bool
                if reservation {
                    reservation = false
                    admitted = try await dispatcher.submitReserved(plan, source: .push, unless: waitsInLane, completion: completion)
                } else {
                    admitted = try await dispatcher.submitReporting(plan, source: .push, unless: waitsInLane, completion: completion)
                }
                // Not admitted: it waits in its key's lane, whose drainer admits it in turn (the row stays in hand).
                // With a shared ledger its claim stays too: the drainer's claim renews it, and other replicas keep
                // off the key meanwhile.
                if !admitted { trace.end(note: "waits behind earlier rows of its ordering key") }
                return .admitted
            } catch {
                switch error {
                case .saturated:
                    guard waiting else {
                        Task { await self.admitDurable(plan, inboxID: inboxID, delivery: delivery, waiting: true, trace: trace) }
                        return .admitted
                    }
                    await dispatcher.waitForPullCapacity()
                    // Room may be promised to webhooks being stored (reservations), which the wait does not see.
                    try? await Task.sleep(for: .milliseconds(1))
                    if Task.isCancelled {
                        trace.end(note: "left in the inbox")
                        return .left(reason: "cancelled")
                    }
                case .alreadyInProgress, .alreadyDecided:
                    // The same key is running from another row: wait for it, then clear this row
                    // with its decision.
                    guard waiting else {
                        Task { await self.admitDurable(plan, inboxID: inboxID, delivery: delivery, waiting: true, trace: trace) }
                        return .admitted
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                    if Task.isCancelled {
                        trace.end(note: "left in the inbox")
                        return .left(reason: "cancelled")
                    }
                    // A decision the gate remembers but the ledger no longer holds (past the dedupe window) is this
                    // delivery's to make: the next round admits it.
                    if case .success(let known?) = await decision(behind: error, key: plan.idempotencyKey) {
                        let settlement = await record(known, commands: [], inboxID: inboxID, delivery: nil)
                        trace.end(note: "decided by another delivery of the key")
                        return readmissionResult(of: settlement)
                    }
                    waitsForOtherRow += 1
                    if waitsForOtherRow >= 600 {
                        trace.end(note: "left in the inbox")
                        return .left(reason: "the key '\(plan.idempotencyKey)' is still in progress from another row")
                    }
                    // With a shared ledger, a run that ended undecided let its claim go: this row claims the key
                    // before it runs, and keeps waiting while another replica holds it.
                    if await dispatcher.isActive(plan.idempotencyKey) { continue }
                    switch try? await claim(plan.idempotencyKey) {
                    case .decided(let known)?:
                        let settlement = await record(known, commands: [], inboxID: inboxID, delivery: nil)
                        trace.end(note: "decided by another replica")
                        return readmissionResult(of: settlement)
                    case .held?, nil: continue
                    case .proceed?: break
                    }
                case .cancelling(let reason):
                    trace.end(note: "left in the inbox")
                    return .left(reason: reason)
                case .modeRefused(let mode):
                    trace.end(note: "left in the inbox")
                    return .left(reason: "adapter '\(adapter.name)' is \(mode.rawValue)")
                }
            }
        }
    }
}

extension AdapterPipeline {
    /// Whether this adapter holds as many undecided inbox rows waiting to be admitted again as its boundary's
    /// `max_queued`: new webhooks are then answered `503` and the inbox's re-admission passes its rows by, so that an
    /// engine that keeps failing every event (a revoked token, an outage) cannot make the process hold an unbounded
    /// number of them in memory. The rows are durable in the inbox either way.
    public var isHoldingUndecidedRowsToItsLimit: Bool { readmissionLanes.heldRows >= adapter.boundary.maxQueued }

    /// Whether the inbox's re-admission passed rows of this adapter by (it held its limit of them): set by the pass
    /// that does, cleared by the first pass that takes every row up. An ordered adapter refuses new webhooks
    /// meanwhile (`503`), so that none runs before an earlier event of its ordering key left in the inbox.
    public var hasRowsPassedBy: Bool {
        get { rowsPassedBy.load(ordering: .relaxed) }
        set { rowsPassedBy.store(newValue, ordering: .relaxed) }
    }

    /// Re-admits a row whose key another replica holds once that claim ends: the other replica either records
    /// the outcome (the row is then gone, or decided at once) or died (its claim expires and this one runs it).
    func readmitWhenFree(_ item: InboxItem, at until: Date) {
        let delay = waitForClaim(until: until)
        Task {
            try? await Task.sleep(for: delay)
            let (result, kept) = await self.readmitTaken(item)
            self.letGo(item.id, after: result, kept: kept)
        }
    }

    /// How long to wait for another replica's claim that ends at `until` (a little past it).
    func waitForClaim(until: Date) -> Duration {
        .milliseconds(max(0, Int64(until.timeIntervalSince(now()) * 1000)) + 50)
    }

    /// Admits an inbox row again after a backoff (1 s, doubling up to 30 s) once its event ended undecided, as a
    /// re-admission: the ledger is asked first, and with a shared ledger the key is claimed again (the undecided run
    /// let its claim go, and another replica's sweep may have taken the row up meanwhile).
    ///
    /// A row of an ordered adapter waits in its ordering key's lane instead (see ``ReadmissionLanes``), so that it
    /// and the rows of its key behind it are admitted again in arrival order, and new arrivals of the key after them.
    func admitAgainLater(_ plan: Plan, inboxID: Int64, delivery: Delivery, attempt: Int) {
        let delay = ReadmissionLanes.backoff(afterAttempt: attempt)
        logger.warning(
            "an accepted webhook ended undecided; admitting it again",
            metadata: ["idempotency_key": "\(plan.idempotencyKey)", "inbox.id": "\(inboxID)", "retry_in": "\(delay)"])
        if adapter.isOrdered, let orderingKey = plan.orderingKey {
            let row = ReadmissionLanes.Row(inboxID: inboxID, delivery: delivery, attempt: attempt + 1)
            if readmissionLanes.hold(row, orderingKey: orderingKey, backoff: delay) { drainLane(orderingKey) }
            return
        }
        guard readmissionLanes.waitAlone(limit: adapter.boundary.maxQueued) else {
            // Durable in the inbox: a sweep admits it again, once fewer rows are held than the limit.
            logger.warning(
                "too many accepted webhooks wait to be admitted again; this one is left to the inbox's sweep",
                metadata: ["idempotency_key": "\(plan.idempotencyKey)", "inbox.id": "\(inboxID)"])
            inboxInHand.release(inboxID)
            return
        }
        Task {
            defer { self.readmissionLanes.doneWaitingAlone() }
            try? await Task.sleep(for: delay)
            let (result, kept) = await self.readmitTaken(InboxItem(id: inboxID, delivery: delivery), attempt: attempt + 1)
            self.letGo(inboxID, after: result, kept: kept)
        }
    }
}

extension AdapterPipeline {
    /// For an ordered adapter, puts a row that cannot be admitted now (the ledger could not be read, another replica
    /// holds its key) into its ordering key's lane, opening it if needed, to be admitted after `backoff`: the later
    /// rows of its key, re-admitted in the same pass or arriving meanwhile, then wait behind it instead of running
    /// first. False for an unordered adapter (the row is let go or looked at again on its own).
    func holdsInLane(_ item: InboxItem, plan: Plan, attempt: Int, backoff: Duration) -> Bool {
        guard adapter.isOrdered, let orderingKey = plan.orderingKey else { return false }
        inboxInHand.attach(key: plan.idempotencyKey, to: item.id)
        let row = ReadmissionLanes.Row(inboxID: item.id, delivery: item.delivery, attempt: attempt)
        if readmissionLanes.hold(row, orderingKey: orderingKey, backoff: backoff) { drainLane(orderingKey) }
        return true
    }

    /// Puts a durable row into the open lane of its ordering key, if there is one (see ``ReadmissionLanes``); the row
    /// stays in hand.
    func joinsOpenLane(_ plan: Plan, inboxID: Int64, delivery: Delivery, attempt: Int) -> Bool {
        guard adapter.isOrdered, let orderingKey = plan.orderingKey else { return false }
        let row = ReadmissionLanes.Row(inboxID: inboxID, delivery: delivery, attempt: attempt)
        guard readmissionLanes.joinIfOpen(row, orderingKey: orderingKey) else { return false }
        inboxInHand.attach(key: plan.idempotencyKey, to: inboxID)
        return true
    }

    /// For a row of an ordered adapter, the check its admission makes on the gate's actor
    /// (``Dispatcher/submitReporting(_:remap:source:unless:completion:)``): whether it must wait in its ordering key's
    /// lane instead, where it is then put (``ReadmissionLanes/waitsInLane(_:orderingKey:taken:)``).
    ///
    /// The look at the lane before the admission (``joinsOpenLane(_:inboxID:delivery:attempt:)``) saves the gate a
    /// hop, but a row of the key can end undecided and open the lane between that look and the admission; this check
    /// is made in the same turn of the actor as the admission, so the row either waits behind that one or queues
    /// behind it in the gate.
    func laneCheck(_ plan: Plan, inboxID: Int64, delivery: Delivery, attempt: Int, taken: Bool) -> (@Sendable () -> Bool)? {
        guard adapter.isOrdered, let orderingKey = plan.orderingKey else { return nil }
        let row = ReadmissionLanes.Row(inboxID: inboxID, delivery: delivery, attempt: attempt)
        let lanes = readmissionLanes
        return { lanes.waitsInLane(row, orderingKey: orderingKey, taken: taken) }
    }

    /// Admits the rows of an ordering key's lane one after another, in id order, after the lane's backoffs, until
    /// the lane is empty. Each is admitted (in the gate, behind the one before) before the next is taken up.
    func drainLane(_ orderingKey: String) {
        Task {
            while true {
                switch readmissionLanes.next(orderingKey: orderingKey) {
                case .wait(let delay):
                    try? await Task.sleep(for: delay)
                case .admit(let row):
                    let item = InboxItem(id: row.inboxID, delivery: row.delivery)
                    let (result, kept) = await readmitTaken(item, attempt: row.attempt, fromLane: true)
                    if case .left = result, !kept, await !dispatcher.isStopping {
                        // Not admitted now (the ledger could not be read, the key is still busy): it keeps its place at
                        // the head of the lane, after a backoff, instead of being overtaken until a sweep finds it.
                        // A row left by the admission itself was let go there: it is taken in hand again.
                        _ = inboxInHand.take(row.inboxID)
                        var again = row
                        again.attempt += 1
                        _ = readmissionLanes.hold(
                            again, orderingKey: orderingKey, backoff: ReadmissionLanes.backoff(afterAttempt: row.attempt))
                        continue
                    }
                    letGo(row.inboxID, after: result, kept: kept)
                case .done:
                    return
                }
            }
        }
    }
}

/// What re-admitting an inbox row did.
public enum ReadmissionResult: Sendable, Hashable {
    /// The row's event is in the gate; its outcome will remove the row.
    case admitted
    /// The row's event is decided (mapping, or the ledger knew the key) and the row is gone.
    case decided(Outcome)
    /// The row stays for the next start.
    case left(reason: String)
}
