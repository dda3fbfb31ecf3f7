import Logging
import ServiceLifecycle
import SluiceCore

/// Renews this replica's claims on the events in its gates, every third of the claim duration, while replicas
/// share the ledger (see ``AdapterPipeline/renewClaims()``). Without it a claim lasts its duration from the
/// moment it was taken, and an event queued behind a slow engine, or retried for longer, would let another
/// replica take its key up.
struct ClaimRenewalService: Service {
    let pipelines: [AdapterPipeline]
    let logger: Logger

    func run() async {
        guard let interval = pipelines.first?.claimRenewalInterval, pipelines.contains(where: { $0.options.claimOwner != nil })
        else { return }
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            // Not one more round once shutdown began: the gates' drain would wait behind it.
            guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
            for pipeline in pipelines {
                do {
                    try await pipeline.renewClaims()
                } catch {
                    logger.warning(
                        "renewing the claims of the events in the gate failed; trying again",
                        metadata: ["adapter": "\(pipeline.adapter.name)", "error": "\(error)"])
                }
            }
        }
    }
}
