import Testing

@testable import SluiceCore

/// Random operation sequences (seeded, so every run is the same) driven through ``TaskRuntime``
/// and ``GateReferenceRuntime`` side by side, checking after every operation that both agree and
/// that the invariants hold: limits, per-key order, one terminal state per admission, nothing
/// lost on cancel, bounded memory.
@Suite("TaskRuntime properties")
struct GateTaskRuntimePropertyTests {
    static let batches = 8
    static let sequencesPerBatch = 300
    static let operationsPerSequence = 120

    @Test("random sequences agree with the reference model and keep every invariant", arguments: 0..<batches)
    func randomSequences(batch: Int) async {
        for index in 0..<Self.sequencesPerBatch {
            await Task.yield()  // a batch takes a while: let other tests' tasks run meanwhile
            let harness = GateRuntimeHarness(seed: UInt64(batch * Self.sequencesPerBatch + index))
            harness.run(operations: Self.operationsPerSequence)
            if harness.failed { return }
        }
    }

    @Test("cancellation-heavy sequences lose nothing", arguments: 0..<4)
    func cancellationHeavySequences(batch: Int) async {
        for index in 0..<Self.sequencesPerBatch {
            await Task.yield()
            let harness = GateRuntimeHarness(seed: 1_000_000 + UInt64(batch * Self.sequencesPerBatch + index))
            harness.cancellationWeight = 12
            harness.run(operations: Self.operationsPerSequence / 2)
            if harness.failed { return }
        }
    }

    @Test("the same seed gives the same signature")
    func deterministicReplay() {
        for seed in UInt64(0)..<200 {
            let first = GateRuntimeHarness(seed: seed)
            first.run(operations: 80)
            let second = GateRuntimeHarness(seed: seed)
            second.run(operations: 80)
            #expect(first.runtime.signature == second.runtime.signature)
        }
    }
}

/// Drives one random sequence and checks it.
final class GateRuntimeHarness {
    let seed: UInt64
    var random: GateTestRandom
    var runtime: TaskRuntime
    var model: GateReferenceRuntime
    let keys = (0..<12).map { "k\($0)" }
    let orderingChoices: [String?] = [nil, "a", "b", "c"]
    var orderingOf: [String: String?] = [:]
    var now = GateInstant.zero
    /// The seq of each key's admission that has not ended yet.
    var open: [String: Int] = [:]
    /// How many terminal reports each admission (by seq) received.
    var terminalReports: [Int: Int] = [:]
    var cancellationWeight = 3
    var failed = false
    var step = 0

