import Testing

@testable import SluiceCore

/// Every state × action of the task runtime (seed 002's transition rules), and every error.
@Suite("TaskRuntime transitions")
struct GateTaskRuntimeTransitionTests {
    /// An operation applied to the task `t` in the table.
    enum Operation: String, CaseIterable, CustomStringConvertible {
        case enqueue, succeed, fail, cancel, retry, requestCancellation
        var description: String { rawValue }
    }

    /// What the table expects: the state kind afterwards, or the error.
    enum Expected: Equatable {
        case state(TaskState.Kind)
        case error(TaskRuntimeError)
    }

    static let t0 = GateInstant(nanoseconds: 100)

    /// A runtime holding task `t` in `kind` (nil: never admitted).
    static func runtime(holding kind: TaskState.Kind?) throws -> TaskRuntime {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 4, maxQueued: 4, cancellationBudget: .nanoseconds(50)))
        guard let kind else { return runtime }
        try runtime.enqueue("t")
        switch kind {
        case .queued:
            break
        case .inFlight:
            _ = runtime.startAvailable(now: t0)
        case .succeeded:
            _ = runtime.startAvailable(now: t0)
            try runtime.succeed("t")
        case .failed:
            _ = runtime.startAvailable(now: t0)
            try runtime.fail("t", reason: "boom")
        case .cancelled:
            try runtime.cancel("t", reason: "stop")
        }
        #expect(runtime.state(key: "t")?.kind == kind)
        return runtime
    }

    /// The rules: succeed/fail only from in flight; cancel and requestCancellation from queued or
    /// in flight; retry from failed or cancelled; enqueue of a tracked key is a duplicate.
    static func expected(from kind: TaskState.Kind?, _ operation: Operation) -> Expected {
        let action: TaskRuntime.Action
        switch operation {
        case .enqueue:
            return kind == nil ? .state(.queued) : .error(.duplicateTask(key: "t"))
        case .succeed: action = .succeed
        case .fail: action = .fail
        case .cancel: action = .cancel
        case .retry: action = .retry
        case .requestCancellation: action = .requestCancellation
        }
        guard let kind else { return .error(.unknownTask(key: "t")) }
        switch (kind, action) {
        case (.inFlight, .succeed): return .state(.succeeded)
        case (.inFlight, .fail): return .state(.failed)
        case (.queued, .cancel), (.inFlight, .cancel), (.queued, .requestCancellation): return .state(.cancelled)
        case (.inFlight, .requestCancellation): return .state(.inFlight)
        case (.failed, .retry), (.cancelled, .retry): return .state(.queued)
        default: return .error(.invalidTransition(key: "t", state: kind, action: action))
        }
    }

    static let fromStates: [TaskState.Kind?] = [nil] + TaskState.Kind.allCases.map { $0 }

    @Test("state × action", arguments: fromStates, Operation.allCases)
    func transition(from kind: TaskState.Kind?, operation: Operation) throws {
        var runtime = try Self.runtime(holding: kind)
        let before = runtime.signature
        var thrown: TaskRuntimeError?
        do throws(TaskRuntimeError) {
            switch operation {
            case .enqueue: try runtime.enqueue("t")
            case .succeed: try runtime.succeed("t")
            case .fail: try runtime.fail("t", reason: "boom")
            case .cancel: try runtime.cancel("t", reason: "stop")
            case .retry: try runtime.retry("t")
            case .requestCancellation: _ = try runtime.requestCancellation("t", reason: "late", now: Self.t0)
            }
        } catch {
            thrown = error
        }
        let expected = Self.expected(from: kind, operation)
        switch expected {
        case .state(let kind):
            #expect(thrown == nil)
            #expect(runtime.state(key: "t")?.kind == kind)
        case .error(let error):
            #expect(thrown == error)
            #expect(runtime.signature == before, "a refused operation must change nothing")
        }
    }

    @Test("states carry seq, startedAt and reasons")
    func stateDetails() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 4, cancellationBudget: .seconds(1)))
        try runtime.enqueue("a")
        try runtime.enqueue("b")
        #expect(runtime.state(key: "a") == .queued(seq: 1))
        #expect(runtime.state(key: "b") == .queued(seq: 2))
        #expect(runtime.startAvailable(now: GateInstant(nanoseconds: 7)) == ["a", "b"])
        #expect(runtime.state(key: "a") == .inFlight(seq: 1, startedAt: GateInstant(nanoseconds: 7)))
        try runtime.fail("a", reason: "timeout")
        #expect(runtime.state(key: "a") == .failed(seq: 1, reason: "timeout"))
        try runtime.cancel("b", reason: "shutdown")
        #expect(runtime.state(key: "b") == .cancelled(seq: 2, reason: "shutdown"))
        try runtime.retry("a")
        #expect(runtime.state(key: "a") == .queued(seq: 3), "a retry is a new admission with a new seq")
        #expect(runtime.state(key: "missing") == nil)
    }

    @Test("queueSaturated refuses at maxQueued and admits again when room appears")
    func queueSaturated() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushOnly, maxInFlight: 1, maxQueued: 2, cancellationBudget: .zero))
        try runtime.enqueue("a")
        try runtime.enqueue("b")
        #expect(throws: TaskRuntimeError.queueSaturated(key: "c", maxQueued: 2)) { try runtime.enqueue("c") }
        #expect(runtime.state(key: "c") == nil, "a refused task is not tracked")
        #expect(runtime.refusedTotal == 1)
        #expect(runtime.admittedTotal == 2)
        #expect(runtime.startAvailable(now: .zero) == ["a"])
        try runtime.enqueue("c")
        #expect(runtime.queuedCount == 2)
        #expect(runtime.inFlightCount == 1)
    }

    @Test("retry respects queue room")
    func retryWhenSaturated() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .zero))
        try runtime.enqueue("a")
        _ = runtime.startAvailable(now: .zero)
        try runtime.fail("a", reason: "boom")
        try runtime.enqueue("b")
        #expect(throws: TaskRuntimeError.queueSaturated(key: "a", maxQueued: 1)) { try runtime.retry("a") }
        #expect(runtime.state(key: "a") == .failed(seq: 1, reason: "boom"))
        #expect(runtime.refusedTotal == 1)
    }

    @Test("duplicate keys are refused while tracked, in any state")
    func duplicates() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 4, cancellationBudget: .zero))
        try runtime.enqueue("a")
        #expect(throws: TaskRuntimeError.duplicateTask(key: "a")) { try runtime.enqueue("a", orderingKey: "x") }
        _ = runtime.startAvailable(now: .zero)
        #expect(throws: TaskRuntimeError.duplicateTask(key: "a")) { try runtime.enqueue("a") }
        try runtime.succeed("a")
        #expect(throws: TaskRuntimeError.duplicateTask(key: "a")) { try runtime.enqueue("a") }
        #expect(runtime.refusedTotal == 0, "a duplicate is not backpressure")
    }

    @Test("terminal tasks are forgotten beyond the history limit, and their keys may come back")
    func boundedHistory() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 8, maxQueued: 8, cancellationBudget: .zero),
            historyLimit: 2)
        for key in ["a", "b", "c"] { try runtime.enqueue(key) }
        _ = runtime.startAvailable(now: .zero)
        try runtime.succeed("a")
        try runtime.fail("b", reason: "boom")
        #expect(runtime.historyCount == 2)
        try runtime.succeed("c")
        #expect(runtime.historyCount == 2)
        #expect(runtime.state(key: "a") == nil, "the oldest terminal task is forgotten")
        #expect(runtime.state(key: "b") == .failed(seq: 2, reason: "boom"))
        #expect(throws: TaskRuntimeError.unknownTask(key: "a")) { try runtime.retry("a") }
        try runtime.enqueue("a")
        #expect(runtime.state(key: "a") == .queued(seq: 4))
        #expect(runtime.trackedCount == 3)
    }

    @Test("a history limit of zero forgets at once")
    func zeroHistory() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .zero),
            historyLimit: 0)
        try runtime.enqueue("a")
        _ = runtime.startAvailable(now: .zero)
        try runtime.succeed("a")
        #expect(runtime.state(key: "a") == nil)
        #expect(runtime.trackedCount == 0)
        #expect(runtime.succeededTotal == 1)
    }

    @Test("memory stays flat under endless traffic")
    func flatMemory() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 4, maxQueued: 16, cancellationBudget: .zero),
            historyLimit: 32)
        var started: [String] = []
        for i in 0..<20_000 {
            try runtime.enqueue("evt-\(i)", orderingKey: i % 3 == 0 ? nil : "key-\(i % 50)")
            if i % 4 == 3 {
                started.removeAll(keepingCapacity: true)
                runtime.startAvailable(now: GateInstant(nanoseconds: Int64(i)), into: &started)
                for key in started { try runtime.succeed(key) }
            }
        }
        #expect(runtime.trackedCount <= 16 + 4 + 32)
        #expect(runtime.slots.count <= 16 + 4 + 32, "the slab reuses freed records")
        #expect(runtime.lanes.count <= 16 + 4, "lanes are freed when their key has no work")
        #expect(runtime.laneByKey.count <= 16 + 4)
        #expect(runtime.admittedTotal == 20_000)
    }

    @Test("errors describe themselves and classify backpressure")
    func errorDescriptions() {
        let cases: [(TaskRuntimeError, String, Bool)] = [
            (.duplicateTask(key: "a"), #"task "a" is already tracked"#, false),
            (.queueSaturated(key: "a", maxQueued: 3), #"task "a" refused: queue is full (3 queued)"#, true),
            (.unknownTask(key: "a"), #"task "a" is unknown"#, false),
            (
                .invalidTransition(key: "a", state: .queued, action: .succeed),
                #"task "a" cannot succeed while queued"#, false
            ),
            (.cancelling(key: "a", reason: "shutdown"), #"task "a" refused: cancelling (shutdown)"#, true),
        ]
        for (error, text, backpressure) in cases {
            #expect(error.description == text)
            #expect(error.isBackpressure == backpressure)
            #expect(error.key == "a")
        }
    }
}
