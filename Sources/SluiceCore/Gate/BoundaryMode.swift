/// How a source hands work to the gate.
///
/// The mode is a contract between an adapter's source and its boundary; the task runtime itself
/// is source-agnostic (``TaskRuntime/enqueue(_:orderingKey:)`` serves both kinds). A push source
/// (a webhook) is answered at once: admitted or refused with ``TaskRuntimeError/queueSaturated(key:maxQueued:)``.
/// A pull source (a Kafka consumer) asks ``TaskRuntime/pullCapacity`` before fetching and pauses
/// when the queue is full.
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

    /// Why this mode refuses a webhook adapter's own webhooks, or nil when it takes them. They are pushed into the
    /// gate by the HTTP handler and the ledger's inbox, or pulled by the ingress topic's consumer when webhooks wait
    /// in Kafka (`kafka.inbox_topic`). A refusing mode would answer every webhook `503` (pushed into a pull-only
    /// gate), or acknowledge it `202` and then stop the ingress consumer (pulled into a push-only gate).
    public func webhookRefusal(kafkaInbox: Bool) -> String? {
        if kafkaInbox, !acceptsPull {
            return "boundary mode \(rawValue) refuses pull sources, and with kafka.inbox_topic webhooks reach the gate through the ingress topic's consumer (a pull source); use push-pull or pull-only"
        }
        if !kafkaInbox, !acceptsPush {
            return "boundary mode \(rawValue) refuses push sources, and webhooks are pushed into the gate; use push-pull or push-only (or set kafka.inbox_topic, through which webhooks are pulled)"
        }
        return nil
    }
}
