public import Foundation

/// How far a signed timestamp may be from now, checked in both directions: a stale timestamp is a
/// replay, a future one is a clock problem or an attempt to outlive the window.
public struct TimestampWindow: Sendable, Hashable {
    public var tolerance: Duration

    public init(tolerance: Duration) {
        self.tolerance = tolerance
    }

    /// Parses Unix seconds as the providers send them: ASCII digits only, at most 12 of them.
    ///
    /// - Throws: ``VerificationFailure/Reason/badFormat`` naming `header`.
    public static func parseSeconds(_ text: Substring, header: String) throws(VerificationFailure) -> Int64 {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let seconds = Int64(text)
        else { throw .malformed(header, "the timestamp is not Unix seconds") }
        return seconds
    }

    /// Checks `seconds` against `now`; the edges themselves are inside the window.
    ///
    /// - Throws: ``VerificationFailure/Reason/staleTimestamp`` or ``VerificationFailure/Reason/futureTimestamp``.
    public func check(_ seconds: Int64, now: Date) throws(VerificationFailure) {
        let allowed = Double(tolerance.components.seconds) + Double(tolerance.components.attoseconds) / 1e18
        let offset = Double(seconds) - now.timeIntervalSince1970
        if offset < -allowed {
            throw VerificationFailure(.staleTimestamp, "the signed timestamp is older than the tolerance")
        }
        if offset > allowed {
            throw VerificationFailure(.futureTimestamp, "the signed timestamp is further in the future than the tolerance")
        }
    }
}
