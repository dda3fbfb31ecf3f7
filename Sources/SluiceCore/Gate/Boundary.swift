/// The limits that keep a source's work metered before it reaches the engine (seed 002's boundary).
///
/// A boundary says how many tasks may run at once (``maxInFlight``), how many may wait
/// (``maxQueued``) and how long in-flight work may go on after a cancellation before it is
/// abandoned without an acknowledgement (``cancellationBudget``).
///
/// The memberwise initializer checks nothing, so that decoded or computed values can be held as
/// they are; use ``init(validating:)`` (or ``validate()``) on anything that came from a user.
public struct Boundary: Sendable, Hashable, Codable {
    /// Which kinds of source may feed this boundary.
    public var mode: BoundaryMode
    /// The most tasks in flight at once; must be positive.
    public var maxInFlight: Int
    /// The most tasks waiting to start; must be positive. A push source is refused beyond it.
    public var maxQueued: Int
    /// How long in-flight work may run after cancellation before it is abandoned; must not be negative.
    public var cancellationBudget: Duration

    /// Creates a boundary without checking its limits.
    ///
    /// - Parameters:
    ///   - mode: Which kinds of source may feed this boundary.
    ///   - maxInFlight: The most tasks in flight at once.
    ///   - maxQueued: The most tasks waiting to start.
    ///   - cancellationBudget: How long in-flight work may run after cancellation.
    public init(mode: BoundaryMode, maxInFlight: Int, maxQueued: Int, cancellationBudget: Duration) {
        self.mode = mode
        self.maxInFlight = maxInFlight
        self.maxQueued = maxQueued
        self.cancellationBudget = cancellationBudget
    }

    /// Creates a copy of `candidate` after checking its limits.
    ///
    /// - Parameter candidate: The boundary to check.
    /// - Throws: ``GateConfigurationError`` naming the first limit that is out of range.
    public init(validating candidate: Boundary) throws(GateConfigurationError) {
        try candidate.validate()
        self = candidate
    }

    /// Checks that the limits make sense: both counts positive, the budget not negative.
    ///
    /// - Throws: ``GateConfigurationError`` naming the first limit that is out of range.
    public func validate() throws(GateConfigurationError) {
        guard maxInFlight > 0 else {
            throw GateConfigurationError(field: "maxInFlight", problem: "must be positive, got \(maxInFlight)")
        }
        guard maxQueued > 0 else {
            throw GateConfigurationError(field: "maxQueued", problem: "must be positive, got \(maxQueued)")
        }
        guard cancellationBudget >= .zero else {
            throw GateConfigurationError(
                field: "cancellationBudget", problem: "must not be negative, got \(cancellationBudget)")
        }
    }

    /// The default boundary: push-pull, 64 in flight, 10,000 queued, a 2 s cancellation budget.
    ///
    /// 64 concurrent engine calls keep a single engine server busy without overrunning it;
    /// 10,000 queued tasks absorb a burst of about a minute at typical webhook rates; 2 s lets an
    /// answering engine finish a call on shutdown while keeping a Kafka rebalance short.
    public static let `default` = Boundary(
        mode: .pushPull, maxInFlight: 64, maxQueued: 10_000, cancellationBudget: .seconds(2))
}
