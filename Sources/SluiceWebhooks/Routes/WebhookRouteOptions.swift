public import Foundation

/// What all webhook routes share: the body deadline and the clock verifiers check timestamps against.
public struct WebhookRouteOptions: Sendable {
    /// How long the whole body may take to arrive; a slower body is answered `408` and the connection closed.
    public var bodyTimeout: Duration
    /// The current time (injected so that tests pin it).
    public var now: @Sendable () -> Date

    public init(bodyTimeout: Duration = .seconds(10), now: @escaping @Sendable () -> Date = { Date() }) {
        self.bodyTimeout = bodyTimeout
        self.now = now
    }
}
