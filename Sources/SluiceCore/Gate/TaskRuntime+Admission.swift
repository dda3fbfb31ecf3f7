// Push and pull admission: what a webhook needs for `429` + `Retry-After`, and what a Kafka
// source needs to fetch only what fits.

extension TaskRuntime {
    /// How many tasks a pull source may fetch now: the free room in the queue (0 while cancelling).
    public var pullCapacity: Int {
        guard case .accepting = phase else { return 0 }
        return max(0, boundary.maxQueued - queuedCount)
    }

    /// The queue length at or below which a paused pull source resumes, and which a refused push
    /// source should wait for: half of ``Boundary/maxQueued``.
    public var lowWatermark: Int { max(0, boundary.maxQueued) / 2 }

    /// How long a refused push source should wait before trying again, for a `Retry-After` header.
    ///
    /// The estimate is the time for the queue to drain to ``lowWatermark`` at the completion rate
    /// observed over the drain window (completions are sampled by ``startAvailable(now:)``),
    /// rounded up to whole seconds and clamped to `minimum...maximum`:
    /// - no sample yet (nothing known): `minimum`;
    /// - samples but no completion in the window (nothing drains): `maximum`.
    ///
    /// - Parameters:
    ///   - now: The current instant.
    ///   - minimum: The shortest suggestion. Default 1 s.
    ///   - maximum: The longest suggestion. Default 60 s.
    /// - Returns: The suggested wait, in whole seconds unless a bound is fractional.
    public func suggestedRetryAfter(
        now: GateInstant, minimum: Duration = .seconds(1), maximum: Duration = .seconds(60)
    ) -> Duration {
        guard let rate = drain.ratePerSecond(total: completedTotal, now: now) else { return minimum }
        guard rate > 0 else { return max(minimum, maximum) }
        let backlog = max(1, queuedCount - lowWatermark)
        let seconds = (Double(backlog) / rate).rounded(.up)
        let suggestion: Duration = seconds >= 1e9 ? maximum : .seconds(Int64(seconds))
        return min(max(suggestion, minimum), max(minimum, maximum))
    }
}
