import ServiceLifecycle
import SluiceKafka

/// Services that stop together: the gates, and the pull sources. The service group stops its services one at a
/// time, so gates given to it one by one would drain one after another, and a shutdown would take the sum of their
/// cancellation budgets (ten webhook adapters with 5 s budgets: 50 s, past Kubernetes' 30 s grace period).
/// Run as one service, each gets the graceful shutdown at the same moment, and the whole takes the longest
/// budget.
///
/// A member that returns by itself (not at the graceful shutdown) cancels the others: the whole then ends as that
/// member alone would have. A member that fails stops the others as a graceful shutdown does when every one can be
/// told to (``StoppableService``: a Kafka consumer then drains, publishes and commits what is done, and leaves its
/// group), and cancels them otherwise; the whole then throws its error.
struct ConcurrentServices: Service {
    let services: [any Service]

    func run() async throws {
        // None (no adapter): nothing to stop, but ending early would end the group.
        guard !services.isEmpty else { return try await gracefulShutdown() }
        var failure: (any Error)?
        await withTaskGroup(of: (member: Int, error: (any Error)?).self) { group in
            for (index, service) in services.enumerated() {
                // Child tasks inherit the graceful shutdown, as they do cancellation.
                group.addTask {
                    do {
                        try await service.run()
                        return (index, nil)
                    } catch {
                        return (index, error)
                    }
                }
            }
            for await (member, error) in group {
                if let error {
                    guard failure == nil else { continue }
                    failure = error
                    let others = services.indices.filter { $0 != member }.map { services[$0] }
                    if others.allSatisfy({ $0 is any StoppableService }) {
                        for case let other as any StoppableService in others { other.stop() }
                    } else {
                        group.cancelAll()
                    }
                } else if failure == nil, !Task.isShuttingDownGracefully {
                    group.cancelAll()
                }
            }
        }
        if let failure { throw failure }
    }
}

/// A service that can be told to stop as at a graceful shutdown from outside its task, so that a failing sibling
/// need not cancel it.
protocol StoppableService: Service {
    /// Starts the stop; ``Service/run()`` then returns once the service has stopped.
    func stop()
}

extension KafkaSource: StoppableService {}
