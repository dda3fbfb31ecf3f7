import Foundation
import SluiceCore
import SluiceKafka
import SluiceTesting

/// A stand-in for the adapter pipeline behind the ``KafkaRecordHandler`` protocol: a gate of `maxInFlight`,
/// an "engine" that takes `delay` per event, and a real ledger that dedupes by idempotency key (the event id).
///
/// It records what the source handed over, so tests can check order per key, effects and settlements.
actor TestPipeline: KafkaRecordHandler {
    let adapter: String
    let ledger: any OutcomeLedger
    let maxInFlight: Int
    var delay: Duration
    /// Events whose type is this settle `recorded(…, deadLetter: true)`.
    let poisonType: String?
    /// Whether the source keeps each partition's records in offset order for it (an ordered adapter).
    nonisolated let preservesOrder: Bool

    private(set) var inFlight = 0
    private var capacityWaiters: [CheckedContinuation<Void, Never>] = []
    private var running: [String: Task<Void, Never>] = [:]
    /// Engine calls per event id (an engine call happens only when the ledger has no outcome yet).
    private(set) var effects: [String: Int] = [:]
    /// Event ids in submission order, per ordering key.
    private(set) var orderByKey: [String: [String]] = [:]
    private(set) var submissions = 0
    private(set) var settlements = 0
    private(set) var maxObservedInFlight = 0
    /// When set, the next ledger writes fail (unrecorded) this many times.
    var failingWrites = 0
    /// When above zero, every this-many-th submission is refused as saturated, as a full gate does.
    var refusingEvery = 0
    /// When above zero, the next submissions are refused as already decided, as the pipeline does when the gate
    /// remembered a decision the ledger no longer holds.
    var refusingAsDecided = 0
    private var attempts = 0
    /// How long a cancelled event that is running may still finish, as the gate's cancellation budget
    /// (the test configuration's drain budget).
    let cancellationBudget: Duration
    /// How long a submission takes before the event is in the gate (the pipeline maps it and asks the ledger).
    var admissionDelay: Duration = .zero
    /// The events a cancellation stopped while they ran, in order.
    private(set) var cancelled: [String] = []
    /// Submissions begun (some may still be on their way into the gate).
    private(set) var begun = 0

    init(
        adapter: String = "orders", ledger: any OutcomeLedger = InMemoryLedger(), maxInFlight: Int = 64,
        delay: Duration = .zero, poisonType: String? = nil, cancellationBudget: Duration = .seconds(5),
        preservesOrder: Bool = true
    ) {
        self.preservesOrder = preservesOrder
        self.adapter = adapter
        self.ledger = ledger
        self.maxInFlight = maxInFlight
        self.delay = delay
        self.poisonType = poisonType
        self.cancellationBudget = cancellationBudget
    }

    func setAdmissionDelay(_ delay: Duration) { admissionDelay = delay }

    func setDelay(_ delay: Duration) { self.delay = delay }
    func failNextWrites(_ count: Int) { failingWrites = count }
    func refuseEvery(_ count: Int) { refusingEvery = count }
    func refuseNextAsDecided(_ count: Int) { refusingAsDecided = count }

    var capacity: Int { max(0, maxInFlight - inFlight) }

    func waitForCapacity() async {
        guard inFlight >= maxInFlight else { return }
        await withCheckedContinuation { capacityWaiters.append($0) }
    }

    func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        begun += 1
        if admissionDelay > .zero { try? await Task.sleep(for: admissionDelay) }
        if running[event.id] != nil { throw .alreadyInProgress(key: event.id) }
        // As the gate asks, in the same step as the admission.
        if let takenBack, takenBack() { return }
        attempts += 1
        if refusingEvery > 0, attempts.isMultiple(of: refusingEvery) {
            throw .saturated(maxQueued: maxInFlight, retryAfter: .milliseconds(10))
        }
        if refusingAsDecided > 0 {
            refusingAsDecided -= 1
            throw .alreadyDecided(key: event.id)
        }
        submissions += 1
        orderByKey[event.key ?? "", default: []].append(event.id)
        inFlight += 1
        maxObservedInFlight = max(maxObservedInFlight, inFlight)
        running[event.id] = Task { await self.process(event, settled: settled) }
    }

    /// As the gate does: what is running may finish within the budget, then it is cancelled (and settles
    /// abandoned). Events not in the gate yet are not affected.
    func cancel(events: [Event], reason: String) async {
        let ids = events.map(\.id).filter { running[$0] != nil }
        let budget = cancellationBudget
        Task {
            try? await Task.sleep(for: budget)
            self.cancelRunning(ids)
        }
    }

    private func cancelRunning(_ ids: [String]) {
        for id in ids {
            guard let task = running[id] else { continue }
            task.cancel()
            cancelled.append(id)
        }
    }

    private func process(_ event: Event, settled: @escaping @Sendable (KafkaSettlement) async -> Void) async {
        let settlement = await decide(event)
        running[event.id] = nil
        inFlight -= 1
        settlements += 1
        for waiter in capacityWaiters { waiter.resume() }
        capacityWaiters = []
        await settled(settlement)
    }

    private func decide(_ event: Event) async -> KafkaSettlement {
        do {
            if delay > .zero { try await Task.sleep(for: delay) }
        } catch {
            return .abandoned(reason: "cancelled")
        }
        let poison = poisonType != nil && event.type == poisonType
        do {
            if let known = try await ledger.decision(adapter: adapter, idempotencyKey: event.id) {
                return .recorded(known, deadLetter: false)
            }
            effects[event.id, default: 0] += 1
            if failingWrites > 0 {
                failingWrites -= 1
                return .unrecorded(.retryable("test", "injected ledger failure"))
            }
            let outcome = Outcome(
                adapter: adapter, action: "start", idempotencyKey: event.id, kind: poison ? .rejected : .accepted,
                reason: poison ? "malformed_payload" : nil)
            _ = try await ledger.record(outcome)
            return .recorded(outcome, deadLetter: poison)
        } catch {
            return .unrecorded(error)
        }
    }

    /// Outcomes in the ledger for this adapter.
    func recordedIDs() async throws -> [String] {
        try await ledger.outcomes(OutcomeQuery(adapter: adapter, limit: 1_000_000)).map(\.outcome.idempotencyKey)
    }
}
