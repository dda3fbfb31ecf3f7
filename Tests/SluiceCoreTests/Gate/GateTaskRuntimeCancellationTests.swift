import Testing

@testable import SluiceCore

/// Cancellation budgets: whole-runtime cancellation, per-task deadlines, abandonment.
@Suite("TaskRuntime cancellation budgets")
struct GateTaskRuntimeCancellationTests {
    static func at(_ nanoseconds: Int64) -> GateInstant { GateInstant(nanoseconds: nanoseconds) }

    /// Two in flight (f1, f2), two queued (q1, q2 behind f1's key).
    static func busyRuntime() throws -> TaskRuntime {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 10, cancellationBudget: .nanoseconds(100)))
        try runtime.enqueue("f1", orderingKey: "k")
        try runtime.enqueue("f2")
        try runtime.enqueue("q1", orderingKey: "k")
        try runtime.enqueue("q2")
        #expect(runtime.startAvailable(now: at(10)) == ["f1", "f2"])
        return runtime
    }

    @Test("beginCancellation cancels the queue at once and gives in-flight work the budget")
    func beginCancellation() throws {
        var runtime = try Self.busyRuntime()
        let actions = runtime.beginCancellation(reason: "shutdown", now: Self.at(50))
        #expect(actions.cancelled == ["q1", "q2"])
        #expect(actions.draining == ["f1", "f2"])
        #expect(actions.deadline == Self.at(150))
        #expect(runtime.state(key: "q1") == .cancelled(seq: 3, reason: "shutdown"))
        #expect(runtime.queuedCount == 0)
        #expect(runtime.isCancelling)
        #expect(runtime.cancellationReason == "shutdown")
        #expect(runtime.nextCancellationDeadline == Self.at(150))
        #expect(runtime.pullCapacity == 0)

        // Intake is refused while cancelling, enqueue and retry alike.
        #expect(throws: TaskRuntimeError.cancelling(key: "new", reason: "shutdown")) { try runtime.enqueue("new") }
        #expect(throws: TaskRuntimeError.cancelling(key: "q1", reason: "shutdown")) { try runtime.retry("q1") }
        #expect(runtime.refusedTotal == 2)

        // In-flight work may still finish within the budget.
        try runtime.succeed("f1")
        #expect(runtime.expireCancellation(now: Self.at(149)) == [])

        // At the deadline what is left is abandoned: cancelled, reported, never acked.
        #expect(runtime.expireCancellation(now: Self.at(150)) == ["f2"])
        #expect(runtime.state(key: "f2") == .cancelled(seq: 2, reason: "shutdown"))
        #expect(runtime.abandonedTotal == 1)
        #expect(runtime.cancelledTotal == 3)
        #expect(runtime.inFlightCount == 0)
        #expect(runtime.nextCancellationDeadline == nil)

        // A late completion of abandoned work is refused, so the owner does not ack it.
        #expect(throws: TaskRuntimeError.invalidTransition(key: "f2", state: .cancelled, action: .succeed)) {
            try runtime.succeed("f2")
        }
    }

    @Test("a task whose result is in is not abandoned while its owner records it")
    func withdrawnCancellation() throws {
        var runtime = try Self.busyRuntime()
        _ = runtime.beginCancellation(reason: "shutdown", now: Self.at(50))
        runtime.withdrawCancellation("f1")
        runtime.withdrawCancellation("q1")  // cancelled already: nothing to withdraw
        #expect(runtime.nextCancellationDeadline == Self.at(150))
        #expect(runtime.expireCancellation(now: Self.at(150)) == ["f2"])
        #expect(runtime.abandonedTotal == 1)
        try runtime.succeed("f1")
        #expect(runtime.state(key: "f1") == .succeeded(seq: 1))
        #expect(runtime.inFlightCount == 0)
    }

    @Test("a second beginCancellation keeps the first reason and deadline")
    func beginCancellationTwice() throws {
        var runtime = try Self.busyRuntime()
        _ = runtime.beginCancellation(reason: "rebalance", now: Self.at(20))
        let again = runtime.beginCancellation(reason: "shutdown", now: Self.at(90))
        #expect(
            again == TaskRuntime.CancellationActions(cancelled: [], draining: ["f1", "f2"], deadline: Self.at(120)))
        #expect(runtime.cancellationReason == "rebalance")
    }

    @Test("reopen admits work again; deadlines already given stand")
    func reopen() throws {
        var runtime = try Self.busyRuntime()
        _ = runtime.beginCancellation(reason: "rebalance", now: Self.at(20))
        runtime.reopen()
        #expect(!runtime.isCancelling)
        try runtime.enqueue("n1")
        #expect(runtime.startAvailable(now: Self.at(30)) == [], "both slots are still taken by draining work")
        #expect(runtime.expireCancellation(now: Self.at(120)) == ["f1", "f2"])
        #expect(runtime.startAvailable(now: Self.at(121)) == ["n1"])
        runtime.reopen()
        #expect(!runtime.isCancelling, "reopen when accepting does nothing")
    }

    @Test("per-task cancellation: queued at once, in flight within the budget, earlier deadline kept")
    func requestCancellation() throws {
        var runtime = try Self.busyRuntime()
        #expect(try runtime.requestCancellation("q1", reason: "deadline", now: Self.at(20)) == .cancelled)
        #expect(runtime.state(key: "q1") == .cancelled(seq: 3, reason: "deadline"))
        #expect(
            try runtime.requestCancellation("f1", reason: "deadline", now: Self.at(20))
                == .draining(deadline: Self.at(120)))
        #expect(
            try runtime.requestCancellation("f1", reason: "later", now: Self.at(60))
                == .draining(deadline: Self.at(120)),
            "a deadline is never extended")
        #expect(runtime.nextCancellationDeadline == Self.at(120))
        #expect(!runtime.isCancelling, "per-task cancellation keeps the runtime open")
        try runtime.enqueue("n1")

        // A whole-runtime cancellation later keeps f1's earlier deadline and gives f2 its own.
        let actions = runtime.beginCancellation(reason: "shutdown", now: Self.at(100))
        #expect(actions.deadline == Self.at(200))
        #expect(actions.cancelled == ["q2", "n1"])
        #expect(runtime.expireCancellation(now: Self.at(120)) == ["f1"])
        #expect(runtime.state(key: "f1") == .cancelled(seq: 1, reason: "deadline"))
        #expect(runtime.expireCancellation(now: Self.at(200)) == ["f2"])
        #expect(runtime.state(key: "f2") == .cancelled(seq: 2, reason: "shutdown"))
    }

    @Test("an abandoned task frees its ordering key for the next task")
    func abandonPromotesLane() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 2, maxQueued: 10, cancellationBudget: .nanoseconds(5)))
        try runtime.enqueue("a1", orderingKey: "a")
        try runtime.enqueue("a2", orderingKey: "a")
        #expect(runtime.startAvailable(now: Self.at(0)) == ["a1"])
        _ = try runtime.requestCancellation("a1", reason: "deadline", now: Self.at(0))
        #expect(runtime.expireCancellation(now: Self.at(5)) == ["a1"])
        #expect(runtime.startAvailable(now: Self.at(6)) == ["a2"])
    }

    @Test("a zero budget abandons in-flight work at the next expiry")
    func zeroBudget() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 1, cancellationBudget: .zero))
        try runtime.enqueue("a")
        _ = runtime.startAvailable(now: Self.at(10))
        let actions = runtime.beginCancellation(reason: "shutdown", now: Self.at(10))
        #expect(actions.deadline == Self.at(10))
        #expect(runtime.expireCancellation(now: Self.at(10)) == ["a"])
    }

    @Test("nothing is lost: every task is completed or reported cancelled")
    func nothingLost() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 3, maxQueued: 50, cancellationBudget: .nanoseconds(10)))
        var admitted: Set<String> = []
        for i in 0..<40 {
            let key = "e\(i)"
            try runtime.enqueue(key, orderingKey: i % 4 == 0 ? nil : "k\(i % 5)")
            admitted.insert(key)
        }
        var completed: Set<String> = []
        for key in runtime.startAvailable(now: Self.at(0)) {
            try runtime.succeed(key)
            completed.insert(key)
        }
        let started = runtime.startAvailable(now: Self.at(1))
        let actions = runtime.beginCancellation(reason: "shutdown", now: Self.at(2))
        #expect(Set(actions.draining) == Set(started))
        try runtime.succeed(started[0])
        completed.insert(started[0])
        let abandoned = runtime.expireCancellation(now: actions.deadline)
        let reported = completed.union(actions.cancelled).union(abandoned)
        #expect(reported == admitted)
        #expect(completed.isDisjoint(with: actions.cancelled) && completed.isDisjoint(with: abandoned))
        #expect(Set(actions.cancelled).isDisjoint(with: abandoned))
        #expect(runtime.queuedCount == 0 && runtime.inFlightCount == 0)
    }
}
