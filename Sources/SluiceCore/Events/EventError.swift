/// Why a delivery could not be turned into an ``Event``.
public enum EventError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A CloudEvent (structured or binary) lacks a required attribute or has one of the wrong type.
    case invalidCloudEvent(mode: CloudEvent.Mode, problem: String)

    public var description: String {
        switch self {
        case .invalidCloudEvent(let mode, let problem): "invalid \(mode.rawValue) CloudEvent: \(problem)"
        }
    }
}
