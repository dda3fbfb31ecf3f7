import Testing

@testable import SluiceCore

/// Push admission (`Retry-After` from the drain rate), pull capacity, counters.
@Suite("Gate admission")
struct GateAdmissionTests {
    static func seconds(_ value: Double) -> GateInstant { GateInstant(nanoseconds: Int64(value * 1e9)) }

    static func runtime(maxInFlight: Int = 10, maxQueued: Int = 100) -> TaskRuntime {
        TaskRuntime(
            boundary: Boundary(
                mode: .pushOnly, maxInFlight: maxInFlight, maxQueued: maxQueued, cancellationBudget: .zero))
    }

    @Test("pull capacity is the free queue room, and none while cancelling")
    func pullCapacity() throws {
        var runtime = Self.runtime(maxInFlight: 2, maxQueued: 5)
        #expect(runtime.pullCapacity == 5)
        for key in ["a", "b", "c"] { try runtime.enqueue(key) }
        #expect(runtime.pullCapacity == 2)
        _ = runtime.startAvailable(now: .zero)
        #expect(runtime.pullCapacity == 4, "started tasks leave the queue")
        _ = runtime.beginCancellation(reason: "shutdown", now: .zero)
        #expect(runtime.pullCapacity == 0)
    }

    @Test("the low watermark is half the queue")
    func lowWatermark() {
        #expect(TaskRuntime().lowWatermark == 5_000)
        #expect(Self.runtime(maxQueued: 1).lowWatermark == 0)
        #expect(Self.runtime(maxQueued: 7).lowWatermark == 3)
    }

    @Test("counters for metrics")
    func counters() throws {
        var runtime = Self.runtime(maxInFlight: 1, maxQueued: 1)
        try runtime.enqueue("a")
        #expect(throws: TaskRuntimeError.self) { try runtime.enqueue("b") }
        _ = runtime.startAvailable(now: .zero)
        try runtime.enqueue("b")
        try runtime.succeed("a")
        _ = runtime.startAvailable(now: .zero)
        try runtime.fail("b", reason: "boom")
        #expect(runtime.admittedTotal == 2)
        #expect(runtime.refusedTotal == 1)
        #expect(runtime.succeededTotal == 1)
        #expect(runtime.failedTotal == 1)
        #expect(runtime.completedTotal == 2)
        #expect(runtime.inFlightCount == 0)
        #expect(runtime.queuedCount == 0)
        #expect(runtime.historyCount == 2)
        #expect(runtime.trackedCount == 2)
    }

    /// Completes `count` tasks starting at `now`; the start samples the drain.
    static func complete(_ count: Int, in runtime: inout TaskRuntime, now: GateInstant, prefix: String) throws {
        for i in 0..<count { try runtime.enqueue("\(prefix)\(i)") }
        for key in runtime.startAvailable(now: now) { try runtime.succeed(key) }
    }

