/// A durable workflow engine that Sluice delivers commands to.
///
/// Implementations (Durable Workflow's bridge endpoint or control plane, Temporal's HTTP API) map
/// every answer onto the bridge-adapter outcome contract, so that the rest of Sluice never needs to
/// know which engine it talks to.
public protocol WorkflowEngine: Sendable {
    /// Performs one command.
    ///
    /// - Parameters:
    ///   - command: the command, with its idempotency key and deterministic request id.
    ///   - adapter: the adapter's name, the engine's bridge adapter label.
    /// - Returns: the outcome the engine gave: `accepted`, `duplicate`, or `rejected` with a reason.
    ///   A rejection is an answer, not an error.
    /// - Throws: ``EngineError`` when there is no answer to record: the engine could not be reached,
    ///   timed out, was overloaded or refused Sluice itself.
    func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome

    /// Checks that the engine is reachable and accepts Sluice's credentials (for `/readyz`).
    func checkReadiness() async throws(EngineError)
}

/// Why an engine call has no outcome, classified so that the caller knows whether to retry.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the caller should do.
    public enum Kind: String, Sendable, Hashable {
        /// Try again later: transport failures, timeouts, 5xx, 429.
        case retryable
        /// Do not try again: the request itself is wrong (a 4xx that is not outcome-shaped, an answer
        /// that cannot be read).
        case nonRetryable
        /// Stop: authentication or configuration is wrong, and every call will fail the same way.
        case fatal
    }

    public var kind: Kind
    /// A short machine-readable reason: `transport`, `timeout`, `server_error`, `rate_limited`,
    /// `unauthorized`, `forbidden`, `configuration`, `malformed_response`, `unsupported_version`…
    public var reason: String
    /// What happened, for people. Never holds a token or a secret.
    public var detail: String
    /// How long the engine asked Sluice to wait (`Retry-After`), when it did.
    public var retryAfter: Duration?
    /// The HTTP status, when there was one.
    public var statusCode: Int?

    public init(kind: Kind, reason: String, detail: String, retryAfter: Duration? = nil, statusCode: Int? = nil) {
        self.kind = kind
        self.reason = reason
        self.detail = detail
        self.retryAfter = retryAfter
        self.statusCode = statusCode
    }

    public static func retryable(_ reason: String, _ detail: String, retryAfter: Duration? = nil, statusCode: Int? = nil) -> EngineError {
        EngineError(kind: .retryable, reason: reason, detail: detail, retryAfter: retryAfter, statusCode: statusCode)
    }

    public static func nonRetryable(_ reason: String, _ detail: String, statusCode: Int? = nil) -> EngineError {
        EngineError(kind: .nonRetryable, reason: reason, detail: detail, statusCode: statusCode)
    }

    public static func fatal(_ reason: String, _ detail: String, statusCode: Int? = nil) -> EngineError {
        EngineError(kind: .fatal, reason: reason, detail: detail, statusCode: statusCode)
    }

    public var description: String {
        var text = "\(kind.rawValue) engine error \(reason)"
        if let statusCode { text += " (HTTP \(statusCode))" }
        text += ": \(detail)"
        if let retryAfter { text += "; retry after \(DurationText.format(retryAfter))" }
        return text
    }
}
