/// How a source hands work to the gate.
///
/// The mode is a contract between an adapter's source and its boundary; the task runtime itself
/// is source-agnostic (``TaskRuntime/enqueue(_:orderingKey:)`` serves both kinds). A push source
/// (a webhook) is answered at once: admitted or refused with ``TaskRuntimeError/queueSaturated(key:maxQueued:)``.
/// A pull source (a Kafka consumer) asks ``TaskRuntime/pullCapacity`` before fetching and pauses
/// when the queue is full (see ``PullWatermark``).
public enum BoundaryMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// Both push and pull sources may feed the boundary.
    case pushPull = "push-pull"
    /// Only push sources (webhooks): work arrives unasked and is refused when the queue is full.
    case pushOnly = "push-only"
    /// Only pull sources (Kafka): work is fetched when there is room.
    case pullOnly = "pull-only"

    /// Whether a push source (webhook) may feed a boundary in this mode.
    public var acceptsPush: Bool { self != .pullOnly }

    /// Whether a pull source (Kafka) may feed a boundary in this mode.
    public var acceptsPull: Bool { self != .pushOnly }
}
