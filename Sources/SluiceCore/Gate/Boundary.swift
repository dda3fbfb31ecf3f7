/// How a source hands work to the gate.
public enum BoundaryMode: String, Sendable, Hashable, CaseIterable, Codable {
    case pushPull = "push-pull"
    case pushOnly = "push-only"
    case pullOnly = "pull-only"
}

/// The limits that keep a source's work metered before it reaches the engine.
public struct Boundary: Sendable, Hashable, Codable {
    public var mode: BoundaryMode
    public var maxInFlight: Int
    public var maxQueued: Int
    public var cancellationBudget: Duration

    public init(mode: BoundaryMode, maxInFlight: Int, maxQueued: Int, cancellationBudget: Duration) {
        self.mode = mode
        self.maxInFlight = maxInFlight
        self.maxQueued = maxQueued
        self.cancellationBudget = cancellationBudget
    }

    /// 64 in flight, 10,000 queued, 2 s to finish after cancellation, push-pull.
    public static let `default` = Boundary(mode: .pushPull, maxInFlight: 64, maxQueued: 10_000, cancellationBudget: .seconds(2))
}
