/// Why a ledger call failed, classified so that callers know what to do.
///
/// A failed write stored nothing the caller may rely on: a webhook gets `503`, a Kafka offset is not
/// committed, and the event is delivered again later.
public struct LedgerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Try again later: the database is locked or busy, the disk is full, the connection was lost.
        case retryable
        /// Stop: the ledger cannot be used as configured (corrupt or unreadable file, missing directory,
        /// wrong password, a schema newer than this binary). Readiness stays false.
        case fatal
        /// The call itself is wrong (an unknown dead letter, a bad query).
        case invalidRequest = "invalid_request"
    }

    public var kind: Kind
    /// A short machine-readable reason: `busy`, `full`, `io`, `connection`, `corrupt`, `cannot_open`,
    /// `missing_directory`, `schema_too_new`, `authentication`, `not_found`, `closed`…
    public var reason: String
    /// What happened, for people; names the file or the server, never a password.
    public var detail: String

    public init(kind: Kind, reason: String, detail: String) {
        self.kind = kind
        self.reason = reason
        self.detail = detail
    }

    public static func retryable(_ reason: String, _ detail: String) -> LedgerError {
        LedgerError(kind: .retryable, reason: reason, detail: detail)
    }

    public static func fatal(_ reason: String, _ detail: String) -> LedgerError {
        LedgerError(kind: .fatal, reason: reason, detail: detail)
    }

    public static func invalidRequest(_ reason: String, _ detail: String) -> LedgerError {
        LedgerError(kind: .invalidRequest, reason: reason, detail: detail)
    }

    public var isRetryable: Bool { kind == .retryable }

    public var description: String { "ledger error (\(reason)): \(detail)" }
}
