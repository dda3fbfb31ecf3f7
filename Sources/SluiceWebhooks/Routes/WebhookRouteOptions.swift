public import Foundation

/// What all webhook routes share: the clock verifiers check timestamps against. (The body's deadline
/// is the server's: ``WebhookServerLimits/bodyTimeout``.)
public struct WebhookRouteOptions: Sendable {
    /// The current time (injected so that tests pin it).
    public var now: @Sendable () -> Date
    /// What the bodies being read may hold together (`http.max_buffered_bytes`); nil: no bound beyond each route's.
    public var bodyBudget: BodyBudget?

    public init(now: @escaping @Sendable () -> Date = { Date() }, bodyBudget: BodyBudget? = nil) {
        self.now = now
        self.bodyBudget = bodyBudget
    }
}
