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

    /// How long re-admission keeps trying to read the inbox (a ledger restarting) before it opens intake
    /// anyway, leaving the rows for the next start.
    var readPatience: Duration = .seconds(60)

    /// Whether re-admission should stop: the service is stopping (intake drains first of all).
    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully || intake.isDraining }

    func run() async {
        defer { intake.open() }
        // A graceful shutdown cancels the re-admission: a row waiting for room in a full gate would otherwise
        // wait for the gate to drain, and the gates are told to stop only after this service returns.
        await cancelWhenGracefulShutdown { await readmitPending() }
    }

    private func readmitPending() async {
        var after: Int64?
        var counts = (admitted: 0, decided: 0, left: 0)
        while !stopping {
            guard let items = await readPage(after: after) else { break }
            guard let last = items.last else { break }
            after = last.id
            for item in items where !stopping {
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
        if stopping { logger.notice("inbox re-admission stopped by shutdown; the rest stays for the next start") }
        if counts.admitted + counts.decided + counts.left > 0 {
            logger.notice(
                "re-admitted pending inbox rows",
                metadata: ["admitted": "\(counts.admitted)", "decided": "\(counts.decided)", "left": "\(counts.left)"])
        }
    }

    /// One page of pending rows, retried with backoff (1 s, doubling to 15 s) for ``readPatience``; nil when the
    /// inbox stays unreadable or the service stops.
    private func readPage(after: Int64?) async -> [InboxItem]? {
        let clock = ContinuousClock()
        let deadline = clock.now + readPatience
        var delay = Duration.seconds(1)
        while true {
            do {
                return try await ledger.pendingInbox(after: after, limit: pageSize)
            } catch {
                guard clock.now + delay < deadline, !stopping else {
                    logger.error(
                        "cannot read the inbox for re-admission; its rows stay for the next start",
                        metadata: ["error": "\(error)"])
                    return nil
                }
                logger.warning("cannot read the inbox for re-admission; trying again", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(15))
            }
        }
    }
}
