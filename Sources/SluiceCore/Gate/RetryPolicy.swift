/// How often and how patiently a failed engine call is tried again.
public struct RetryPolicy: Sendable, Hashable, Codable {
    public var maxAttempts: Int
    public var initialInterval: Duration
    public var backoffCoefficient: Double
    public var maxInterval: Duration
    public var nonRetryable: Set<String>

    public init(
        maxAttempts: Int, initialInterval: Duration, backoffCoefficient: Double, maxInterval: Duration,
        nonRetryable: Set<String>
    ) {
        self.maxAttempts = maxAttempts
        self.initialInterval = initialInterval
        self.backoffCoefficient = backoffCoefficient
        self.maxInterval = maxInterval
        self.nonRetryable = nonRetryable
    }

    /// 10 attempts, 200 ms doubling up to 30 s; `malformed_payload` and `unknown_target` are final.
    public static let `default` = RetryPolicy(
        maxAttempts: 10, initialInterval: .milliseconds(200), backoffCoefficient: 2.0, maxInterval: .seconds(30),
        nonRetryable: ["malformed_payload", "unknown_target"])
}
