/// Decides when a pull source hands its fetched work to the gate, in batches (seed 000's
/// `poll_min_results`, `poll_max_results`, `poll_max_wait_seconds`).
///
/// Items are appended as they are fetched; ``nextBatch(now:)`` hands over a batch as soon as at
/// least ``minResults`` items are pending, or, with a ``maxWait``, once the oldest pending item
/// has waited that long; a batch never holds more than ``maxResults`` items. The owner arms one
/// timer at ``deadline`` and otherwise calls ``nextBatch(now:)`` after each append, in a loop.
///
/// ```swift
/// batcher.append(contentsOf: fetched, now: now)
/// while let batch = batcher.nextBatch(now: now) { admit(batch) }
/// if let deadline = batcher.deadline { scheduleWakeUp(at: deadline) }
/// ```
public struct PullBatcher<Element: Sendable>: Sendable {
    /// The fewest items in a batch handed over before ``maxWait`` (seed: `poll_min_results`, default 1).
    public let minResults: Int
    /// The most items in one batch (seed: `poll_max_results`, default 10).
    public let maxResults: Int
    /// How long the oldest pending item may wait for the batch to reach ``minResults``; nil waits
    /// indefinitely (seed: `poll_max_wait_seconds`, default none).
    public let maxWait: Duration?

    var pending: [Element] = []
    var arrivals: [GateInstant] = []

    /// Creates an empty batcher after checking its settings.
    ///
    /// - Parameters:
    ///   - minResults: At least 1. Default 1.
    ///   - maxResults: At least `minResults`. Default 10.
    ///   - maxWait: Not negative, or nil. Default nil.
    /// - Throws: ``GateConfigurationError`` naming the first setting out of range.
    public init(minResults: Int = 1, maxResults: Int = 10, maxWait: Duration? = nil) throws(GateConfigurationError) {
        guard minResults >= 1 else {
            throw GateConfigurationError(field: "minResults", problem: "must be at least 1, got \(minResults)")
        }
        guard maxResults >= minResults else {
            throw GateConfigurationError(
                field: "maxResults", problem: "must be at least minResults (\(minResults)), got \(maxResults)")
        }
        if let maxWait, maxWait < .zero {
            throw GateConfigurationError(field: "maxWait", problem: "must not be negative, got \(maxWait)")
        }
        self.minResults = minResults
        self.maxResults = maxResults
        self.maxWait = maxWait
    }

    /// How many items are waiting to be handed over.
    public var pendingCount: Int { pending.count }

    /// How many items the source may fetch to complete one full batch (`maxResults - pendingCount`,
    /// at least 0). Bound it further by ``TaskRuntime/pullCapacity``.
    public var fetchLimit: Int { max(0, maxResults - pending.count) }

    /// When the oldest pending item's wait runs out, or nil if nothing waits or there is no ``maxWait``.
    public var deadline: GateInstant? {
        guard let maxWait, let first = arrivals.first else { return nil }
        return first + maxWait
    }

    /// Adds one fetched item.
    ///
    /// - Parameters:
    ///   - element: The item.
    ///   - now: When it was fetched.
    public mutating func append(_ element: Element, now: GateInstant) {
        pending.append(element)
        arrivals.append(now)
    }

    /// Adds fetched items, all arriving at `now`.
    ///
    /// - Parameters:
    ///   - elements: The items, in fetch order.
    ///   - now: When they were fetched.
    public mutating func append(contentsOf elements: some Sequence<Element>, now: GateInstant) {
        let before = pending.count
        pending.append(contentsOf: elements)
        arrivals.append(contentsOf: repeatElement(now, count: pending.count - before))
    }

    /// The next batch to hand over, if one is due: when at least ``minResults`` items are pending,
    /// or when ``deadline`` has come. Holds at most ``maxResults`` items, oldest first.
    ///
    /// - Parameter now: The current instant.
    /// - Returns: The batch, or nil if none is due yet.
    public mutating func nextBatch(now: GateInstant) -> [Element]? {
        guard !pending.isEmpty else { return nil }
        let due = pending.count >= minResults || deadline.map { now >= $0 } ?? false
        guard due else { return nil }
        return take(min(maxResults, pending.count))
    }

    /// Hands over everything pending, regardless of size or wait (shutdown, rebalance).
    ///
    /// - Returns: All pending items, oldest first; possibly more than ``maxResults``.
    public mutating func drain() -> [Element] {
        take(pending.count)
    }

    private mutating func take(_ n: Int) -> [Element] {
        let batch = Array(pending.prefix(n))
        pending.removeFirst(n)
        arrivals.removeFirst(n)
        return batch
    }
}
