/// Pause/resume decisions for a pull source, with hysteresis between a high and a low watermark.
///
/// The source pauses (a Kafka consumer pauses its partitions instead of buffering) when the
/// queue reaches ``high`` and resumes only once it has drained to ``low``, so that it does not
/// flap around one threshold. The machine only decides; its owner performs the action.
///
/// ```swift
/// switch watermark.update(queued: runtime.queuedCount) {
/// case .pause: consumer.pause(partitions)
/// case .resume: consumer.resume(partitions)
/// case .none: break
/// }
/// ```
public struct PullWatermark: Sendable, Hashable {
    /// What the owner should do after an update.
    public enum Action: Sendable, Hashable {
        /// Stop fetching: the queue is full.
        case pause
        /// Fetch again: the queue has drained to the low watermark.
        case resume
        /// Keep doing what you do.
        case none
    }

    /// Whether the source is fetching.
    public enum State: Sendable, Hashable {
        /// Fetching.
        case flowing
        /// Not fetching until the queue drains to ``PullWatermark/low``.
        case paused
    }

    /// Pause when the queue holds at least this many tasks.
    public let high: Int
    /// Resume when the queue holds at most this many tasks (below ``high``).
    public let low: Int
    /// Whether the source is fetching now.
    public private(set) var state: State = .flowing

    /// Creates a flowing watermark.
    ///
    /// - Parameters:
    ///   - high: Pause at this queue length or more (at least 1; smaller counts as 1).
    ///   - low: Resume at this queue length or less (clamped to `0...high - 1`).
    public init(high: Int, low: Int) {
        self.high = max(1, high)
        self.low = min(max(0, low), self.high - 1)
    }

    /// The watermark a boundary implies: pause at ``Boundary/maxQueued``, resume at half of it
    /// (``TaskRuntime/lowWatermark``).
    ///
    /// - Parameter boundary: The boundary the source feeds.
    public init(boundary: Boundary) {
        self.init(high: boundary.maxQueued, low: max(0, boundary.maxQueued) / 2)
    }

    /// Feeds the current queue length and returns what to do.
    ///
    /// - Parameter queued: The queue length now (``TaskRuntime/queuedCount``).
    /// - Returns: `.pause` when flowing and `queued >= high`, `.resume` when paused and
    ///   `queued <= low`, else `.none`.
    public mutating func update(queued: Int) -> Action {
        switch state {
        case .flowing where queued >= high:
            state = .paused
            return .pause
        case .paused where queued <= low:
            state = .flowing
            return .resume
        case .flowing, .paused:
            return .none
        }
    }
}
