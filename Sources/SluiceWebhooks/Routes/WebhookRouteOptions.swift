public import Foundation

/// What all webhook routes share: the clock verifiers check timestamps against. (The body's deadline
/// is the server's: ``WebhookServerLimits/bodyTimeout``.)
public struct WebhookRouteOptions: Sendable {
    /// The current time (injected so that tests pin it).
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }
}