    @Test("Retry-After: the time to drain to the low watermark at the observed rate")
    func retryAfterFromDrainRate() throws {
        var runtime = Self.runtime()
        #expect(runtime.suggestedRetryAfter(now: .zero) == .seconds(1), "nothing known yet: the minimum")
        try Self.complete(10, in: &runtime, now: Self.seconds(0), prefix: "done-")
        for i in 0..<100 { try runtime.enqueue("wait-\(i)") }
        #expect(throws: TaskRuntimeError.queueSaturated(key: "one-more", maxQueued: 100)) {
            try runtime.enqueue("one-more")
        }
        // 10 completions in 1 s; 50 tasks above the low watermark: 5 s.
        #expect(runtime.suggestedRetryAfter(now: Self.seconds(1)) == .seconds(5))
        // 10 completions in 4 s: 2.5 per second, 20 s.
        #expect(runtime.suggestedRetryAfter(now: Self.seconds(4)) == .seconds(20))
        // Long past the window with no new sample: the average since the last sample, clamped.
        #expect(runtime.suggestedRetryAfter(now: Self.seconds(40)) == .seconds(60))
        #expect(
            runtime.suggestedRetryAfter(now: Self.seconds(40), minimum: .seconds(2), maximum: .seconds(30))
                == .seconds(30))
    }

    @Test("Retry-After: nothing draining gives the maximum, a fast drain the minimum")
    func retryAfterBounds() throws {
        var idle = Self.runtime()
        _ = idle.startAvailable(now: Self.seconds(0))
        #expect(idle.suggestedRetryAfter(now: Self.seconds(3)) == .seconds(60))
        #expect(idle.suggestedRetryAfter(now: Self.seconds(3), maximum: .seconds(10)) == .seconds(10))

        var fast = Self.runtime(maxInFlight: 1_000, maxQueued: 1_000)
        try Self.complete(1_000, in: &fast, now: Self.seconds(0), prefix: "a-")
        for i in 0..<1_000 { try fast.enqueue("b-\(i)") }
        // 1,000 per second, 500 above the watermark: 0.5 s, rounded up to the 1 s minimum.
        #expect(fast.suggestedRetryAfter(now: Self.seconds(1)) == .seconds(1))
        #expect(fast.suggestedRetryAfter(now: Self.seconds(1), minimum: .milliseconds(250)) == .seconds(1))
    }

    @Test("Retry-After follows the window: old completions age out")
    func retryAfterWindow() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushOnly, maxInFlight: 100, maxQueued: 100, cancellationBudget: .zero),
            drainWindow: .seconds(10))
        // A burst of 100 completions per second for 10 s, then only 1 per second.
        for second in 0..<10 {
            try Self.complete(100, in: &runtime, now: Self.seconds(Double(second)), prefix: "burst-\(second)-")
        }
        for second in 10..<30 {
            try Self.complete(1, in: &runtime, now: Self.seconds(Double(second)), prefix: "slow-\(second)-")
        }
        for i in 0..<100 { try runtime.enqueue("wait-\(i)") }
        // Over the last 10 s: 10 completions, 1 per second; 50 above the watermark.
        #expect(runtime.suggestedRetryAfter(now: Self.seconds(30)) == .seconds(50))
    }

    @Test("the drain estimator keeps one sample per bucket in a fixed ring")
    func drainEstimator() {
        var estimator = DrainRateEstimator(window: .seconds(10), buckets: 10)
        #expect(estimator.ratePerSecond(total: 5, now: Self.seconds(1)) == nil)
        for second in 0...10 { estimator.observe(total: 100 * second, now: Self.seconds(Double(second))) }
        estimator.observe(total: 1_050, now: Self.seconds(10.5))
        #expect(estimator.count == 11, "a sample inside the newest bucket is skipped")
        #expect(estimator.ratePerSecond(total: 1_000, now: Self.seconds(10)) == 100)
        for second in 11...25 { estimator.observe(total: 1_000, now: Self.seconds(Double(second))) }
        #expect(estimator.samples.count == 11, "the ring never grows")
        #expect(estimator.ratePerSecond(total: 1_000, now: Self.seconds(25)) == 0)
        #expect(estimator.ratePerSecond(total: 1_010, now: Self.seconds(25)) == 1)
    }

    @Test("the drain estimator measures from the oldest sample inside the window")
    func drainEstimatorWindowStart() {
        var estimator = DrainRateEstimator(window: .seconds(10), buckets: 10)
        for second in 0...10 { estimator.observe(total: 100 * second, now: Self.seconds(Double(second))) }
        for second in 11...12 { estimator.observe(total: 1_000, now: Self.seconds(Double(second))) }
        // Window [2 s, 12 s]: from 200 at 2 s to 1,000 at 12 s.
        #expect(estimator.ratePerSecond(total: 1_000, now: Self.seconds(12)) == 80)
    }
}
