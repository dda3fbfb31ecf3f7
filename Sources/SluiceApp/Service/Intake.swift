import ServiceLifecycle
public import SluiceCore
import Synchronization

/// Whether Sluice takes new events. On SIGTERM it stops first: webhooks are answered `503` while
/// the work already taken drains, and pull sources stop fetching.
public final class Intake: Sendable {
    private let draining = Atomic<Bool>(false)

    public init() {}

    /// True once shutdown has begun.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Stops intake.
    public func drain() { draining.store(true, ordering: .releasing) }

    /// A sink that answers `503` once intake stops, and hands events to `sink` until then.
    public func guarding(_ sink: some WebhookSink) -> any WebhookSink {
        GuardedSink(intake: self, sink: sink)
    }
}

struct GuardedSink<Sink: WebhookSink>: WebhookSink {
    let intake: Intake
    let sink: Sink

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        if intake.isDraining {
            return .unavailable(reason: "Sluice is shutting down", retryAfter: .seconds(5))
        }
        return await sink.accept(event, delivery: delivery)
    }
}

/// The service that stops intake when the group shuts down. It is the last service of the group,
/// so that it is the first one told to stop.
struct IntakeService: Service {
    let intake: Intake

    func run() async throws {
        try? await gracefulShutdown()
        intake.drain()
    }
}
