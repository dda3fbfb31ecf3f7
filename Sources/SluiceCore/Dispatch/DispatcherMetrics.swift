public import CoreMetrics
import Synchronization

/// The gate's metrics for one adapter, created once and cached: in flight, queued, admitted,
/// refused, retries, outcomes by kind and reason, and step latency.
///
/// Dimensions stay low-cardinality: the adapter, the outcome kind and reason, the action — never an
/// event id or a workflow id.
public final class DispatcherMetrics: Sendable {
    let inFlight: Gauge
    let queued: Gauge
    let admitted: Counter
    let refusedSaturated: Counter
    let refusedOther: Counter
    let retries: Counter
    let abandoned: Counter
    private let adapter: String
    private let factory: any MetricsFactory
    private let outcomes = Mutex<[String: Counter]>([:])
    private let acceptedWithoutReason: Counter
    private let duplicateWithoutReason: Counter
    private let stepTimers: [EngineCommand.Action: Timer]

    /// - Parameters:
    ///   - adapter: the adapter's name, the `adapter` dimension of every metric.
    ///   - factory: where metrics go; default the process-wide `MetricsSystem`.
    public init(adapter: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.adapter = adapter
        self.factory = factory
        let dimensions = [("adapter", adapter)]
        inFlight = Gauge(label: "sluice_gate_in_flight", dimensions: dimensions, factory: factory)
        queued = Gauge(label: "sluice_gate_queued", dimensions: dimensions, factory: factory)
        admitted = Counter(label: "sluice_gate_admitted_total", dimensions: dimensions, factory: factory)
        refusedSaturated = Counter(
            label: "sluice_gate_refused_total", dimensions: dimensions + [("reason", "saturated")], factory: factory)
        refusedOther = Counter(
            label: "sluice_gate_refused_total", dimensions: dimensions + [("reason", "other")], factory: factory)
        retries = Counter(label: "sluice_step_retries_total", dimensions: dimensions, factory: factory)
        abandoned = Counter(label: "sluice_events_abandoned_total", dimensions: dimensions, factory: factory)
        acceptedWithoutReason = Counter(
            label: "sluice_outcomes_total", dimensions: dimensions + [("outcome", "accepted"), ("reason", "none")],
            factory: factory)
        duplicateWithoutReason = Counter(
            label: "sluice_outcomes_total", dimensions: dimensions + [("outcome", "duplicate"), ("reason", "none")],
            factory: factory)
        var timers: [EngineCommand.Action: Timer] = [:]
        for action in EngineCommand.Action.allCases {
            timers[action] = Timer(
                label: "sluice_step_duration_seconds", dimensions: dimensions + [("action", action.rawValue)],
                factory: factory)
        }
        stepTimers = timers
    }

    func recordAdmitted() { admitted.increment() }
    func recordRefused(saturated: Bool) { (saturated ? refusedSaturated : refusedOther).increment() }
    func recordRetry() { retries.increment() }
    func recordAbandoned() { abandoned.increment() }

    func recordOutcome(_ outcome: Outcome) {
        switch (outcome.kind, outcome.reason) {
        case (.accepted, nil): return acceptedWithoutReason.increment()
        case (.duplicate, nil): return duplicateWithoutReason.increment()
        default: break
        }
        // A label from a fixed set: an engine's or a proxy's own reason text, different each time, would make a
        // series per answer. The ledger and the logs keep the reason as it came.
        let reason = outcome.reason.map { OutcomeReason.allNames.contains($0.rawValue) ? $0.rawValue : "other" } ?? "none"
        let key = outcome.kind.rawValue + "/" + reason
        let counter = outcomes.withLock { counters -> Counter in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "sluice_outcomes_total",
                dimensions: [("adapter", adapter), ("outcome", outcome.kind.rawValue), ("reason", reason)],
                factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    func recordStep(action: EngineCommand.Action, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        stepTimers[action]?.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func recordGauges(inFlight inFlightCount: Int, queued queuedCount: Int) {
        inFlight.record(inFlightCount)
        queued.record(queuedCount)
    }
}
