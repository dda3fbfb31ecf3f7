import Logging
import ServiceLifecycle
import SluiceCore

/// Re-admits the webhook inbox rows that have no outcome yet, oldest first, before the sources
/// start taking new work: a crash or a shutdown between a `202` and its outcome loses nothing.
struct InboxReadmission: Service {
    let ledger: any OutcomeLedger
    let pipelines: [String: AdapterPipeline]
    /// Opened once every pending row is admitted (or left), so that new events come after them.
    let intake: Intake
    let logger: Logger
    let pageSize = 500

    func run() async {
        defer { intake.open() }
        var after: Int64?
        var counts = (admitted: 0, decided: 0, left: 0)
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let items: [InboxItem]
            do {
                items = try await ledger.pendingInbox(after: after, limit: pageSize)
            } catch {
                logger.error("cannot read the inbox for re-admission", metadata: ["error": "\(error)"])
                return
            }
            guard let last = items.last else { break }
            after = last.id
            for item in items {
                guard let pipeline = pipelines[item.delivery.adapter] else {
                    counts.left += 1
                    logger.warning(
                        "an inbox row names an adapter that is not loaded; it stays in the inbox",
                        metadata: ["inbox.id": "\(item.id)", "adapter": "\(item.delivery.adapter)"])
                    continue
                }
                switch await pipeline.readmit(item) {
                case .admitted: counts.admitted += 1
                case .decided: counts.decided += 1
                case .left: counts.left += 1
                }
            }
        }
        if counts.admitted + counts.decided + counts.left > 0 {
            logger.notice(
                "re-admitted pending inbox rows",
                metadata: ["admitted": "\(counts.admitted)", "decided": "\(counts.decided)", "left": "\(counts.left)"])
        }
    }
}
