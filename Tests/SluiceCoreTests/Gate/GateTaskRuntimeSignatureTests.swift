import Testing

@testable import SluiceCore

/// Golden `signature` fixtures: the text is part of the contract (fixtures compare it verbatim).
@Suite("TaskRuntime signature")
struct GateTaskRuntimeSignatureTests {
    @Test("an empty default runtime")
    func empty() {
        #expect(
            TaskRuntime().signature == """
                boundary push-pull maxInFlight=64 maxQueued=10000 budget=2000000000ns history=1024
                phase accepting
                counts queued=0 inFlight=0 history=0 admitted=0 refused=0 succeeded=0 failed=0 cancelled=0 abandoned=0
                ready []
                """)
    }

    @Test("every state, ordering keys, a pending cancellation")
    func everyState() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushOnly, maxInFlight: 2, maxQueued: 3, cancellationBudget: .milliseconds(5)),
            historyLimit: 4)
        try runtime.enqueue("ok", orderingKey: "order-1")
        try runtime.enqueue("bad")
        try runtime.enqueue("next", orderingKey: "order-1")
        _ = runtime.startAvailable(now: GateInstant(nanoseconds: 1_000))
        try runtime.succeed("ok")
        try runtime.fail("bad", reason: "engine said \"no\"")
        try runtime.enqueue("late")
        try runtime.enqueue("dropped")
        try runtime.cancel("dropped", reason: "deadline")
        _ = runtime.startAvailable(now: GateInstant(nanoseconds: 2_000))
        _ = try runtime.requestCancellation("next", reason: "deadline", now: GateInstant(nanoseconds: 3_000))
        try runtime.enqueue("waiting", orderingKey: "order-1")
        #expect(
            runtime.signature == #"""
                boundary push-only maxInFlight=2 maxQueued=3 budget=5000000ns history=4
                phase accepting
                counts queued=1 inFlight=2 history=3 admitted=6 refused=0 succeeded=1 failed=1 cancelled=1 abandoned=0
                ready []
                "ok" order="order-1" succeeded(seq: 1)
                "bad" order=- failed(seq: 2, reason: "engine said \"no\"")
                "next" order="order-1" inFlight(seq: 3, startedAt: 2000ns) drainBy=5003000ns reason="deadline"
                "late" order=- inFlight(seq: 4, startedAt: 2000ns)
                "dropped" order=- cancelled(seq: 5, reason: "deadline")
                "waiting" order="order-1" queued(seq: 6)
                """#)
    }

    @Test("cancelling, abandoned and refused")
    func cancelling() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 2, cancellationBudget: .nanoseconds(10)),
            historyLimit: 8)
        try runtime.enqueue("a")
        try runtime.enqueue("b")
        _ = runtime.startAvailable(now: GateInstant(nanoseconds: 5))
        _ = runtime.beginCancellation(reason: "partition revoked", now: GateInstant(nanoseconds: 6))
        #expect(throws: TaskRuntimeError.self) { try runtime.enqueue("c") }
        _ = runtime.expireCancellation(now: GateInstant(nanoseconds: 16))
        #expect(
            runtime.signature == #"""
                boundary pull-only maxInFlight=1 maxQueued=2 budget=10ns history=8
                phase cancelling reason="partition revoked" deadline=16ns
                counts queued=0 inFlight=0 history=2 admitted=2 refused=1 succeeded=0 failed=0 cancelled=2 abandoned=1
                ready []
                "a" order=- cancelled(seq: 1, reason: "partition revoked")
                "b" order=- cancelled(seq: 2, reason: "partition revoked")
                """#)
    }

    @Test("the ready queue in start order")
    func readyQueue() throws {
        var runtime = TaskRuntime(
            boundary: Boundary(mode: .pushPull, maxInFlight: 1, maxQueued: 5, cancellationBudget: .zero),
            historyLimit: 0)
        try runtime.enqueue("a1", orderingKey: "a")
        try runtime.enqueue("a2", orderingKey: "a")
        try runtime.enqueue("b1", orderingKey: "b")
        try runtime.enqueue("n")
        #expect(runtime.signature.split(separator: "\n")[3] == #"ready ["a1", "b1", "n"]"#)
        _ = runtime.startAvailable(now: .zero)
        try runtime.succeed("a1")
        #expect(runtime.signature.split(separator: "\n")[3] == #"ready ["b1", "n", "a2"]"#)
    }
}
