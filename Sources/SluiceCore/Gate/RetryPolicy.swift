/// How often and how patiently a failed engine call is tried again (seed 001's `ActivityRetryPolicy`).
///
/// Pure math: given the attempt that just failed, ``delay(afterAttempt:retryAfter:random:)``
/// returns how long to wait before the next one, with full jitter, honouring a server's
/// `Retry-After` as a lower bound, or nil when the attempts are used up.
///
/// The memberwise initializer checks nothing; use ``init(validating:)`` or ``validate()`` on
/// values that came from a user. (Parsing it from an adapter's YAML is `RetrySpec`'s job.)
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Total attempts, the first included (seed: `max_attempts`). 1 means never retry.
    public var maxAttempts: Int
    /// The backoff ceiling after the first attempt (seed: `initial_interval`).
    public var initialInterval: Duration
    /// How much the ceiling grows per attempt (seed: `backoff_coefficient`).
    public var backoffCoefficient: Double
    /// The largest ceiling (seed: `maximum_interval`).
    public var maxInterval: Duration
    /// Failure reasons that are final: never retried (seed: `non_retryable_error_types`).
    public var nonRetryable: Set<String>

    /// Creates a policy without checking it; every parameter defaults to ``default``'s value.
    ///
    /// - Parameters:
    ///   - maxAttempts: Total attempts, the first included. Default 10.
    ///   - initialInterval: The first backoff ceiling. Default 200 ms.
    ///   - backoffCoefficient: Growth per attempt. Default 2.0.
    ///   - maxInterval: The largest ceiling. Default 30 s.
    ///   - nonRetryable: Final failure reasons. Default ``finalReasons``.
    public init(
        maxAttempts: Int = 10, initialInterval: Duration = .milliseconds(200), backoffCoefficient: Double = 2.0,
        maxInterval: Duration = .seconds(30), nonRetryable: Set<String> = RetryPolicy.finalReasons
    ) {
        self.maxAttempts = maxAttempts
        self.initialInterval = initialInterval
        self.backoffCoefficient = backoffCoefficient
        self.maxInterval = maxInterval
        self.nonRetryable = nonRetryable
    }

    /// The engine's rejections that the same command sent again cannot change, the default of ``nonRetryable``:
    /// retrying them only holds the event's ordering key for minutes of backoff before the same rejection.
    /// - `malformed_payload`, `payload_too_large`, `unsupported_routing`, `unsupported_action`: the command itself;
    /// - `unknown_target`: no such workflow;
    /// - `instance_already_started`: the id is taken (a closed run's id is never reused);
    /// - `run_not_active`: the run is closed;
    /// - `update_failed`: the update's handler ran and failed (sent again under its request id, the engine would
    ///   answer with the first attempt's receipt, which reads as a success);
    /// - the control plane's: a signal or update the workflow does not declare (`unknown_signal`, `unknown_update`),
    ///   arguments it refuses (`invalid_arguments`), an id another namespace holds
    ///   (`workflow_id_reserved_in_namespace`), a command for a run that is no longer current
    ///   (`historical_run_command_rejected`), a validated update sent without its request id
    ///   (`update_validation_request_id_required`); each also under its `rejected_` outcome name.
    public static let finalReasons: Set<String> = [
        "malformed_payload", "payload_too_large", "unsupported_routing", "unsupported_action", "unknown_target",
        "instance_already_started", "run_not_active", "update_failed",
        "unknown_signal", "rejected_unknown_signal", "unknown_update", "rejected_unknown_update", "invalid_arguments",
        "rejected_invalid_arguments", "workflow_id_reserved_in_namespace", "rejected_workflow_id_reserved_in_namespace",
        "historical_run_command_rejected", "update_validation_request_id_required",
    ]

    /// Creates a copy of `candidate` after checking it.
    ///
    /// - Parameter candidate: The policy to check.
    /// - Throws: ``GateConfigurationError`` naming the first field out of range.
    public init(validating candidate: RetryPolicy) throws(GateConfigurationError) {
        try candidate.validate()
        self = candidate
    }

    /// The default policy: 10 attempts, 200 ms doubling up to 30 s, full jitter;
    /// `malformed_payload` and `unknown_target` are final.
    ///
    /// The ceilings run 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30 s: the nine retries span up
    /// to about 80 s (40 s on average with full jitter), long enough to ride out an engine restart.
    public static let `default` = RetryPolicy()

    /// Checks that `maxAttempts >= 1`, `initialInterval > 0`, `backoffCoefficient >= 1` and finite,
    /// and `maxInterval >= initialInterval`.
    ///
    /// - Throws: ``GateConfigurationError`` naming the first field out of range.
    public func validate() throws(GateConfigurationError) {
        guard maxAttempts >= 1 else {
            throw GateConfigurationError(field: "maxAttempts", problem: "must be at least 1, got \(maxAttempts)")
        }
        guard initialInterval > .zero else {
            throw GateConfigurationError(field: "initialInterval", problem: "must be positive, got \(initialInterval)")
        }
        guard backoffCoefficient.isFinite, backoffCoefficient >= 1 else {
            throw GateConfigurationError(
                field: "backoffCoefficient", problem: "must be a finite number >= 1, got \(backoffCoefficient)")
        }
        guard maxInterval >= initialInterval else {
            throw GateConfigurationError(
                field: "maxInterval",
                problem: "must be at least initialInterval (\(initialInterval)), got \(maxInterval)")
        }
    }

    /// Whether a failure with this reason may be retried (it is not in ``nonRetryable``).
    ///
    /// - Parameter reason: The failure reason, for example an outcome reason such as `unknown_target`.
    /// - Returns: False for a final reason.
    public func isRetryable(reason: String) -> Bool {
        !nonRetryable.contains(reason)
    }

    /// The backoff ceiling after `attempt` failed: `min(maxInterval, initialInterval * backoffCoefficient^(attempt - 1))`.
    ///
    /// - Parameter attempt: The attempt that just failed, from 1 (smaller counts as 1).
    /// - Returns: The ceiling, never negative.
    public func backoffCeiling(afterAttempt attempt: Int) -> Duration {
        .nanoseconds(ceilingNanoseconds(afterAttempt: attempt))
    }

    /// How long to wait before the attempt after `attempt`, or nil when no attempt is left.
    ///
    /// The wait is drawn uniformly from `0...backoffCeiling(afterAttempt:)` (full jitter, one value
    /// taken from `random` per call), then
    /// raised to `retryAfter` when the server asked for more: never sooner than the server asked,
    /// even beyond ``maxInterval``. Whether the failure's reason is retryable is a separate
    /// question: ask ``isRetryable(reason:)`` first.
    ///
    /// - Parameters:
    ///   - attempt: The attempt that just failed, from 1.
    ///   - retryAfter: The server's `Retry-After`, if it sent one.
    ///   - random: The source of jitter (seed it in tests).
    /// - Returns: The wait, or nil when `attempt >= maxAttempts`.
    public func delay(
        afterAttempt attempt: Int, retryAfter: Duration? = nil, random: inout some RandomNumberGenerator
    ) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        let ceiling = ceilingNanoseconds(afterAttempt: attempt)
        let jittered = Duration.nanoseconds(Self.uniform(upTo: ceiling, using: &random))
        guard let retryAfter, retryAfter > jittered else { return jittered }
        return retryAfter
    }

    private func ceilingNanoseconds(afterAttempt attempt: Int) -> Int64 {
        let cap = max(0, GateInstant.nanoseconds(of: maxInterval))
        let initial = max(0, GateInstant.nanoseconds(of: initialInterval))
        let scaled = Double(initial) * Self.power(backoffCoefficient, max(0, attempt - 1))
        guard scaled.isFinite, scaled < Double(cap) else { return scaled.isNaN ? 0 : cap }
        return max(0, Int64(scaled))
    }

    /// A uniform draw from `0...ceiling` that takes exactly one value from the generator
    /// (multiply-high, no rejection loop; the bias is below `ceiling / 2^64`), so that a schedule
    /// replays exactly from a seed and a constant generator cannot stall it.
    static func uniform(upTo ceiling: Int64, using random: inout some RandomNumberGenerator) -> Int64 {
        guard ceiling > 0 else { return 0 }
        let draw = random.next()
        return Int64(draw.multipliedFullWidth(by: UInt64(ceiling) + 1).high)
    }

    /// `base` raised to a non-negative integer power, by repeated squaring (no libm needed).
    static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        var factor = base
        var remaining = exponent
        while remaining > 0 {
            if remaining & 1 == 1 { result *= factor }
            remaining >>= 1
            if remaining > 0 { factor *= factor }
        }
        return result
    }
}
