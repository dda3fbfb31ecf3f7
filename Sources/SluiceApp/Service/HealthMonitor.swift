public import Foundation
import Logging
import Metrics
import ServiceLifecycle
public import SluiceCore
import Synchronization

/// What `/readyz` and the status page report: whether the ledger can be written and each engine
/// reached, checked every few seconds in the background so that a probe never waits on a peer.
public final class HealthMonitor: Sendable {
    /// One dependency's last check.
    public struct Check: Sendable, Hashable {
        public var name: String
        public var ok: Bool
        public var detail: String
        public var checkedAt: Date
    }

    /// One sample of an adapter's gate and pipeline, for the status page's charts.
    public struct Sample: Sendable, Hashable {
        public var at: Date
        public var inFlight: Int
        public var queued: Int
        public var counts: PipelineCounts
    }

    private let ledger: any OutcomeLedger
    private let engines: [String: any WorkflowEngine]
    private let pipelines: [String: AdapterPipeline]
    private let state = Mutex(State())
    private let inboxGauges: [String: Gauge]
    private let extraChecks = Mutex<[(name: String, check: @Sendable () -> (ok: Bool, detail: String))]>([])
    let historyLimit: Int
    /// How long a check of the ledger or an engine may take before it counts as failed.
    let checkTimeout: Duration
    private let waits = BoundedWaits()
    let logger: Logger

    struct State {
        var ledger: Check?
        var engines: [String: Check] = [:]
        var extra: [String: Check] = [:]
        var history: [String: [Sample]] = [:]
        var snapshots: [String: GateSnapshot] = [:]
        var deadLetters: [DeadLetter] = []
        var inboxDepth: [String: Int] = [:]
    }

    init(
        ledger: any OutcomeLedger, engines: [String: any WorkflowEngine], pipelines: [String: AdapterPipeline],
        historyLimit: Int = 90, checkTimeout: Duration = .seconds(5), logger: Logger
    ) {
        self.checkTimeout = checkTimeout
        self.ledger = ledger
        self.engines = engines
        self.pipelines = pipelines
        self.inboxGauges = Dictionary(
            uniqueKeysWithValues: pipelines.keys.map { ($0, Gauge(label: "sluice_inbox_depth", dimensions: [("adapter", $0)])) })
        self.historyLimit = historyLimit
        self.logger = logger
    }

    /// Ready when the ledger is writable and every engine answered its last check, and every
    /// extra check (a Kafka consumer's assignment) holds. Nothing checked yet is not ready.
    public var isReady: Bool { readiness.ready }

    /// The checks and the readiness they give, from one reading (``checks`` runs the sources' own checks
    /// anew each time: a body and a status code read apart could disagree).
    public var readiness: (ready: Bool, checks: [Check]) {
        let checks = self.checks
        return (checks.allSatisfy(\.ok) && checks.contains { $0.name == "ledger" }, checks)
    }

    /// The latest checks: the ledger first, then engines and extras by name. The extras are run now
    /// (they read their source's own state), so that readiness turns false the moment intake begins
    /// draining or a consumer loses its assignment, not at the next round of checks.
    public var checks: [Check] {
        let extra = runExtraChecks()
        return state.withLock { state in
            [state.ledger].compactMap { $0 } + state.engines.values.sorted { $0.name < $1.name }
        } + extra.values.sorted { $0.name < $1.name }
    }

    /// The samples of one adapter, oldest first.
    public func history(adapter: String) -> [Sample] { state.withLock { $0.history[adapter] ?? [] } }

    /// The latest gate counters of one adapter.
    public func snapshot(adapter: String) -> GateSnapshot? { state.withLock { $0.snapshots[adapter] } }

    /// Inbox rows waiting for their outcome, by adapter (refreshed with the checks).
    public func inboxDepth(adapter: String) -> Int { state.withLock { $0.inboxDepth[adapter] ?? 0 } }

    /// The latest dead letters, newest first (refreshed with the checks).
    public var recentDeadLetters: [DeadLetter] { state.withLock { $0.deadLetters } }

    /// Adds a check a source answers itself (a Kafka consumer's readiness), run with the others.
    public func addCheck(_ name: String, _ check: @escaping @Sendable () -> (ok: Bool, detail: String)) {
        extraChecks.withLock { $0.append((name, check)) }
    }

    /// Runs the checks sources answer themselves: each reads a state the source keeps, and never waits.
    private func runExtraChecks() -> [String: Check] {
        var extra: [String: Check] = [:]
        for (name, check) in extraChecks.withLock({ $0 }) {
            let (ok, detail) = check()
            extra[name] = Check(name: name, ok: ok, detail: detail, checkedAt: Date())
        }
        return extra
    }

