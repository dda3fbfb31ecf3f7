public import CoreMetrics
import NIOCore
import Synchronization

/// The webhook routes' metrics, created once per label set and cached: requests by adapter and
/// status, verification failures by reason, admission refusals, and how long the sink (the inbox)
/// took to accept.
///
/// Dimensions are the adapter name, the status code, the reason: never a path, an id or a header.
public final class WebhookMetrics: Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[CounterKey: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    /// - Parameter factory: where metrics go; default the process-wide `MetricsSystem`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// One request answered (`sluice_webhook_requests_total{adapter,status}`).
    public func recordRequest(adapter: String, status: Int) {
        counter("sluice_webhook_requests_total", [("adapter", adapter), ("status", String(status))]).increment()
    }

    /// One verification failure (`sluice_webhook_verification_failures_total{adapter,reason}`).
    public func recordVerificationFailure(adapter: String, reason: VerificationFailure.Reason) {
        counter("sluice_webhook_verification_failures_total", [("adapter", adapter), ("reason", reason.rawValue)])
            .increment()
    }

    /// One delivery refused for admission (`sluice_webhook_admission_refusals_total{adapter,reason}`):
    /// `saturated` (429) or `unavailable` (503).
    public func recordAdmissionRefusal(adapter: String, reason: String) {
        counter("sluice_webhook_admission_refusals_total", [("adapter", adapter), ("reason", reason)]).increment()
    }

    /// How long the sink took (`sluice_webhook_inbox_duration_seconds{adapter}`).
    public func recordInboxLatency(adapter: String, duration: Duration) {
        let timer = timers.withLock { timers -> Timer in
            if let timer = timers[adapter] { return timer }
            let timer = Timer(
                label: "sluice_webhook_inbox_duration_seconds", dimensions: [("adapter", adapter)], factory: factory)
            timers[adapter] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(TimeAmount(duration).nanoseconds))
    }

    /// A counter's label and dimension values: hashed on every request, so it builds no string.
    private struct CounterKey: Hashable {
        let label: String
        let values: [String]
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = CounterKey(label: label, values: dimensions.map(\.1))
        return counters.withLock { counters -> Counter in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }
}
