import Foundation
import Synchronization
import Tracing

/// Runs events' plans through one adapter's gate against the engine: admission (push and pull),
/// FIFO per ordering key, at most `maxInFlight` at once, per-step retries with full jitter and
/// `Retry-After`, the version check, cancellation budgets, and exactly one result per event.
///
/// The ``TaskRuntime`` decides; the dispatcher performs what it decides. Every admitted event ends
/// with one ``DispatchResult`` given to its completion: `decided` (record the outcome, then ack) or
/// `abandoned` (do not ack: the source redelivers it). The completion is awaited before the next
/// event of the same ordering key starts, so an outcome is recorded before its successor runs.
/// A completion given to ``submitReporting(_:remap:source:unless:completion:)`` also says whether the
/// decision is now durable: one that is not (the ledger write failed) leaves the event cancelled
/// rather than succeeded, so that its redelivery runs again instead of being refused as
/// `alreadyDecided`.
///
/// ```swift
/// let dispatcher = Dispatcher(adapter: adapter.name, boundary: adapter.boundary, retry: adapter.retry,
///                             engine: engine, clock: ContinuousClock(), currentVersion: { adapter.version })
/// async let running: Void = dispatcher.run()
/// try await dispatcher.submit(plan) { result in await ledger.record(result) }
/// ```
public actor Dispatcher {
    /// How a source hands work over.
    public enum SourceKind: Sendable {
        /// A webhook: refused at once when the queue is full.
        case push
        /// A consumer that fetches only ``pullCapacity`` at a time.
        case pull
    }

    public nonisolated let adapter: String
    public nonisolated let boundary: Boundary
    public nonisolated let retry: RetryPolicy
    let engine: any WorkflowEngine
    let clock: GateClock
    let wallOrigin: Date
    let currentVersion: @Sendable () -> Int
    let metrics: DispatcherMetrics

    var runtime: TaskRuntime
    var work: [String: Work] = [:]
    var random: SplitMix64
    var capacityWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextWaiter = 0
    var generations = 0
    /// The task delivering each started event. Abandoning an event cancels its task, which stops
    /// its engine call or backoff wait; ``run()`` waits for every one before it returns.
    var executions: [Int: Task<Void, Never>] = [:]
    /// The generation of each cut run whose task has not ended yet. Its task may still be inside its engine call
    /// when its key is admitted and started again; the new run waits in ``startsAfterCut`` until that task has ended,
    /// so that the engine never has one key twice at once. Until then the cut task keeps its place of `maxInFlight`.
    /// Empty but for cuts, so the hot path checks only that.
    var cutRuns: [String: Int] = [:]
    var startsAfterCut: Set<String> = []
    /// The results of finished events bound for a ``DispatchRecorder``, handed over by their tasks without a hop
    /// onto the actor, and how many recorder tasks take them. Their tasks stay in ``executions`` until recorded.
    nonisolated let finished = Mutex(FinishedQueue())
    /// Queued results taken in by a cut (``absorbFinished()``) before a recorder task took them: their events are
    /// delivered, and the recorder tasks record them next.
    var absorbed: [FinishedRun] = []
    var executionsDone: CheckedContinuation<Void, Never>?
    var startBuffer: [String] = []
    /// Places in the queue held by ``reserveAdmission(key:source:)`` for events being stored (a webhook
    /// between its admission check and its admission, the inbox write in between). Every admission counts
    /// them, so that what was checked is still there when the stored event is admitted.
    var reserved = 0
    /// Budget timers, and deliveries scheduled after ``finish()``: tasks tracked in ``executions`` under negative ids.
    var trackedTasks = 0
    /// The tracked tasks that are budget timers (``startBudgetTimer(until:)``): each cuts what its budget let run past
    /// the deadline. Stopped by a cancelled ``run()``, and once the command stream has ended with no run left to cut.
    var budgetTimers: Set<Int> = []
    /// Set once ``run()``'s command stream has ended (``finish()``): from then on, budget timers with no run left to
    /// cut stop at once, so that shutdown takes as long as the work in flight, not always the whole budget.
    var commandsEnded = false
    let commands: AsyncStream<Command>
    let commandSink: AsyncStream<Command>.Continuation

    /// One admitted event. A class, so that looking it up does not copy its plan.
    final class Work {
        /// Tells a redelivered event's work from an abandoned earlier run of the same key.
        let generation: Int
        let plan: Plan
        let remap: Bool
        /// Receives the result; says whether a decided result is durable.
        let completion: DispatchCompletion
        /// The submitter's trace context: the event's engine calls are its child spans.
        let context: ServiceContext?
        var delivered = false
        var cancelReason: String?

        init(generation: Int, plan: Plan, remap: Bool, context: ServiceContext?, completion: DispatchCompletion) {
            self.generation = generation
            self.plan = plan
            self.remap = remap
            self.context = context
            self.completion = completion
        }
    }

    enum Command: Sendable {
        case deliver(DispatchCompletion, Plan, DispatchResult)
    }

    /// Finished events' results waiting for a recorder task (see ``finished``).
    struct FinishedQueue: ~Copyable {
        var results: [FinishedRun] = []
        var recorders = 0
    }

    /// A run's result on its way to its recorder.
    struct FinishedRun: Sendable {
        let key: String
        let generation: Int
        let recorder: any DispatchRecorder
        let finished: FinishedEvent
    }

    /// How many recorder tasks may record at once: enough to keep the ledger's group commits pipelined (one
    /// batch being written while another is flushed), few enough that each takes a batch worth sharing.
    static let concurrentRecorders = 4

    /// - Parameters:
    ///   - adapter: the adapter's name (the engine's bridge label).
    ///   - boundary: the limits.
    ///   - retry: the retry policy.
    ///   - engine: where commands go.
    ///   - clock: the clock for backoff and budgets (a manual clock in tests).
    ///   - currentVersion: the adapter's version now; work admitted under another is not re-mapped.
    ///   - metrics: where the gate's metrics go.
    ///   - jitterSeed: the seed of retry jitter (fixed in tests).
    ///   - historyLimit: how many finished events the runtime remembers.
    public init(
        adapter: String, boundary: Boundary, retry: RetryPolicy, engine: any WorkflowEngine,
        clock: some Clock<Duration>,
        currentVersion: @escaping @Sendable () -> Int, metrics: DispatcherMetrics? = nil,
        jitterSeed: UInt64 = UInt64.random(in: .min ... .max), historyLimit: Int = 1_024
    ) {
        self.adapter = adapter
        self.boundary = boundary
        self.retry = retry
        self.engine = engine
        self.clock = GateClock(clock)
        self.wallOrigin = Date()
        self.currentVersion = currentVersion
        self.metrics = metrics ?? DispatcherMetrics(adapter: adapter)
        self.runtime = TaskRuntime(boundary: boundary, historyLimit: historyLimit)
        self.random = SplitMix64(seed: jitterSeed)
        (self.commands, self.commandSink) = AsyncStream.makeStream(of: Command.self)
    }

    // MARK: - Running

    /// Runs the abandonment deliveries until ``finish()``, then returns once the last started event is settled: as
    /// soon as it settles, or once its cancellation budget has cut it and its task has ended. Run it in the service
    /// group (or a test's task group) for the dispatcher's lifetime.
    ///
    /// Cancelling its task (a service failed, the group is torn down) leaves no budget: queued events are
    /// abandoned, running ones are cut at once, and it returns when they have stopped.
    public func run() async {
        let sink = commandSink
        // Cancellation ends the stream, and so this loop, for certain.
        await withTaskCancellationHandler { await runCommands() } onCancel: { sink.finish() }
        commandsEnded = true
        stopBudgetTimersIfIdle()
        // Cancelled: nothing may outlive the task, so every budget ends now (its timer stops too).
        if Task.isCancelled { cutEverything(reason: "the gate was stopped") }
        // Cancelled while the last events settle (after ``finish()``): what still runs is cut then.
        await withTaskCancellationHandler {
            while !executions.isEmpty {
                await withCheckedContinuation { executionsDone = $0 }
            }
        } onCancel: {
            Task { await self.cutEverything(reason: "the gate was stopped") }
        }
    }

    /// Serves timers and deliveries until the command stream ends.
    private func runCommands() async {
        await withDiscardingTaskGroup { group in
            for await command in commands {
                switch command {
                case .deliver(let completion, let plan, let result):
                    group.addTask { _ = await completion.deliver(result, plan: plan) }
                }
            }
        }
    }

    /// Stops taking commands: ``run()`` returns once the work in flight has settled.
    public func finish() {
        commandSink.finish()
    }

    /// Hands a delivery to ``run()``; after ``finish()``, runs it in a tracked task of its own, so that no result is
    /// ever dropped.
    private func schedule(_ command: Command) {
        guard case .terminated = commandSink.yield(command) else { return }
        trackedTasks += 1
        let id = -trackedTasks
        executions[id] = Task {
            switch command {
            case .deliver(let completion, let plan, let result):
                _ = await completion.deliver(result, plan: plan)
            }
            self.executionEnded(generation: id)
        }
    }

    /// Cuts, at `deadline`, the runs a cancellation's budget let go on: a task of its own, tracked in ``executions``
    /// (``run()`` returns only once it has fired or stopped).
    private func startBudgetTimer(until deadline: GateInstant) {
        trackedTasks += 1
        let id = -trackedTasks
        budgetTimers.insert(id)
        executions[id] = Task {
            try? await self.clock.sleep(until: deadline)
            if !Task.isCancelled { self.expire() }
            self.budgetTimers.remove(id)
            self.executionEnded(generation: id)
        }
    }

    /// Once the command stream has ended: stops the budget timers when nothing but timers is left in
    /// ``executions``, since no run remains for them to cut.
    private func stopBudgetTimersIfIdle() {
        guard commandsEnded, !budgetTimers.isEmpty, executions.count == budgetTimers.count else { return }
        for id in budgetTimers { executions[id]?.cancel() }
    }

    // MARK: - Admission

    /// Admits one event's plan.
    ///
    /// - Parameters:
    ///   - plan: the plan, mapped under ``Plan/adapterVersion``.
    ///   - remap: set when a replay re-mapped the event on purpose, so that a version change is
    ///     not treated as `incompatible_state`.
    ///   - source: push sources are refused when the boundary is pull-only, and vice versa.
    ///   - completion: receives the event's one result; awaited before the event's ordering key
    ///     moves on.
    /// - Throws: ``DispatchAdmissionError`` at once when the event cannot be taken now.
    public func submit(
        _ plan: Plan, remap: Bool = false, source: SourceKind = .push,
        completion: @escaping @Sendable (DispatchResult) async -> Void
    ) throws(DispatchAdmissionError) {
        try submitReporting(plan, remap: remap, source: source) { result in
            await completion(result)
            return true
        }
    }

    /// ``submit(_:remap:source:completion:)`` with a completion that records the result and reports
    /// whether the decision is durable (the pipeline's: false when the ledger write failed).
    ///
    /// - Parameter waits: asked on the actor just before the admission; true keeps the plan out. The pipeline's
    ///   check that a row of an ordered adapter must wait in its ordering key's lane of rows to be admitted
    ///   again (``ReadmissionLanes``), made in the same turn as the admission: a row of the key that ends
    ///   undecided has either put itself into the lane before (then this plan waits behind it), or is still
    ///   in the gate (then this plan queues behind it there).
    /// - Returns: false when `waits` kept the plan out.
    @discardableResult
    public func submitReporting(
        _ plan: Plan, remap: Bool = false, source: SourceKind = .push, unless waits: (@Sendable () -> Bool)? = nil,
        completion: @escaping @Sendable (DispatchResult) async -> Bool
    ) throws(DispatchAdmissionError) -> Bool {
        if let waits, waits() { return false }
        try admit(plan, remap: remap, source: source, context: ServiceContext.current, completion: .alone(completion))
        startAvailable()
        return true
    }

    /// One admission of ``submitAll(_:source:keepingOrder:)``: a plan, the trace context its engine calls run in, and
    /// where its result goes.
    struct Submission: Sendable {
        var plan: Plan
        var context: ServiceContext?
        /// Records the result and says whether a decided result is durable.
        var completion: DispatchCompletion
        /// Asked on the actor just before the admission, as `unless` of
        /// ``submitReporting(_:remap:source:unless:completion:)``: true keeps the plan out (its source took the event
        /// back, to submit it again behind an earlier event of its partition that ended undecided).
        var waits: (@Sendable () -> Bool)? = nil
    }

    /// What became of one submission of ``submitAll(_:source:keepingOrder:)``.
    enum BatchAdmission: Sendable, Hashable {
        /// In the gate: its completion will run.
        case admitted
        /// Its `waits` check kept it out: its source submits it again in turn; no completion runs.
        case waits
        /// Refused now: no completion runs.
        case refused(DispatchAdmissionError)
    }

    /// Admits several plans in order in one turn of the actor (a pull source's fetch): the same as
    /// ``submit(_:remap:source:completion:)`` for each, with one hop instead of one per event.
    ///
    /// With `keepingOrder` (an ordered adapter), the plans after one refused for any reason but a decision are
    /// refused too (`cancelling`), not admitted: the source submits the refused one again later, and the later
    /// plans of its ordering key must not run before it.
    ///
    /// - Returns: what became of each submission.
    func submitAll(_ submissions: [Submission], source: SourceKind = .pull, keepingOrder: Bool = false) -> [BatchAdmission] {
        var admissions: [BatchAdmission] = []
        admissions.reserveCapacity(submissions.count)
        var heldBack = false
        for submission in submissions {
            if heldBack {
                admissions.append(.refused(.cancelling(reason: "an earlier event of this fetch is submitted again first")))
                continue
            }
            if let waits = submission.waits, waits() {
                admissions.append(.waits)
                continue
            }
            do {
                try admit(
                    submission.plan, remap: false, source: source, context: submission.context,
                    completion: submission.completion)
                admissions.append(.admitted)
            } catch {
                admissions.append(.refused(error))
                // A decided key is settled with its decision; any other refusal comes again later, after the events
                // behind it in the fetch would have run.
                if case .alreadyDecided = error {} else { heldBack = keepingOrder }
            }
        }
        startAvailable()
        return admissions
    }

    private func admit(
        _ plan: Plan, remap: Bool, source: SourceKind, context: ServiceContext?, completion: DispatchCompletion
    ) throws(DispatchAdmissionError) {
        switch (source, boundary.mode) {
        case (.push, .pullOnly), (.pull, .pushOnly):
            metrics.recordRefused(saturated: false)
            throw .modeRefused(mode: boundary.mode)
        default: break
        }
        let key = plan.idempotencyKey
        if reserved > 0, runtime.queuedCount + reserved >= boundary.maxQueued, !isQueuedOrInFlight(key) {
            // The places left are promised to events being stored.
            metrics.recordRefused(saturated: true)
            throw .saturated(maxQueued: boundary.maxQueued, retryAfter: runtime.suggestedRetryAfter(now: now))
        }
        do {
            try runtime.enqueue(key, orderingKey: plan.orderingKey)
        } catch {
            switch error {
            case .queueSaturated(_, let maxQueued):
                metrics.recordRefused(saturated: true)
                throw .saturated(maxQueued: maxQueued, retryAfter: runtime.suggestedRetryAfter(now: now))
            case .duplicateTask:
                switch runtime.state(key: key) {
                case .cancelled?:
                    // Abandoned earlier and redelivered: run it again.
                    do {
                        try runtime.retry(key)
                    } catch {
                        switch error {
                        case .queueSaturated(_, let maxQueued):
                            metrics.recordRefused(saturated: true)
                            throw .saturated(maxQueued: maxQueued, retryAfter: runtime.suggestedRetryAfter(now: now))
                        case .cancelling(_, let reason):
                            metrics.recordRefused(saturated: false)
                            throw .cancelling(reason: reason)
                        default:
                            metrics.recordRefused(saturated: false)
                            throw .alreadyInProgress(key: key)
                        }
                    }
                case .succeeded?, .failed?:
                    // Decided and durable (a rejection too): the caller answers it from the ledger.
                    metrics.recordRefused(saturated: false)
                    throw .alreadyDecided(key: key)
                default:
                    metrics.recordRefused(saturated: false)
                    throw .alreadyInProgress(key: key)
                }
            case .cancelling(_, let reason):
                metrics.recordRefused(saturated: false)
                throw .cancelling(reason: reason)
            default:
                metrics.recordRefused(saturated: false)
                throw .cancelling(reason: error.description)
            }
        }
        metrics.recordAdmitted()
        generations += 1
        work[key] = Work(generation: generations, plan: plan, remap: remap, context: context, completion: completion)
    }

    /// Checks, without admitting anything, whether ``submit(_:remap:source:completion:)`` would take
    /// an event with this key now (counting the places reserved for events being stored). The webhook
    /// route asks through ``reserveAdmission(key:source:)`` before it writes the inbox, so that a
    /// refused event is never stored.
    ///
    /// - Throws: the ``DispatchAdmissionError`` that `submit` would throw (`saturated` with its
    ///   `Retry-After`, `alreadyInProgress`, `cancelling`, `modeRefused`).
    public func checkAdmission(key: String, source: SourceKind = .push) throws(DispatchAdmissionError) {
        switch (source, boundary.mode) {
        case (.push, .pullOnly), (.pull, .pushOnly): throw .modeRefused(mode: boundary.mode)
        default: break
        }
        if let reason = runtime.cancellationReason { throw .cancelling(reason: reason) }
        switch runtime.state(key: key) {
        case .queued?, .inFlight?: throw .alreadyInProgress(key: key)
        default: break
        }
        if runtime.queuedCount + reserved >= boundary.maxQueued {
            metrics.recordRefused(saturated: true)
            throw .saturated(maxQueued: boundary.maxQueued, retryAfter: runtime.suggestedRetryAfter(now: now))
        }
    }

    /// ``checkAdmission(key:source:)``, and a place in the queue held for this event until
    /// ``submitReserved(_:source:unless:completion:)`` admits it or ``releaseReservation()`` gives the place back.
    /// The webhook route reserves before it writes the inbox: under sustained load, a stored event then
    /// always finds the room it was promised, instead of waiting in memory for a place other arrivals keep
    /// taking.
    public func reserveAdmission(key: String, source: SourceKind = .push) throws(DispatchAdmissionError) {
        try checkAdmission(key: key, source: source)
        reserved += 1
    }

    private func isQueuedOrInFlight(_ key: String) -> Bool {
        switch runtime.state(key: key) {
        case .queued?, .inFlight?: true
        default: false
        }
    }

    /// Gives back a place held by ``reserveAdmission(key:source:)`` (the event was not stored).
    public func releaseReservation() {
        reserved = max(0, reserved - 1)
        resumeCapacityWaiters()
    }

    /// ``submitReporting(_:remap:source:unless:completion:)`` for an event that holds a reservation, which
    /// this uses up whether or not the event is admitted.
    @discardableResult
    public func submitReserved(
        _ plan: Plan, source: SourceKind = .push, unless waits: (@Sendable () -> Bool)? = nil,
        completion: @escaping @Sendable (DispatchResult) async -> Bool
    ) throws(DispatchAdmissionError) -> Bool {
        reserved = max(0, reserved - 1)
        let admitted = try submitReporting(plan, source: source, unless: waits, completion: completion)
        if !admitted { resumeCapacityWaiters() }
        return admitted
    }

    /// Admits a plan and waits for its result (the synchronous bridge endpoint, tests).
    public func dispatch(
        _ plan: Plan, remap: Bool = false, source: SourceKind = .push
    ) async throws(DispatchAdmissionError) -> DispatchResult {
        let (stream, sink) = AsyncStream.makeStream(of: DispatchResult.self, bufferingPolicy: .bufferingNewest(1))
        try submit(plan, remap: remap, source: source) { result in
            sink.yield(result)
            sink.finish()
        }
        for await result in stream { return result }
        return .abandoned(reason: "the dispatcher stopped")
    }

    /// The keys of the events admitted and not yet settled (queued, running, or being recorded).
    public var activeKeys: [String] { Array(work.keys) }

    /// Whether an event of this key is admitted and not yet settled.
    public func isActive(_ key: String) -> Bool { work[key] != nil }

    /// How many events a pull source may fetch now.
    public var pullCapacity: Int { runtime.pullCapacity }

    /// Returns when the queue has drained to the low watermark (half of `maxQueued`), so that a paused
    /// pull source resumes without polling; at once while the gate is cancelling (a submission is then
    /// refused `cancelling`, and nothing would wake a waiter once the last event has settled); or when the
    /// calling task is cancelled (a source shutting down never hangs here).
    public func waitForPullCapacity() async {
        if runtime.queuedCount <= runtime.lowWatermark || runtime.isCancelling { return }
        nextWaiter += 1
        let id = nextWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    capacityWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.resumeWaiter(id) }
        }
    }

    private func resumeWaiter(_ id: Int) {
        capacityWaiters.removeValue(forKey: id)?.resume()
    }

    /// The gate's counters, for the status page and health checks.
    /// Whether the gate is cancelling all its work (shutting down): it takes nothing new.
    public var isStopping: Bool { runtime.isCancelling }

    public var snapshot: GateSnapshot {
        GateSnapshot(
            adapter: adapter, boundary: boundary, inFlight: runtime.inFlightCount, queued: runtime.queuedCount,
            admitted: runtime.admittedTotal, refused: runtime.refusedTotal, succeeded: runtime.succeededTotal,
            failed: runtime.failedTotal, cancelled: runtime.cancelledTotal, abandoned: runtime.abandonedTotal,
            cancelling: runtime.cancellationReason)
    }

    // MARK: - Cancellation

    /// Stops taking work and gives work in flight the boundary's cancellation budget to finish;
    /// queued work and whatever is still running at the deadline end `abandoned` (not acked, so
    /// redelivered). Use it on shutdown and when a source loses its partitions.
    public func cancel(reason: String) {
        let actions = runtime.beginCancellation(reason: reason, now: now)
        for key in actions.cancelled { deliverAbandoned(key, reason: reason) }
        // An event whose result is in and being recorded keeps no budget: cutting it now would free its
        // ordering key's lane before its outcome is durable.
        for key in actions.draining where work[key]?.delivered == true { runtime.withdrawCancellation(key) }
        for key in actions.draining where work[key]?.cancelReason == nil { work[key]?.cancelReason = reason }
        if !actions.draining.isEmpty { startBudgetTimer(until: actions.deadline) }
        resumeCapacityWaiters()
        publishGauges()
    }

    /// Cancels some events only (the records of a revoked Kafka partition), with the same budget.
    public func cancel(keys: [String], reason: String) {
        // An event whose result is in and being recorded is left to finish (see ``cancel(reason:)``).
        for key in keys where work[key]?.delivered != true {
            let behind = runtime.keysQueued(behind: key)
            guard let outcome = try? runtime.requestCancellation(key, reason: reason, now: now) else { continue }
            switch outcome {
            case .cancelled:
                deliverAbandoned(key, reason: reason)
                abandonQueued(behind, reason: "an earlier event of its ordering key was abandoned")
            case .draining(let deadline):
                if work[key]?.cancelReason == nil { work[key]?.cancelReason = reason }
                startBudgetTimer(until: deadline)
            }
        }
        startAvailable()
        // Cancelled queued work shrinks the queue: a paused pull source waiting for room may go on.
        resumeCapacityWaiters()
        publishGauges()
    }

    /// Takes work again after ``cancel(reason:)`` (a partition reassigned).
    public func reopen() {
        runtime.reopen()
        resumeCapacityWaiters()
    }

    /// Abandons every queued event and cuts every running one now, as a budget of zero; the budget timers stop too.
    private func cutEverything(reason: String) {
        if !runtime.isCancelling {
            let actions = runtime.beginCancellation(reason: reason, now: now)
            for key in actions.cancelled { deliverAbandoned(key, reason: reason) }
            // An outcome being recorded is left to its completion (see ``cancel(reason:)``).
            for key in actions.draining where work[key]?.delivered == true { runtime.withdrawCancellation(key) }
        }
        for id in budgetTimers { executions[id]?.cancel() }
        cutExpired(at: GateInstant(nanoseconds: .max), reason: reason)
        resumeCapacityWaiters()
        publishGauges()
    }

    func expire() {
        cutExpired(at: now, reason: runtime.cancellationReason ?? "cancelled")
        startAvailable()
        resumeCapacityWaiters()
        publishGauges()
    }

    /// Cuts the running events whose budget ended by `instant` (their tasks are cancelled, their results abandoned),
    /// and abandons the events queued behind them in their ordering lanes: a cut event comes again, and its lane must
    /// not run a later event of its key first.
    private func cutExpired(at instant: GateInstant, reason: String) {
        // A result waiting for a busy recorder exists: its event is being recorded, not the budget's to cut.
        absorbFinished()
        let followers = runtime.cancellationsDue(now: instant).map { ($0, runtime.keysQueued(behind: $0)) }
        guard !followers.isEmpty else { return }
        _ = runtime.expireCancellation(now: instant)
        for (key, behind) in followers {
            if let generation = work[key]?.generation, let execution = executions[generation] {
                execution.cancel()
                cutRuns[key] = generation
            }
            deliverAbandoned(key, reason: work[key]?.cancelReason ?? reason)
            abandonQueued(behind, reason: "an earlier event of its ordering key was abandoned")
        }
    }

    private func deliverAbandoned(_ key: String, reason: String) {
        guard let item = work[key], !item.delivered else { return }
        item.delivered = true
        work[key] = nil
        // A run waiting for its cut predecessor's task held that task's place of `max_in_flight`; abandoned, it holds
        // none, and the task (still in ``cutRuns``) keeps its own again.
        startsAfterCut.remove(key)
        metrics.recordAbandoned()
        schedule(.deliver(item.completion, item.plan, .abandoned(reason: reason)))
    }

    // MARK: - Execution

    nonisolated var now: GateInstant { clock.now }

    nonisolated func date(_ instant: GateInstant) -> Date {
        wallOrigin.addingTimeInterval(GateInstant.zero.duration(to: instant).secondsDouble)
    }

    private func startAvailable() {
        startBuffer.removeAll(keepingCapacity: true)
        // A cut task still inside its engine call keeps its place of `maxInFlight` until it ends, unless its key's next
        // run holds that place already (waiting for it in `startsAfterCut`).
        let winding = cutRuns.count - startsAfterCut.count
        guard runtime.startAvailable(now: now, reserving: winding, into: &startBuffer) > 0 else { return publishGauges() }
        for key in startBuffer {
            guard let item = work[key] else { continue }
            if !cutRuns.isEmpty, let previous = cutRuns[key], previous != item.generation {
                startsAfterCut.insert(key)
                continue
            }
            launch(key, item)
        }
        publishGauges()
    }

    /// Starts the task that runs an event's plan.
    private func launch(_ key: String, _ item: Work) {
        let generation = item.generation
        let plan = item.plan
        let remap = item.remap
        let context = item.context
        // A batched event's result goes to a recorder task without a hop onto the actor.
        let batched: (recorder: any DispatchRecorder, attachment: any Sendable)? =
            if case .batched(let recorder, let attachment) = item.completion { (recorder, attachment) } else { nil }
        // Detached so that the plan starts on the global executor at once; only its result
        // comes back to the actor.
        executions[generation] = Task.detached {
            let result: DispatchResult
            if plan.adapterVersion != self.currentVersion(), !remap {
                result = .decided(self.incompatibleState(plan))
            } else {
                result = await ServiceContext.withValue(context) { await self.run(plan, remap: remap) }
            }
            if let batched {
                self.handOver(
                    FinishedRun(
                        key: key, generation: generation, recorder: batched.recorder,
                        finished: FinishedEvent(plan: plan, result: result, attachment: batched.attachment)))
            } else {
                await self.settle(key, generation: generation, result)
            }
        }
    }

    /// Starts the run of `key` that waited for its cut predecessor's task (see ``cutRuns``), unless it was
    /// abandoned meanwhile.
    private func launchAfterCut(_ key: String) {
        guard startsAfterCut.remove(key) != nil, let item = work[key], !item.delivered,
            case .inFlight = runtime.state(key: key)
        else { return }
        launch(key, item)
    }

    /// Forgets a key the gate remembers as decided (it refuses it as `alreadyDecided`) once the caller found
    /// that the ledger no longer holds that decision: past the adapter's dedupe window, or pruned. The next
    /// submission of the key is admitted.
    public func forgetDecided(_ key: String) {
        _ = runtime.forgetDecided(key)
    }

    private func publishGauges() {
        metrics.recordGauges(inFlight: runtime.inFlightCount, queued: runtime.queuedCount)
    }

    private func resumeCapacityWaiters() {
        guard runtime.queuedCount <= runtime.lowWatermark || runtime.isCancelling else { return }
        let waiters = capacityWaiters.values
        capacityWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
    }

    private func executionEnded(generation: Int) {
        executions[generation] = nil
        stopBudgetTimersIfIdle()
        if executions.isEmpty, let done = executionsDone {
            executionsDone = nil
            done.resume()
        }
    }

    /// Takes a finished event's result: nil when the run was abandoned meanwhile (a cut run's task ended, or a
    /// late result), else the event, now delivered.
    private func accept(_ key: String, generation: Int, _ result: DispatchResult) -> Work? {
        guard let item = work[key], item.generation == generation, !item.delivered else {
            // A cut run's task ended: the key's next run may start now, or another event in the place it kept.
            if !cutRuns.isEmpty, cutRuns[key] == generation {
                cutRuns[key] = nil
                launchAfterCut(key)
                startAvailable()
                // The place the cut run kept is free: a paused pull source may fetch again.
                resumeCapacityWaiters()
            }
            executionEnded(generation: generation)
            return nil
        }
        item.delivered = true
        // The result exists: recording it is the completion's work, not the budget's to cut.
        runtime.withdrawCancellation(key)
        if case .decided(let outcome) = result { metrics.recordOutcome(outcome) }
        if case .abandoned = result { metrics.recordAbandoned() }
        return item
    }

    /// Settles an event with a completion of its own.
    private func settle(_ key: String, generation: Int, _ result: DispatchResult) async {
        guard let item = accept(key, generation: generation, result) else { return }
        let durable = await item.completion.deliver(result, plan: item.plan)
        conclude(key, generation: generation, result, durable: durable)
        startAvailable()
        resumeCapacityWaiters()
        executionEnded(generation: generation)
    }

    /// Queues a finished event's result for a recorder task, and starts one when none is free to take it.
    private nonisolated func handOver(_ run: FinishedRun) {
        let startRecorder = finished.withLock { queue in
            queue.results.append(run)
            guard queue.results.count == 1, queue.recorders < Self.concurrentRecorders else { return false }
            queue.recorders += 1
            return true
        }
        if startRecorder { Task { await self.recordFinished() } }
    }

    /// Records the finished events' results, a batch at a time, until none is left.
    private func recordFinished() async {
        while true {
            let noneAbsorbed = absorbed.isEmpty
            let results = finished.withLock { queue in
                defer { queue.results = [] }
                if queue.results.isEmpty, noneAbsorbed { queue.recorders -= 1 }
                return queue.results
            }
            if results.isEmpty, noneAbsorbed { return }
            var batch = absorbed
            absorbed = []
            batch.reserveCapacity(batch.count + results.count)
            for run in results where accept(run) {
                batch.append(run)
            }
            while let recorder = batch.first?.recorder {
                // One recorder in practice (the adapter's pipeline); others wait for the next round.
                let mine: [FinishedRun]
                if batch.allSatisfy({ $0.recorder === recorder }) {
                    mine = batch
                    batch = []
                } else {
                    mine = batch.filter { $0.recorder === recorder }
                    batch.removeAll { $0.recorder === recorder }
                }
                let durables = await recorder.record(mine.map(\.finished))
                for (index, pending) in mine.enumerated() {
                    let durable = index < durables.count ? durables[index] : false
                    conclude(pending.key, generation: pending.generation, pending.finished.result, durable: durable)
                    executionEnded(generation: pending.generation)
                }
            }
            startAvailable()
            resumeCapacityWaiters()
        }
    }

    /// Takes in the results waiting for a recorder task, so that a cut does not abandon an event whose result is in;
    /// the recorder tasks, at least one of which is running while the queue holds anything, record them next.
    private func absorbFinished() {
        let results = finished.withLock { queue in
            defer { queue.results = [] }
            return queue.results
        }
        for run in results where accept(run) {
            absorbed.append(run)
        }
    }

    /// ``accept(_:generation:_:)`` for a result handed over to the recorder tasks: whether it is still to be recorded.
    private func accept(_ run: FinishedRun) -> Bool {
        accept(run.key, generation: run.generation, run.finished.result) != nil
    }

    /// The gate's bookkeeping once an event's result was handed over: its key's lane moves on, or, when the
    /// event ends undecided, the events queued behind it are abandoned with it.
    private func conclude(_ key: String, generation: Int, _ result: DispatchResult, durable: Bool) {
        if work[key]?.generation == generation { work[key] = nil }
        guard case .inFlight = runtime.state(key: key) else { return }
        switch result {
        case .decided where !durable:
            // Not in the ledger: the source delivers the event again, and it must run again.
            let behind = runtime.keysQueued(behind: key)
            try? runtime.cancel(key, reason: "the outcome could not be recorded")
            abandonQueued(behind, reason: "an earlier event of its ordering key was not recorded")
        case .decided(let outcome) where outcome.kind == .rejected:
            try? runtime.fail(key, reason: outcome.reason?.rawValue ?? "rejected")
        case .decided:
            try? runtime.succeed(key)
        case .abandoned(let reason):
            let behind = runtime.keysQueued(behind: key)
            try? runtime.cancel(key, reason: reason)
            abandonQueued(behind, reason: "an earlier event of its ordering key was abandoned")
        }
    }

    /// Abandons the events waiting in the lane of one that ends undecided: it comes back (redelivered, or
    /// submitted again by its source) after them otherwise, and a later event of its key would run first.
    private func abandonQueued(_ keys: [String], reason: String) {
        for key in keys {
            guard (try? runtime.cancel(key, reason: reason)) != nil else { continue }
            deliverAbandoned(key, reason: reason)
        }
    }

    private nonisolated func incompatibleState(_ plan: Plan) -> Outcome {
        let first = plan.steps.first?.command
        return Outcome(
            adapter: plan.adapter, action: first?.action.rawValue ?? "none", idempotencyKey: plan.idempotencyKey,
            kind: .rejected, reason: .incompatibleState,
            correlation: first.map { .object($0.correlation) },
            message: "mapped by adapter version \(plan.adapterVersion), but the adapter is now version \(currentVersion()); sluice replay re-sends the commands as it mapped them",
            sluice: OutcomeDetails(
                eventID: plan.eventID, eventType: plan.eventType, sourcePosition: plan.sourcePosition,
                adapterVersion: plan.adapterVersion, rule: plan.rule, attempts: 0, steps: [],
                receivedAt: plan.receivedAt, decidedAt: date(now)))
    }

    func nextJitter() -> UInt64 { random.next() }
}

/// The counters of one adapter's gate at a moment.
public struct GateSnapshot: Sendable, Hashable {
    public var adapter: String
    public var boundary: Boundary
    public var inFlight: Int
    public var queued: Int
    public var admitted: Int
    public var refused: Int
    public var succeeded: Int
    public var failed: Int
    public var cancelled: Int
    public var abandoned: Int
    /// Why the gate is cancelling, when it is.
    public var cancelling: String?
}