    /// Checks the ledger and every engine once, concurrently. A check that has not answered within
    /// ``checkTimeout`` fails ("no answer within …"): a hung dependency turns readiness false instead of
    /// keeping its last answer.
    func checkAll() async {
        let ledger = self.ledger
        let timeout = checkTimeout
        let waits = self.waits
        var checks = await withTaskGroup(of: Check.self) { group in
            group.addTask {
                await waits.value("ledger", within: timeout) {
                    do throws(LedgerError) {
                        try await ledger.checkReadiness()
                        return Check(name: "ledger", ok: true, detail: "writable", checkedAt: Date())
                    } catch {
                        return Check(name: "ledger", ok: false, detail: error.description, checkedAt: Date())
                    }
                } ?? Self.unanswered("ledger", within: timeout)
            }
            for (name, engine) in engines {
                group.addTask {
                    await waits.value("engine " + name, within: timeout) {
                        do {
                            try await engine.checkReadiness()
                            return Check(name: "engine " + name, ok: true, detail: "reachable", checkedAt: Date())
                        } catch {
                            return Check(name: "engine " + name, ok: false, detail: "\(error)", checkedAt: Date())
                        }
                    } ?? Self.unanswered("engine " + name, within: timeout)
                }
            }
            var checks: [String: Check] = [:]
            for await check in group { checks[check.name] = check }
            return checks
        }
        // Cut short (the service is stopping): the waits gave up, which says nothing about the dependencies.
        guard !Task.isCancelled else { return }
        let ledgerCheck = checks.removeValue(forKey: "ledger")!
        let engineChecks = checks
        let extra = runExtraChecks()
        // Published before the reads below: a hung ledger fails readiness after one check timeout, not three.
        let previous = state.withLock { state -> [String: Bool] in
            var previous = state.engines.mapValues(\.ok)
            previous["ledger"] = state.ledger?.ok
            for name in extra.keys { previous[name] = state.extra[name]?.ok }
            state.extra = extra
            state.ledger = ledgerCheck
            state.engines = engineChecks
            return previous
        }
        // A read that fails or does not answer keeps the last values: an outage must not read as an empty inbox
        // (clearing the alerts on its depth) or as no dead letters. With the ledger failing its check they are
        // not tried: each would only wait out its timeout and hold the next round up.
        if ledgerCheck.ok {
            let letters = await waits.value("dead letters", within: timeout) {
                try? await ledger.deadLetters(DeadLetterQuery(limit: 10))
            }.flatMap { $0 }
            let depth = await waits.value("inbox depth", within: timeout) { try? await ledger.inboxDepth() }.flatMap { $0 }
            state.withLock { state in
                if let letters { state.deadLetters = letters }
                if let depth { state.inboxDepth = depth }
            }
        }
        let depth = state.withLock { $0.inboxDepth }
        for (name, gauge) in inboxGauges { gauge.record(depth[name] ?? 0) }
        for check in [ledgerCheck] + engineChecks.values + extra.values where previous[check.name] != check.ok {
            if check.ok {
                logger.notice("\(check.name) is available", metadata: ["check": "\(check.name)"])
            } else {
                logger.warning("\(check.name) is unavailable", metadata: ["check": "\(check.name)", "error": "\(check.detail)"])
            }
        }
    }

    private static func unanswered(_ name: String, within timeout: Duration) -> Check {
        Check(name: name, ok: false, detail: "no answer within \(DurationText.format(timeout))", checkedAt: Date())
    }

    /// Samples every adapter's gate and counts for the charts.
    func sample() async {
        let now = Date()
        var samples: [String: (Sample, GateSnapshot)] = [:]
        for (name, pipeline) in pipelines {
            let snapshot = await pipeline.dispatcher.snapshot
            samples[name] = (
                Sample(at: now, inFlight: snapshot.inFlight, queued: snapshot.queued, counts: pipeline.counts), snapshot
            )
        }
        let limit = historyLimit
        state.withLock { state in
            for (name, (sample, snapshot)) in samples {
                state.history[name, default: []].append(sample)
                if state.history[name]!.count > limit { state.history[name]!.removeFirst() }
                state.snapshots[name] = snapshot
            }
        }
    }
}

/// Runs the health checks every `checkInterval` and samples the gates every `sampleInterval`.
struct HealthMonitorService: Service {
    let monitor: HealthMonitor
    let checkInterval: Duration
    let sampleInterval: Duration

    func run() async {
        var sinceCheck = checkInterval
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if sinceCheck >= checkInterval {
                sinceCheck = .zero
                // Cut short by a shutdown: a hung dependency's checks (5 s each) would otherwise hold the group up.
                let monitor = self.monitor
                await cancelWhenGracefulShutdown { await monitor.checkAll() }
            }
            await monitor.sample()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sampleInterval) }
            sinceCheck += sampleInterval
        }
    }
}
