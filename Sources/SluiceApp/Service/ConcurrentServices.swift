import ServiceLifecycle

/// Services that stop together: the gates, and the pull sources. The service group stops its services one at a
/// time, so gates given to it one by one would drain one after another, and a shutdown would take the sum of their
/// cancellation budgets (ten webhook adapters with 5 s budgets: 50 s, past Kubernetes' 30 s grace period).
/// Run as one service, each gets the graceful shutdown at the same moment, and the whole takes the longest
/// budget.
///
/// The first error cancels the others, and so does a member that returns by itself (not at the graceful
/// shutdown): the whole then ends as that member alone would have.
struct ConcurrentServices: Service {
    let services: [any Service]

    func run() async throws {
        // None (no adapter): nothing to stop, but ending early would end the group.
        guard !services.isEmpty else { return try await gracefulShutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services {
                // Child tasks inherit the graceful shutdown, as they do cancellation.
                group.addTask { try await service.run() }
            }
            while try await group.next() != nil {
                if !Task.isShuttingDownGracefully { group.cancelAll() }
            }
        }
    }
}
