public import SluiceCore

/// Where an engine is and how Sluice authenticates to it.
public struct EngineEndpoint: Sendable {
    /// The base URL without a trailing slash, such as `http://127.0.0.1:8080`.
    public var baseURL: String
    public var namespace: String
    /// The bearer token, when the engine needs one. Never printed.
    public var token: Secret?
    /// How long one HTTP call may take, from sending to the last byte of the answer.
    public var timeout: Duration

    public init(baseURL: String, namespace: String = "default", token: Secret? = nil, timeout: Duration = .seconds(10)) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.namespace = namespace
        self.token = token
        self.timeout = timeout
    }

    /// How long a call carrying `command` may take: ``timeout``, or, for an update that waits on the server
    /// (`wait_for` with a `wait_timeout`), that wait plus five seconds when it is longer. Cut off earlier, the
    /// call would be retried, and the retry finds the command already received: the server answers
    /// `duplicate`, and the update's real result is never read.
    public func timeout(for command: EngineCommand) -> Duration {
        guard command.action == .updateWorkflow, let wait = command.target.waitTimeout else { return timeout }
        return max(timeout, wait + .seconds(5))
    }
}
