public import Foundation
public import Logging
import Synchronization

/// One adapter's path from an event to its durable outcome: mapping, the idempotency check, the
/// claim (when replicas share the ledger), the gate and the engine (through the ``Dispatcher``),
/// and the ledger write that makes the outcome durable before the source is acknowledged.
///
/// Sources call one of three entry points:
/// - webhooks ``accept(_:delivery:)`` (the inbox: durable before `202`), and at start-up
///   ``readmit(_:)`` for inbox rows a previous run did not finish;
/// - pull sources (Kafka) ``submit(_:unless:settled:)``, and acknowledge on ``Settlement/recorded(_:deadLetter:)``;
/// - the synchronous bridge endpoint ``execute(_:)``, which answers with the engine's real outcome.
///
/// The pipeline owns no task of its own: the dispatcher runs each admitted event and hands its
/// result to the pipeline, which records it.
public final class AdapterPipeline: Sendable {
    public let adapter: CompiledAdapter
    public let dispatcher: Dispatcher
    public let ledger: any OutcomeLedger
    public let options: PipelineOptions
    let metrics: PipelineMetrics
    let recent: RecentOutcomes
    /// The inbox rows this process is delivering.
    let inboxInHand = InboxRowsInHand()
    /// Rows of an ordered adapter waiting, per ordering key, to be admitted again in arrival order.
    let readmissionLanes = ReadmissionLanes()
    /// See ``hasRowsPassedBy``.
    let rowsPassedBy = Atomic<Bool>(false)
    /// The name of each event's span: `event <adapter>`.
    let spanName: String
    let now: @Sendable () -> Date
    /// Logs decisions with the event id, adapter, key and workflow id; never a payload.
    let logger: Logger

