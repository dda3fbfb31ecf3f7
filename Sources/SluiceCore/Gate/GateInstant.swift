/// A point on the gate's monotonic timeline, in nanoseconds since an epoch the owner chooses.
///
/// The gate's state machines never read a clock: every time-dependent call takes `now`, so that
/// tests are deterministic and fixtures print the same text on every run. An owner keeps one
/// epoch (for example `let epoch = ContinuousClock.now`) and passes
/// `GateInstant(offset: epoch.duration(to: .now))`.
///
/// Arithmetic saturates at the ends of the `Int64` range instead of trapping.
public struct GateInstant: InstantProtocol, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since the owner's epoch.
    public var nanoseconds: Int64

    /// Creates an instant `nanoseconds` after the epoch.
    ///
    /// - Parameter nanoseconds: Nanoseconds since the owner's epoch.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// Creates the instant `offset` after the epoch (saturating).
    ///
    /// - Parameter offset: Time elapsed since the owner's epoch.
    public init(offset: Duration) {
        self.nanoseconds = Self.nanoseconds(of: offset)
    }

    /// The epoch itself.
    public static let zero = GateInstant(nanoseconds: 0)

    /// The instant `duration` later (earlier if negative), saturating.
    ///
    /// - Parameter duration: How far to move.
    /// - Returns: The moved instant.
    public func advanced(by duration: Duration) -> GateInstant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(Self.nanoseconds(of: duration))
        if overflow { return GateInstant(nanoseconds: duration < .zero ? .min : .max) }
        return GateInstant(nanoseconds: sum)
    }

    /// The time from this instant to `other` (negative if `other` is earlier).
    ///
    /// - Parameter other: The later instant.
    /// - Returns: The elapsed time.
    public func duration(to other: GateInstant) -> Duration {
        let (difference, overflow) = other.nanoseconds.subtractingReportingOverflow(nanoseconds)
        if overflow {
            return .nanoseconds(other.nanoseconds > nanoseconds ? Int64.max : Int64.min)
        }
        return .nanoseconds(difference)
    }

    /// The instant `rhs` after `lhs` (saturating).
    public static func + (lhs: GateInstant, rhs: Duration) -> GateInstant {
        lhs.advanced(by: rhs)
    }

    /// The instant `rhs` before `lhs` (saturating).
    public static func - (lhs: GateInstant, rhs: Duration) -> GateInstant {
        lhs.advanced(by: .zero - rhs)
    }

    /// The time from `rhs` to `lhs`.
    public static func - (lhs: GateInstant, rhs: GateInstant) -> Duration {
        rhs.duration(to: lhs)
    }

    /// Orders instants by time.
    public static func < (lhs: GateInstant, rhs: GateInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant as `<n>ns`, stable across runs (used by ``TaskRuntime/signature``).
    public var description: String { "\(nanoseconds)ns" }

    /// Whole nanoseconds in `duration`, rounded toward zero and clamped to the `Int64` range.
    static func nanoseconds(of duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }
}