    init(seed: UInt64) {
        self.seed = seed
        var random = GateTestRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ 1)
        let boundary = Boundary(
            mode: .pushPull, maxInFlight: 1 + random.below(4), maxQueued: 1 + random.below(6),
            cancellationBudget: .nanoseconds(random.below(12)))
        let historyLimit = random.below(6)
        self.random = random
        self.runtime = TaskRuntime(boundary: boundary, historyLimit: historyLimit)
        self.model = GateReferenceRuntime(boundary: boundary, historyLimit: historyLimit)
    }

    func run(operations: Int) {
        for _ in 0..<operations {
            step += 1
            now = now + .nanoseconds(random.below(4))
            performRandomOperation()
            checkEverything()
            if failed { return }
        }
        drainAndCheckAccounting()
    }

    // MARK: - Operations

    func pickKey(preferring wanted: (TaskState) -> Bool) -> String {
        let model = self.model
        let matching = keys.filter { model.state($0).map(wanted) ?? false }
        if !matching.isEmpty, random.below(4) != 0 { return matching[random.below(matching.count)] }
        return keys[random.below(keys.count)]
    }

    func performRandomOperation() {
        let roll = random.below(100 + 2 * cancellationWeight)
        switch roll {
        case 0..<30:
            let key = keys[random.below(keys.count)]
            let orderingKey = orderingChoices[random.below(orderingChoices.count)]
            let expected = model.enqueue(key, orderingKey: orderingKey)
            let actual = capture { (runtime: inout TaskRuntime) throws(TaskRuntimeError) in
                try runtime.enqueue(key, orderingKey: orderingKey)
            }
            agree(actual, expected, "enqueue \(key)")
            if actual == nil {
                orderingOf[key] = orderingKey
                admitted(key)
            }
        case 30..<50:
            let expected = model.startAvailable(now: now)
            let actual = runtime.startAvailable(now: now)
            check(actual == expected, "startAvailable: \(actual) vs model \(expected)")
            checkStartOrder(actual)
        case 50..<62:
            let key = pickKey { $0.kind == .inFlight }
            let expected = model.finish(key, action: .succeed, reason: "")
            let actual = capture { (runtime: inout TaskRuntime) throws(TaskRuntimeError) in try runtime.succeed(key) }
            agree(actual, expected, "succeed \(key)")
            if actual == nil { ended(key) }
        case 62..<70:
            let key = pickKey { $0.kind == .inFlight }
            let expected = model.finish(key, action: .fail, reason: "boom")
            let actual = capture { (runtime: inout TaskRuntime) throws(TaskRuntimeError) in
                try runtime.fail(key, reason: "boom")
            }
            agree(actual, expected, "fail \(key)")
            if actual == nil { ended(key) }
        case 70..<76:
            let key = pickKey { !$0.isTerminal }
            let expected = model.cancel(key, reason: "stop")
            let actual = capture { (runtime: inout TaskRuntime) throws(TaskRuntimeError) in
                try runtime.cancel(key, reason: "stop")
            }
            agree(actual, expected, "cancel \(key)")
            if actual == nil { ended(key) }
        case 76..<84:
            let key = pickKey { $0.kind == .failed || $0.kind == .cancelled }
            let expected = model.retry(key)
            let actual = capture { (runtime: inout TaskRuntime) throws(TaskRuntimeError) in try runtime.retry(key) }
            agree(actual, expected, "retry \(key)")
            if actual == nil { admitted(key) }
        case 84..<89:
            let key = pickKey { !$0.isTerminal }
            let expected = model.requestCancellation(key, reason: "deadline", now: now)
            let actual: Result<TaskRuntime.TaskCancellation, TaskRuntimeError>
            do throws(TaskRuntimeError) {
                actual = .success(try runtime.requestCancellation(key, reason: "deadline", now: now))
            } catch {
                actual = .failure(error)
            }
            check(actual == expected, "requestCancellation \(key): \(actual) vs model \(expected)")
            if case .success(.cancelled) = actual { ended(key) }
        case 89..<97:
            now = now + .nanoseconds(random.below(8))
            let expected = model.expireCancellation(now: now)
            let actual = runtime.expireCancellation(now: now)
            check(actual == expected, "expireCancellation: \(actual) vs model \(expected)")
            actual.forEach { ended($0) }
        case 97..<100:
            runtime.reopen()
            model.reopen()
        default:
            if random.below(2) == 0 {
                runtime.reopen()
                model.reopen()
                return
            }
            let expected = model.beginCancellation(reason: "shutdown", now: now)
            let actual = runtime.beginCancellation(reason: "shutdown", now: now)
            check(actual == expected, "beginCancellation: \(actual) vs model \(expected)")
            actual.cancelled.forEach { ended($0) }
            check(runtime.queuedCount == 0, "queued tasks left after beginCancellation")
            check(runtime.pullCapacity == 0, "pull capacity while cancelling")
        }
    }

    /// Runs `body` and returns the error it threw, if any.
    func capture(
        _ body: (inout TaskRuntime) throws(TaskRuntimeError) -> Void
    ) -> TaskRuntimeError? {
        do throws(TaskRuntimeError) {
            try body(&runtime)
            return nil
        } catch {
            return error
        }
    }

    func agree(_ actual: TaskRuntimeError?, _ expected: TaskRuntimeError?, _ what: String) {
        check(actual == expected, "\(what): \(String(describing: actual)) vs model \(String(describing: expected))")
    }

    func admitted(_ key: String) {
        guard let state = runtime.state(key: key) else {
            check(false, "admitted \(key) has no state")
            return
        }
        check(open[key] == nil, "\(key) admitted twice while open")
        open[key] = state.seq
        terminalReports[state.seq] = 0
    }

    func ended(_ key: String) {
        guard let seq = open.removeValue(forKey: key) else {
            check(false, "\(key) reported terminal but was not open")
            return
        }
        terminalReports[seq, default: 0] += 1
    }

    // MARK: - Checks

    func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        guard !condition, !failed else { return }
        failed = true
        Issue.record("seed \(seed) step \(step): \(message())\n\(runtime.signature)")
    }

    func checkStartOrder(_ started: [String]) {
        for key in started {
            guard let orderingKey = orderingOf[key] ?? nil, let seq = runtime.state(key: key)?.seq else { continue }
            for other in keys where other != key && orderingOf[other] == orderingKey {
                if case .queued(let otherSeq) = runtime.state(key: other) {
                    check(otherSeq > seq, "\(key) (seq \(seq)) started before older \(other) (seq \(otherSeq))")
                }
            }
        }
    }

    func checkEverything() {
        let runtime = self.runtime
        let model = self.model
        let boundary = runtime.boundary
        let states = keys.map { runtime.state(key: $0) }

        // Agreement with the model.
        for i in keys.indices {
            let key = keys[i]
            let state = states[i]
            let expected = model.state(key)
            check(
                state == expected,
                "state of \(key): \(String(describing: state)) vs model \(String(describing: expected))")
        }
        var queued = 0
        var inFlight = 0
        for state in states {
            if state?.kind == .queued { queued += 1 }
            if state?.kind == .inFlight { inFlight += 1 }
        }
        check(runtime.queuedCount == queued, "queuedCount \(runtime.queuedCount) vs \(queued) queued states")
        check(
            runtime.inFlightCount == inFlight, "inFlightCount \(runtime.inFlightCount) vs \(inFlight) in-flight states")
        check(runtime.admittedTotal == model.admitted, "admittedTotal")
        check(runtime.refusedTotal == model.refused, "refusedTotal")
        check(runtime.succeededTotal == model.succeeded, "succeededTotal")
        check(runtime.failedTotal == model.failed, "failedTotal")
        check(runtime.cancelledTotal == model.cancelled, "cancelledTotal")
        check(runtime.abandonedTotal == model.abandoned, "abandonedTotal")
        check(runtime.isCancelling == (model.cancelling != nil), "isCancelling")

        // Limits.
        check(runtime.inFlightCount <= boundary.maxInFlight, "more than maxInFlight in flight")
        check(runtime.queuedCount <= boundary.maxQueued, "more than maxQueued queued")

        // One task in flight per ordering key.
        var busy: Set<String> = []
        for i in keys.indices where states[i]?.kind == .inFlight {
            let key = keys[i]
            if let orderingKey = orderingOf[key] ?? nil {
                check(busy.insert(orderingKey).inserted, "two tasks of \(orderingKey) in flight")
            }
        }

        // Nothing changes state silently: open admissions are still queued or in flight with
        // their seq; everything else is terminal or forgotten.
        for i in keys.indices {
            let key = keys[i]
            let state = states[i]
            if let seq = open[key] {
                check(
                    state.map { !$0.isTerminal && $0.seq == seq } ?? false,
                    "\(key) (seq \(seq)) lost: \(String(describing: state))")
            } else {
                check(state.map(\.isTerminal) ?? true, "\(key) is \(String(describing: state)) without an admission")
            }
        }

        // Bounded memory.
        let bound = max(0, boundary.maxQueued) + max(0, boundary.maxInFlight) + runtime.historyLimit
        check(runtime.historyCount <= runtime.historyLimit, "history beyond its limit")
        check(runtime.trackedCount <= bound, "tracked \(runtime.trackedCount) > \(bound)")
        check(runtime.slots.count <= bound, "slab grew to \(runtime.slots.count) > \(bound)")
        check(runtime.lanes.count <= boundary.maxQueued + boundary.maxInFlight, "lanes grew to \(runtime.lanes.count)")
        check(runtime.laneByKey.count <= orderingChoices.count, "lanes leaked: \(runtime.laneByKey.count)")
        var listed = runtime.ready.count
        for lane in runtime.lanes { listed += lane.pending.count }
        check(listed == runtime.queuedCount, "queue lists hold \(listed), queuedCount is \(runtime.queuedCount)")
    }

    /// Ends the sequence: cancellation with the budget, then expiry; every admission must have
    /// exactly one terminal report and nothing may be left queued or in flight.
    func drainAndCheckAccounting() {
        let actions = runtime.beginCancellation(reason: "final", now: now)
        let expected = model.beginCancellation(reason: "final", now: now)
        check(actions == expected, "final beginCancellation: \(actions) vs model \(expected)")
        actions.cancelled.forEach { ended($0) }
        // Some in-flight tasks finish within the budget, the rest are abandoned at the deadline.
        for key in actions.draining where random.below(2) == 0 {
            guard let deadline = runtime.nextCancellationDeadline, now < deadline else { break }
            check((try? runtime.succeed(key)) != nil, "succeed \(key) while draining")
            _ = model.finish(key, action: .succeed, reason: "")
            ended(key)
        }
        now = max(now, actions.deadline)
        let abandoned = runtime.expireCancellation(now: now)
        check(abandoned == model.expireCancellation(now: now), "final expiry disagrees with the model")
        abandoned.forEach { ended($0) }
        check(runtime.queuedCount == 0 && runtime.inFlightCount == 0, "work left after the budget")
        check(open.isEmpty, "admissions never reported terminal: \(open)")
        for (seq, reports) in terminalReports {
            check(reports == 1, "admission seq \(seq) reported terminal \(reports) times")
        }
        checkEverything()
    }
}
