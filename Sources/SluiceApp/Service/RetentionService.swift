import Logging
import ServiceLifecycle
import SluiceCore

/// Prunes outcomes and dead letters that the ledger's retention policy lets go, in small batches,
/// every `interval`, so that the hot path never waits on a long delete; and, with or without a policy, deletes the
/// expired claims of workers that died (with a shared ledger: a claim is otherwise deleted only when its key is
/// claimed again, and keys that never come back would keep theirs for good).
struct RetentionService: Service {
    let ledger: any OutcomeLedger
    let policy: RetentionPolicy
    let interval: Duration
    let logger: Logger

    func run() async {
        // Cancellation too (the group cancels all when a service fails): a cancelled sleep returns at once.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                // A first run on a large ledger can take minutes: a graceful shutdown stops it between batches.
                let (ledger, policy) = (self.ledger, self.policy)
                let pruned = try await cancelWhenGracefulShutdown { try await ledger.prune(policy) }
                if pruned.outcomes + pruned.deadLetters > 0 {
                    logger.info(
                        "pruned the ledger",
                        metadata: ["outcomes": "\(pruned.outcomes)", "dead_letters": "\(pruned.deadLetters)"])
                }
            } catch {
                logger.warning("pruning the ledger failed; trying again later", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
