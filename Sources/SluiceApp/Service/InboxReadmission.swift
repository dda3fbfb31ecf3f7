import Foundation
import Logging
import ServiceLifecycle
import SluiceCore

/// Re-admits the webhook inbox rows that have no outcome yet, oldest first, before the sources
/// start taking new work: a crash or a shutdown between a `202` and its outcome loses nothing.
///
/// Then, every ``sweepInterval``, it looks for rows left behind while Sluice runs and re-admits them: rows
/// start-up could not re-admit (the ledger was unreadable, the gate was stopping), and, with a ledger shared by
/// replicas, the rows of a replica that died and has not come back. Rows this process is delivering are skipped,
/// and so are rows younger than ``sweepMinimumAge`` (another replica's delivery of them is still in its first
/// moments); another replica's row in progress is held by its claim, and looked at again when the claim ends.
struct InboxReadmission: Service {
    let ledger: any OutcomeLedger
    let pipelines: [String: AdapterPipeline]
    /// Opened once every pending row is admitted (or left), so that new events come after them.
    let intake: Intake
    let logger: Logger
    let pageSize = 500

    /// How long re-admission keeps trying to read the inbox (a ledger restarting) before it opens intake
    /// anyway, leaving the rows for a later sweep or start.
    var readPatience: Duration = .seconds(60)
    /// How often the inbox is swept for rows left behind; nil: only at start-up.
    var sweepInterval: Duration?
    /// How old a row must be for a sweep to re-admit it.
    var sweepMinimumAge: Duration = .seconds(60)

    /// Whether re-admission should stop: the service is stopping (intake drains first of all).
    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully || intake.isDraining }

    func run() async {
        defer { intake.open() }
        // A graceful shutdown cancels the re-admission: a row waiting for room in a full gate would otherwise
        // wait for the gate to drain, and the gates are told to stop only after this service returns.
        await cancelWhenGracefulShutdown {
            await readmitPending(sweep: false)
            intake.open()
            guard let sweepInterval else { return }
            while !stopping {
                try? await Task.sleep(for: sweepInterval)
                if stopping { break }
                await readmitPending(sweep: true)
            }
        }
        // Intake drains first, so the work above may end before this service's turn to stop comes; the service
        // returns only then. One that ends while the group waits for another during a graceful shutdown cancels
        // the whole group (and with it every gate's drain).
        try? await gracefulShutdown()
    }

    /// One pass over the inbox: every row at start-up; in a sweep, the rows old enough that no one delivers.
    private func readmitPending(sweep: Bool) async {
        var after: Int64?
        var counts = (admitted: 0, decided: 0, left: 0)
        var passedBy: Set<String> = []
        var finished = false
        let bornBefore = Date().addingTimeInterval(-sweepMinimumAge.secondsDouble)
        while !stopping {
            guard let items = await readPage(after: after, patience: sweep ? .zero : readPatience) else { break }
            guard let last = items.last else {
                finished = true
                break
            }
            after = last.id
            for item in items where !stopping {
                guard let pipeline = pipelines[item.delivery.adapter] else {
                    counts.left += 1
                    if !sweep {
                        logger.warning(
                            "an inbox row names an adapter that is not loaded; it stays in the inbox",
                            metadata: ["inbox.id": "\(item.id)", "adapter": "\(item.delivery.adapter)"])
                    }
                    continue
                }
                if sweep, item.delivery.receivedAt > bornBefore || pipeline.isDelivering(inboxID: item.id) { continue }
                // Its earlier rows keep ending undecided: the adapter's rows stay in the inbox for a later sweep, all of
                // them from here in this pass (one passed by must not be overtaken by a later one of its ordering key).
                if passedBy.contains(item.delivery.adapter) || pipeline.isHoldingUndecidedRowsToItsLimit {
                    passedBy.insert(item.delivery.adapter)
                    // New webhooks of an ordered adapter must not overtake them either: refused until a pass takes
                    // every row of the adapter up.
                    pipeline.hasRowsPassedBy = true
                    counts.left += 1
                    continue
                }
                switch await pipeline.readmit(item) {
                case .admitted: counts.admitted += 1
                case .decided: counts.decided += 1
                case .left: counts.left += 1
                }
            }
        }
        if finished {
            for (name, pipeline) in pipelines where !passedBy.contains(name) { pipeline.hasRowsPassedBy = false }
        }
        if stopping, !sweep { logger.notice("inbox re-admission stopped by shutdown; the rest stays for the next start") }
        if counts.admitted + counts.decided > 0 || (!sweep && counts.left > 0) {
            logger.notice(
                sweep ? "re-admitted inbox rows left behind" : "re-admitted pending inbox rows",
                metadata: ["admitted": "\(counts.admitted)", "decided": "\(counts.decided)", "left": "\(counts.left)"])
        }
    }

    /// One page of pending rows, retried with backoff (1 s, doubling to 15 s) for `patience`; nil when the
    /// inbox stays unreadable or the service stops.
    private func readPage(after: Int64?, patience: Duration) async -> [InboxItem]? {
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        var delay = Duration.seconds(1)
        while true {
            do {
                return try await ledger.pendingInbox(after: after, limit: pageSize)
            } catch {
                guard clock.now + delay < deadline, !stopping else {
                    logger.error(
                        "cannot read the inbox for re-admission; its rows stay in the inbox for a later sweep or start",
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