    /// - Parameters:
    ///   - adapter: the compiled adapter.
    ///   - dispatcher: the adapter's gate; run it (``Dispatcher/run()``) for the pipeline's lifetime.
    ///   - ledger: where outcomes, claims and the inbox live.
    ///   - options: claims, the synchronous wait, whether dead letters keep deliveries.
    ///   - recentLimit: how many recent decisions ``recentOutcomes`` keeps for the status page.
    ///   - now: the wall clock of decisions (fixed in tests).
    ///   - logger: where decisions are logged (rejections at `info`, the rest at `debug`).
    public init(
        adapter: CompiledAdapter, dispatcher: Dispatcher, ledger: any OutcomeLedger,
        options: PipelineOptions = PipelineOptions(), recentLimit: Int = 50,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "sluice.pipeline")
    ) {
        self.adapter = adapter
        self.dispatcher = dispatcher
        self.ledger = ledger
        self.options = options
        self.metrics = PipelineMetrics(adapter: adapter.name)
        self.recent = RecentOutcomes(limit: recentLimit)
        self.spanName = "event \(adapter.name)"
        self.now = now
        var logger = logger
        logger[metadataKey: "adapter"] = "\(adapter.name)"
        self.logger = logger
    }

    /// The latest decisions this process recorded, newest first.
    public var recentOutcomes: [Outcome] { recent.snapshot }

    /// Counters of what the pipeline did, for the status page and tests.
    public var counts: PipelineCounts { metrics.counts }

    // MARK: - Shared steps

    /// The key's decision, when the ledger has one, in one lookup: a new key costs the ledger no more
    /// than the summary would (SQLite answers it from its in-memory key filter, PostgreSQL from the unique
    /// index), and a decided one is read once instead of being checked and then read.
    func knownDecision(_ key: String) async throws(LedgerError) -> Outcome? {
        try await ledger.decision(adapter: adapter.name, idempotencyKey: key)
    }

    /// The ledger's decision for a key the gate refused (in progress, or decided), as a result: a failed read
    /// tells neither that the key is decided nor that it is not.
    ///
    /// The gate remembers recent decisions; when it refused the key as decided but the ledger no longer holds
    /// that decision (past the adapter's dedupe window, or pruned), the gate forgets it, so that the next
    /// submission of the key is admitted and decided again.
    func decision(behind refusal: DispatchAdmissionError, key: String) async -> Result<Outcome?, LedgerError> {
        let known: Outcome?
        do throws(LedgerError) {
            known = try await knownDecision(key)
        } catch {
            return .failure(error)
        }
        if known == nil, case .alreadyDecided = refusal { await dispatcher.forgetDecided(key) }
        return .success(known)
    }

    /// The outcome the ledger holds for `key` of this adapter, if it was decided (by any replica sharing the
    /// ledger): what a redelivery of a decided event is answered with.
    public func recordedOutcome(forKey key: String) async throws(LedgerError) -> Outcome? {
        guard let known = try await knownDecision(key) else { return nil }
        metrics.recordKnown()
        return known
    }

    /// What a claim on a shared ledger found.
    enum ClaimCheck {
        case proceed
        case decided(Outcome)
        case held(until: Date)
    }

    /// Claims the key when the ledger is shared; always `proceed` otherwise.
    func claim(_ key: String) async throws(LedgerError) -> ClaimCheck {
        guard let owner = options.claimOwner else { return .proceed }
        switch try await ledger.claim(
            adapter: adapter.name, idempotencyKey: key, owner: owner, for: options.claimDuration)
        {
        case .claimed: return .proceed
        case .decided(let outcome): return .decided(outcome)
        case .held(_, let until): return .held(until: until)
        }
    }

    /// Extends this replica's claims on the events in its gate (queued, running, or being recorded) and on the inbox
    /// rows it holds outside the gate (waiting for room in a full gate, or in a lane behind earlier rows of their
    /// ordering key) by the claim duration; nothing without a shared ledger. Run it every third of the claim duration
    /// (``claimRenewalInterval``): an event that waits or retries the engine for longer than a claim lasts then keeps
    /// its key, instead of another replica taking the key up and calling the engine for it too. Keys this replica
    /// holds no claim on are left alone. A claim found in another worker's hands is logged: that worker may call the
    /// engine as well.
    ///
    /// - Returns: what the ledger did, nil without a shared ledger or with nothing in hand.
    @discardableResult
    public func renewClaims() async throws(LedgerError) -> ClaimRenewal? {
        guard let owner = options.claimOwner else { return nil }
        let inGate = Set(await dispatcher.activeKeys)
        let keys = Array(inGate.union(inboxInHand.keys)).sorted()
        guard !keys.isEmpty else { return nil }
        let renewal = try await ledger.renewClaims(
            adapter: adapter.name, idempotencyKeys: keys, owner: owner, for: options.claimDuration)
        for (key, holder) in renewal.lost.sorted(by: { $0.key < $1.key }) {
            if inGate.contains(key) {
                logger.warning(
                    "the claim on an event still in the gate expired and another worker took it; it may call the engine for it too",
                    metadata: ["idempotency_key": "\(key)", "holder": "\(holder)"])
            } else {
                // A row waiting outside the gate: its claim lapsed, or it waits for this other worker's claim to end.
                logger.info(
                    "another worker holds the key of an inbox row waiting here; the row is looked at again when it can claim it",
                    metadata: ["idempotency_key": "\(key)", "holder": "\(holder)"])
            }
        }
        return renewal
    }

    /// How often ``renewClaims()`` should run: a third of the claim duration, so that one failed round leaves
    /// the claims standing.
    public var claimRenewalInterval: Duration { max(options.claimDuration / 3, .milliseconds(100)) }

    /// Gives the claim back (the work was abandoned), so that another worker need not wait for it
    /// to expire. Best effort: an expired claim is as good.
    func releaseClaim(_ key: String) async {
        guard let owner = options.claimOwner else { return }
        try? await ledger.release(adapter: adapter.name, idempotencyKey: key, owner: owner)
    }

    /// Whether a rejected outcome is kept as a dead letter: always, but for unmatched events whose
    /// adapter says only to acknowledge them.
    func keepsDeadLetter(_ outcome: Outcome) -> Bool {
        guard outcome.kind == .rejected else { return false }
        return outcome.reason != .unmatched || adapter.unmatched == .deadLetter
    }

    /// The settlement of an event whose key the ledger decided already: that decision, and for a rejection kept as
    /// a dead letter, the flag that has a pull source produce it to its dead-letter topic again. The first delivery's
    /// decision may be durable while its dead-letter record never reached the topic (a crash, a revoked partition,
    /// shutdown between the two); a second copy on the topic is the lesser harm.
    func settlement(known outcome: Outcome) -> Settlement {
        .recorded(outcome, deadLetter: keepsDeadLetter(outcome))
    }

    /// Writes an outcome with its inbox row and, for a rejection, its dead letter, in one durable
    /// transaction.
    func record(
        _ outcome: Outcome, commands: @autoclosure () -> [EngineCommand], inboxID: Int64?, delivery: Delivery?
    ) async -> Settlement {
        let request = recordRequest(outcome, commands: commands(), inboxID: inboxID, delivery: delivery)
        do throws(LedgerError) {
            return settlement(recording: request, .success(try await ledger.record(request)))
        } catch {
            return settlement(recording: request, .failure(error))
        }
    }

    /// The ledger write of an outcome: with its inbox row and, for a rejection kept as a dead letter, its commands
    /// (and the delivery, when the adapter keeps them).
    func recordRequest(
        _ outcome: Outcome, commands: @autoclosure () -> [EngineCommand], inboxID: Int64?, delivery: Delivery?
    ) -> RecordRequest {
        let deadLetter =
            keepsDeadLetter(outcome)
            ? DeadLetterContent(commands: commands(), delivery: options.keepsDeliveries ? delivery : nil) : nil
        return RecordRequest(outcome: outcome, inboxID: inboxID, deadLetter: deadLetter)
    }

    /// The settlement of a ledger write of ``recordRequest(_:commands:inboxID:delivery:)``, counted and logged.
    func settlement(recording request: RecordRequest, _ result: Result<RecordResult, LedgerError>) -> Settlement {
        let outcome = request.outcome
        switch result {
        case .success(.recorded):
            recent.append(outcome)
            metrics.recordDecision(outcome)
            log(outcome, deadLetter: request.deadLetter != nil)
            return .recorded(outcome, deadLetter: request.deadLetter != nil)
        case .success(.alreadyDecided(let existing)):
            metrics.recordDuplicate()
            return settlement(known: existing)
        case .failure(let error):
            metrics.recordLedgerFailure()
            logger.error(
                "the ledger could not record an outcome; the event is not acknowledged and comes again",
                metadata: metadata(outcome).merging(["error": "\(error)"]) { $1 })
            return .unrecorded(error)
        }
    }

    /// The log fields of an outcome: event, key, workflow and decision; never the payload.
    func metadata(_ outcome: Outcome) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "idempotency_key": "\(outcome.idempotencyKey)", "outcome": "\(outcome.kind.rawValue)",
        ]
        if let eventID = outcome.sluice?.eventID { metadata["event.id"] = "\(eventID)" }
        if let workflowID = outcome.workflowID { metadata["workflow.id"] = "\(workflowID)" }
        if let reason = outcome.reason { metadata["reason"] = "\(reason.rawValue)" }
        return metadata
    }

    private func log(_ outcome: Outcome, deadLetter: Bool) {
        if outcome.kind == .rejected {
            var metadata = metadata(outcome)
            metadata["dead_letter"] = "\(deadLetter)"
            logger.info("event rejected", metadata: metadata)
        } else {
            logger.debug("event decided", metadata: metadata(outcome))
        }
    }

    /// Turns the dispatcher's result for a plan into a settlement: record a decision, release the
    /// claim of abandoned work.
    func settle(
        _ result: DispatchResult, plan: Plan, inboxID: Int64?, delivery: Delivery?, trace: EventTrace
    ) async -> Settlement {
        let settlement: Settlement
        switch result {
        case .decided(let outcome):
            settlement = await record(outcome, commands: plan.steps.map(\.command), inboxID: inboxID, delivery: delivery)
        case .abandoned(let reason):
            await releaseClaim(plan.idempotencyKey)
            settlement = .abandoned(reason: reason)
        }
        trace.end(settlement)
        return settlement
    }

    /// Counts a mapping rejection as an outcome of the gate's metrics too, so that
    /// `sluice_outcomes_total` covers every event.
    func countMappingRejection(_ outcome: Outcome) {
        dispatcher.metrics.recordOutcome(outcome)
    }
}
