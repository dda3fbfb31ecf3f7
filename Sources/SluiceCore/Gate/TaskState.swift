/// The lifecycle state of one task in a ``TaskRuntime`` (seed 002's `TaskState`).
///
/// `seq` is the admission number: it grows by one with every successful
/// ``TaskRuntime/enqueue(_:orderingKey:)`` and ``TaskRuntime/retry(_:)``, so a retried task gets
/// a new, larger `seq` and waits behind the tasks admitted before its retry.
///
/// ```
///          enqueue                start                succeed / fail
///   ─────────────► queued ───────────────► inFlight ─────────────────► succeeded / failed
///                    │                        │
///                    └──── cancel ───┐  ┌─── cancel / budget expired
///                                    ▼  ▼
///                                  cancelled
///   failed / cancelled ── retry ──► queued
/// ```
public enum TaskState: Sendable, Hashable, CustomStringConvertible {
    /// Admitted and waiting for a free in-flight slot (and for its ordering key to be free).
    case queued(seq: Int)
    /// Started at `startedAt` and not finished yet.
    case inFlight(seq: Int, startedAt: GateInstant)
    /// Finished successfully. Terminal.
    case succeeded(seq: Int)
    /// Finished with an error. Terminal, but may be retried.
    case failed(seq: Int, reason: String)
    /// Cancelled before it started, while running, or abandoned after its cancellation budget.
    /// Terminal, but may be retried.
    case cancelled(seq: Int, reason: String)

    /// The state without its associated values, for errors and tables.
    public enum Kind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// ``TaskState/queued(seq:)``.
        case queued
        /// ``TaskState/inFlight(seq:startedAt:)``.
        case inFlight
        /// ``TaskState/succeeded(seq:)``.
        case succeeded
        /// ``TaskState/failed(seq:reason:)``.
        case failed
        /// ``TaskState/cancelled(seq:reason:)``.
        case cancelled

        /// The case name, for example `inFlight`.
        public var description: String { rawValue }
    }

    /// The admission number of the task's current admission.
    public var seq: Int {
        switch self {
        case .queued(let seq), .inFlight(let seq, _), .succeeded(let seq), .failed(let seq, _),
            .cancelled(let seq, _):
            return seq
        }
    }

    /// The state without its associated values.
    public var kind: Kind {
        switch self {
        case .queued: return .queued
        case .inFlight: return .inFlight
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .cancelled: return .cancelled
        }
    }

    /// Whether the task has finished (succeeded, failed or cancelled).
    public var isTerminal: Bool {
        switch self {
        case .queued, .inFlight: return false
        case .succeeded, .failed, .cancelled: return true
        }
    }

    /// The state as stable text, for example `failed(seq: 3, reason: "timeout")`.
    public var description: String {
        switch self {
        case .queued(let seq): return "queued(seq: \(seq))"
        case .inFlight(let seq, let startedAt): return "inFlight(seq: \(seq), startedAt: \(startedAt))"
        case .succeeded(let seq): return "succeeded(seq: \(seq))"
        case .failed(let seq, let reason): return "failed(seq: \(seq), reason: \(reason.debugDescription))"
        case .cancelled(let seq, let reason): return "cancelled(seq: \(seq), reason: \(reason.debugDescription))"
        }
    }
}
