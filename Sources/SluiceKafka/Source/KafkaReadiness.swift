/// Whether a Kafka source can consume: what `/readyz` reports for it.
public enum KafkaReadiness: Sendable, Hashable, CustomStringConvertible {
    /// Connecting; no partition assigned and no broker answered yet.
    case starting
    /// A broker answered and the subscribed topics exist.
    case ready
    /// Not consuming, with librdkafka's error (unreachable bootstrap, unknown topic, authorization…).
    case notReady(KafkaError)
    /// Shut down.
    case stopped

    public var isReady: Bool { self == .ready }

    public var description: String {
        switch self {
        case .starting: "starting"
        case .ready: "ready"
        case .notReady(let error): "not ready: \(error)"
        case .stopped: "stopped"
        }
    }
}

/// Counters of a Kafka source, for tests, the status page and benchmarks.
public struct KafkaSourceStatistics: Sendable, Hashable {
    /// Records fetched from librdkafka and accepted into the buffer.
    public var received = 0
    /// Records whose outcome is durable (their offsets may be committed).
    public var settled = 0
    /// Records produced to the dead-letter topic.
    public var deadLettered = 0
    /// Outcomes produced to the outcome topic.
    public var outcomesPublished = 0
    /// Submissions made again after an abandoned or unrecorded settlement or a refused admission.
    public var retried = 0
    /// Ordered adapters: records kept out of the gate at their admission because an earlier record of their
    /// partition ended undecided while they were being mapped and checked; they queue behind it.
    public var takenBack = 0
    /// Records fetched but not yet admitted, now.
    public var buffered = 0
    /// The largest `buffered` seen.
    public var maxBuffered = 0
    /// Admitted records whose outcome is not durable yet, now.
    public var inFlight = 0
    /// How many times the partitions were paused because the gate was full.
    public var pauses = 0
    /// Whether the partitions are paused now.
    public var paused = false
    /// Partitions owned now.
    public var assigned: [TopicPartition] = []
    /// The last offset committed per partition (the next offset to read), including partitions no longer owned.
    public var committed: [TopicPartition: Int64] = [:]
    /// Rebalances seen: assignments and revocations.
    public var assignments = 0
    public var revocations = 0
    /// Revocations that were losses (the session ended; nothing committed for those partitions).
    public var losses = 0
    /// Times a partition's log went back under this consumer (truncated, or its topic made again): the records
    /// from the earlier offset were taken again.
    public var rewinds = 0
    /// Records dropped because librdkafka handed them out again (at or before an offset already received, with no
    /// reset announced).
    public var redelivered = 0
}
