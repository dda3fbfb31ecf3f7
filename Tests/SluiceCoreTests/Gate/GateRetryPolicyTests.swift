import Testing

@testable import SluiceCore

/// A generator that always returns one value: `.max` draws the top of every range, `0` the bottom.
struct GateFixedRandom: RandomNumberGenerator {
    let value: UInt64
    mutating func next() -> UInt64 { value }
}

/// Seed 001's retry policy as math: backoff ceilings, full jitter, Retry-After, final reasons.
@Suite("RetryPolicy")
struct GateRetryPolicyTests {
    @Test("the default: 10 attempts, 200 ms doubling to 30 s")
    func defaults() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 10)
        #expect(policy.initialInterval == .milliseconds(200))
        #expect(policy.backoffCoefficient == 2.0)
        #expect(policy.maxInterval == .seconds(30))
        #expect(policy.nonRetryable == [
            "malformed_payload", "payload_too_large", "unsupported_routing", "unsupported_action", "unknown_target",
            "instance_already_started", "run_not_active", "update_failed",
            "unknown_signal", "rejected_unknown_signal", "unknown_update", "rejected_unknown_update", "invalid_arguments",
            "rejected_invalid_arguments", "workflow_id_reserved_in_namespace", "rejected_workflow_id_reserved_in_namespace",
            "historical_run_command_rejected", "update_validation_request_id_required",
        ])
        #expect(RetryPolicy() == policy)
    }

    @Test("ceilings grow by the coefficient up to the maximum")
    func ceilings() {
        let ceilings = (1...10).map { RetryPolicy.default.backoffCeiling(afterAttempt: $0) }
        #expect(
            ceilings == [
                .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1_600),
                .milliseconds(3_200), .milliseconds(6_400), .milliseconds(12_800), .milliseconds(25_600),
                .seconds(30), .seconds(30),
            ])
        #expect(RetryPolicy.default.backoffCeiling(afterAttempt: 0) == .milliseconds(200), "attempts count from 1")
        #expect(RetryPolicy.default.backoffCeiling(afterAttempt: .max) == .seconds(30), "no overflow")
        let flat = RetryPolicy(initialInterval: .seconds(1), backoffCoefficient: 1)
        #expect(flat.backoffCeiling(afterAttempt: 1_000_000) == .seconds(1))
    }

    @Test("the full schedule at the top and bottom of the jitter, nil when attempts run out")
    func schedule() {
        var top = GateFixedRandom(value: .max)
        var bottom = GateFixedRandom(value: 0)
        let policy = RetryPolicy(maxAttempts: 5, initialInterval: .milliseconds(100), maxInterval: .milliseconds(500))
        let highest = (1...5).map { policy.delay(afterAttempt: $0, random: &top) }
        #expect(highest == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), nil])
        let lowest = (1...5).map { policy.delay(afterAttempt: $0, random: &bottom) }
        #expect(lowest == [.zero, .zero, .zero, .zero, nil])
        var random = GateTestRandom(seed: 1)
        #expect(RetryPolicy(maxAttempts: 1).delay(afterAttempt: 1, random: &random) == nil, "1 attempt: no retry")
    }

    @Test("full jitter: uniform within 0...ceiling, the same for the same seed")
    func jitter() {
        let policy = RetryPolicy.default
        var random = GateTestRandom(seed: 42)
        for attempt in 1..<10 {
            let ceiling = policy.backoffCeiling(afterAttempt: attempt)
            var total = Duration.zero
            for _ in 0..<2_000 {
                let delay = policy.delay(afterAttempt: attempt, random: &random)!
                #expect(delay >= .zero && delay <= ceiling)
                total += delay
            }
            let mean = total / 2_000
            #expect(mean > ceiling * 0.45 && mean < ceiling * 0.55, "attempt \(attempt): mean \(mean) of \(ceiling)")
        }
        var first = GateTestRandom(seed: 7)
        var second = GateTestRandom(seed: 7)
        var other = GateTestRandom(seed: 8)
        let a = (1..<10).map { policy.delay(afterAttempt: $0, random: &first) }
        let b = (1..<10).map { policy.delay(afterAttempt: $0, random: &second) }
        let c = (1..<10).map { policy.delay(afterAttempt: $0, random: &other) }
        #expect(a == b)
        #expect(a != c)
    }

    @Test("Retry-After is a lower bound, even beyond the maximum interval")
    func retryAfterLowerBound() {
        let policy = RetryPolicy.default
        var bottom = GateFixedRandom(value: 0)
        var top = GateFixedRandom(value: .max)
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(5), random: &bottom) == .seconds(5))
        #expect(policy.delay(afterAttempt: 9, retryAfter: .seconds(5), random: &top) == .seconds(30))
        #expect(policy.delay(afterAttempt: 2, retryAfter: .seconds(45), random: &top) == .seconds(45))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(-3), random: &bottom) == .zero)
        #expect(
            policy.delay(afterAttempt: 10, retryAfter: .seconds(1), random: &bottom) == nil, "exhausted is exhausted")
        var random = GateTestRandom(seed: 3)
        for attempt in 1..<10 {
            let delay = policy.delay(afterAttempt: attempt, retryAfter: .seconds(2), random: &random)!
            #expect(delay >= .seconds(2))
        }
    }

    @Test("non-retryable reasons")
    func nonRetryable() {
        #expect(!RetryPolicy.default.isRetryable(reason: "unknown_target"))
        #expect(!RetryPolicy.default.isRetryable(reason: "malformed_payload"))
        #expect(!RetryPolicy.default.isRetryable(reason: "instance_already_started"))
        #expect(!RetryPolicy.default.isRetryable(reason: "run_not_active"))
        #expect(RetryPolicy.default.isRetryable(reason: "engine_unavailable"))
        #expect(RetryPolicy.default.isRetryable(reason: "task_queue_draining"))
        #expect(RetryPolicy.default.isRetryable(reason: "adapter_unavailable"))
        let custom = RetryPolicy(nonRetryable: ["instance_already_started"])
        #expect(!custom.isRetryable(reason: "instance_already_started"))
        #expect(custom.isRetryable(reason: "unknown_target"))
    }

    @Test("validation")
    func validation() throws {
        let good = try RetryPolicy(validating: .default)
        #expect(good == .default)
        let bad: [(RetryPolicy, String)] = [
            (RetryPolicy(maxAttempts: 0), "maxAttempts"),
            (RetryPolicy(initialInterval: .zero), "initialInterval"),
            (RetryPolicy(backoffCoefficient: 0.5), "backoffCoefficient"),
            (RetryPolicy(backoffCoefficient: .infinity), "backoffCoefficient"),
            (RetryPolicy(backoffCoefficient: .nan), "backoffCoefficient"),
            (RetryPolicy(initialInterval: .seconds(2), maxInterval: .seconds(1)), "maxInterval"),
        ]
        for (policy, field) in bad {
            #expect(throws: GateConfigurationError.self) { try policy.validate() }
            do throws(GateConfigurationError) {
                _ = try RetryPolicy(validating: policy)
            } catch {
                #expect(error.field == field)
            }
        }
    }

    @Test("integer powers by squaring")
    func power() {
        #expect(RetryPolicy.power(2, 0) == 1)
        #expect(RetryPolicy.power(2, 10) == 1_024)
        #expect(RetryPolicy.power(1.5, 3) == 3.375)
        #expect(RetryPolicy.power(2, 5_000) == .infinity)
    }
}
