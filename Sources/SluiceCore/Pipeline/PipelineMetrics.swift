import CoreMetrics
import Synchronization

/// The pipeline's metrics for one adapter: events received, keys answered from the ledger, ledger
/// failures and inbox latency. Outcomes by kind and reason are counted by the gate
/// (``DispatcherMetrics``), so that `sluice_outcomes_total` is one series for every event.
final class PipelineMetrics: Sendable {
    private let received: Counter
    private let known: Counter
    private let duplicates: Counter
    private let ledgerFailures: Counter
    private let inboxAppend: Timer
    private let tallies = Mutex(PipelineCounts())

    init(adapter: String, factory: any MetricsFactory = MetricsSystem.factory) {
        let dimensions = [("adapter", adapter)]
        received = Counter(label: "sluice_events_received_total", dimensions: dimensions, factory: factory)
        known = Counter(label: "sluice_events_already_decided_total", dimensions: dimensions, factory: factory)
        duplicates = Counter(label: "sluice_ledger_duplicate_records_total", dimensions: dimensions, factory: factory)
        ledgerFailures = Counter(label: "sluice_ledger_failures_total", dimensions: dimensions, factory: factory)
        inboxAppend = Timer(label: "sluice_inbox_append_seconds", dimensions: dimensions, factory: factory)
    }

    var counts: PipelineCounts { tallies.withLock { $0 } }

    func recordReceived() {
        received.increment()
        tallies.withLock { $0.received += 1 }
    }

    func recordKnown() {
        known.increment()
        tallies.withLock { $0.alreadyDecided += 1 }
    }

    func recordDuplicate() {
        duplicates.increment()
        tallies.withLock { $0.alreadyDecided += 1 }
    }

    func recordLedgerFailure() {
        ledgerFailures.increment()
        tallies.withLock { $0.ledgerFailures += 1 }
    }

    func recordDecision(_ outcome: Outcome) {
        tallies.withLock { counts in
            switch outcome.kind {
            case .accepted: counts.accepted += 1
            case .duplicate: counts.duplicate += 1
            case .rejected: counts.rejected += 1
            }
        }
    }

    func recordInboxAppend(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        inboxAppend.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// What one adapter's pipeline did since start: the status page's and the tests' view.
public struct PipelineCounts: Sendable, Hashable {
    /// Events handed to the pipeline.
    public var received = 0
    /// Decisions recorded by this process, by kind.
    public var accepted = 0
    public var duplicate = 0
    public var rejected = 0
    /// Events answered from the ledger: their key was decided before.
    public var alreadyDecided = 0
    /// Ledger reads or writes that failed.
    public var ledgerFailures = 0

    public init() {}
}
