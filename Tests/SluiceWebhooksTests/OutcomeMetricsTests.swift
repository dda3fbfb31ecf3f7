import MetricsTestKit
@testable import SluiceCore
import Testing

/// `sluice_outcomes_total`'s `reason` label comes from a fixed set: an engine's or a proxy's own reason text,
/// different in each answer, would make a new series each time.
@Suite struct OutcomeMetricsTests {
    @Test func reasonLabelsComeFromAFixedSet() {
        let metrics = TestMetrics()
        let dispatcher = DispatcherMetrics(adapter: "orders", factory: metrics)
        for reason: OutcomeReason in ["blocked request 7f3a", "blocked request 9c01", .unknownTarget, "malformed_response"] {
            dispatcher.recordOutcome(
                Outcome(adapter: "orders", action: "start_workflow", idempotencyKey: "k", kind: .rejected, reason: reason))
        }
        let reasons = metrics.counters.filter { $0.label == "sluice_outcomes_total" }
            .compactMap { counter in counter.dimensions.first { $0.0 == "reason" }?.1 }
        #expect(Set(reasons) == ["none", "other", "unknown_target", "malformed_response"], "\(reasons)")
    }
}
