import ServiceLifecycle
public import SluiceCore
import Synchronization

/// Whether Sluice takes new events. It opens once the inbox rows a previous run left are
/// re-admitted (so that they go first, in their order); on SIGTERM it closes first: webhooks are
/// answered `503` while the work already taken drains, and pull sources stop fetching.
public final class Intake: Sendable {
    private let draining = Atomic<Bool>(false)
    private let opened = Atomic<Bool>(false)
    private let openWaiters = Mutex<[CheckedContinuation<Void, Never>]>([])

    public init() {}

    /// True once start-up's re-admission is done and intake is open.
    public var isOpen: Bool { opened.load(ordering: .acquiring) }

    /// Opens intake (after re-admission), waking the sources that wait for it.
    public func open() {
        opened.store(true, ordering: .releasing)
        resumeOpenWaiters()
    }

    private func resumeOpenWaiters() {
        let waiters = openWaiters.withLock { waiters in
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once intake is open, or once shutdown has begun (it will not open then: check ``isDraining``).
    public func waitUntilOpen() async {
        if isOpen || isDraining { return }
        await withCheckedContinuation { continuation in
            let resumeNow = openWaiters.withLock { waiters -> Bool in
                if isOpen || isDraining { return true }
                waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// True once shutdown has begun.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Stops intake; sources still waiting for it to open stop waiting (a shutdown during re-admission).
    public func drain() {
        draining.store(true, ordering: .releasing)
        resumeOpenWaiters()
    }

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
        if !intake.isOpen {
            return .unavailable(reason: "Sluice is starting: earlier events are being re-admitted", retryAfter: .seconds(1))
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
