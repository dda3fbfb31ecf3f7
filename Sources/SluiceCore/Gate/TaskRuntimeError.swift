/// Why a ``TaskRuntime`` refused an operation (seed 002's `RuntimeError`, plus ``cancelling(key:reason:)``).
///
/// ``queueSaturated(key:maxQueued:)`` and ``cancelling(key:reason:)`` are backpressure: the
/// caller may try again later (a webhook answers `429` or `503`). The others are caller bugs or
/// races (a late completion of an abandoned task) and are permanent for that call.
public enum TaskRuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A task with this key is already tracked (queued, in flight, or still in the terminal history).
    case duplicateTask(key: String)
    /// The queue already holds `maxQueued` tasks; nothing was admitted.
    case queueSaturated(key: String, maxQueued: Int)
    /// No task with this key is tracked (never admitted, or forgotten from the history).
    case unknownTask(key: String)
    /// The task's state does not allow this action.
    case invalidTransition(key: String, state: TaskState.Kind, action: TaskRuntime.Action)
    /// The runtime is cancelling (see ``TaskRuntime/beginCancellation(reason:now:)``) and admits
    /// nothing until ``TaskRuntime/reopen()``.
    case cancelling(key: String, reason: String)

    /// The key of the task the refused operation named.
    public var key: String {
        switch self {
        case .duplicateTask(let key), .queueSaturated(let key, _), .unknownTask(let key),
            .invalidTransition(let key, _, _), .cancelling(let key, _):
            return key
        }
    }

    /// Whether the refusal is backpressure that may clear by itself (try again later).
    public var isBackpressure: Bool {
        switch self {
        case .queueSaturated, .cancelling: return true
        case .duplicateTask, .unknownTask, .invalidTransition: return false
        }
    }

    /// A one-line message naming the key, for logs and problem bodies.
    public var description: String {
        switch self {
        case .duplicateTask(let key):
            return "task \(key.debugDescription) is already tracked"
        case .queueSaturated(let key, let maxQueued):
            return "task \(key.debugDescription) refused: queue is full (\(maxQueued) queued)"
        case .unknownTask(let key):
            return "task \(key.debugDescription) is unknown"
        case .invalidTransition(let key, let state, let action):
            return "task \(key.debugDescription) cannot \(action) while \(state)"
        case .cancelling(let key, let reason):
            return "task \(key.debugDescription) refused: cancelling (\(reason))"
        }
    }
}
