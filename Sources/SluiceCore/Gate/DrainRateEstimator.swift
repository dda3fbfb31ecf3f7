/// Measures how fast a queue drains, over a sliding window, from a running completion total.
///
/// The owner samples a monotonically growing total (tasks completed so far) with the current
/// instant; the estimator keeps one sample per `window / buckets` in a fixed ring (no allocation
/// after creation) and reports completions per second since the oldest sample inside the window.
/// Callers that complete work need no clock: only sampling does.
public struct DrainRateEstimator: Sendable, Hashable {
    /// One observation of the running total.
    struct Sample: Sendable, Hashable {
        var at: GateInstant
        var total: Int
    }

    /// The span of history the rate is measured over.
    public let window: Duration
    /// The time between two kept samples, in nanoseconds.
    let spacing: Int64
    var samples: [Sample]
    /// Index of the newest sample in `samples`, or -1 before the first.
    var newest = -1
    var count = 0
    /// Samples taken before this instant are not kept (the newest bucket is already filled).
    public private(set) var nextSampleAt = GateInstant(nanoseconds: .min)

    /// Creates an estimator with no samples.
    ///
    /// - Parameters:
    ///   - window: The span to measure over (at least 1 ns). Default 10 s.
    ///   - buckets: How many samples the window is divided into (at least 1). Default 10.
    public init(window: Duration = .seconds(10), buckets: Int = 10) {
        let windowNanoseconds = max(1, GateInstant.nanoseconds(of: window))
        let buckets = max(1, buckets)
        self.window = .nanoseconds(windowNanoseconds)
        self.spacing = max(1, windowNanoseconds / Int64(buckets))
        self.samples = Array(repeating: Sample(at: .zero, total: 0), count: buckets + 1)
    }

    /// Records `total` at `now` if the newest bucket has passed; otherwise does nothing.
    ///
    /// - Parameters:
    ///   - total: The running count of completions (never decreasing).
    ///   - now: The current instant (never decreasing).
    public mutating func observe(total: Int, now: GateInstant) {
        guard now >= nextSampleAt else { return }
        newest = (newest + 1) % samples.count
        samples[newest] = Sample(at: now, total: total)
        count = min(count + 1, samples.count)
        nextSampleAt = now + .nanoseconds(spacing)
    }

    /// Completions per second, measured from the oldest sample within the window (or, when every
    /// sample is older, the newest one) up to `total` at `now`.
    ///
    /// - Parameters:
    ///   - total: The running count of completions now.
    ///   - now: The current instant.
    /// - Returns: The rate, 0 when nothing completed, or nil when there is no sample before `now`.
    public func ratePerSecond(total: Int, now: GateInstant) -> Double? {
        guard count > 0 else { return nil }
        let windowStart = now - window
        var base = samples[newest]
        for age in stride(from: count - 1, through: 0, by: -1) {
            let sample = samples[(newest - age + samples.count) % samples.count]
            if sample.at >= windowStart {
                base = sample
                break
            }
        }
        let span = now.nanoseconds &- base.at.nanoseconds
        guard span > 0 else { return nil }
        return Double(max(0, total - base.total)) * 1e9 / Double(span)
    }
}
