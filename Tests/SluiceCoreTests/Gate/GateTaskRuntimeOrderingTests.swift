import Testing

@testable import SluiceCore

/// FIFO per ordering key, parallelism across keys, no ordering for nil keys.
@Suite("TaskRuntime ordering")
struct GateTaskRuntimeOrderingTests {
    static func runtime(maxInFlight: Int = 8, maxQueued: Int = 100_000) -> TaskRuntime {
        TaskRuntime(
            boundary: Boundary(
                mode: .pullOnly, maxInFlight: maxInFlight, maxQueued: maxQueued, cancellationBudget: .zero))
    }

    @Test("one key: one task in flight at a time, in admission order")
    func fifoPerKey() throws {
        var runtime = Self.runtime()
        for key in ["a1", "a2", "a3"] { try runtime.enqueue(key, orderingKey: "a") }
        #expect(runtime.startAvailable(now: .zero) == ["a1"])
        #expect(runtime.startAvailable(now: .zero) == [])
        try runtime.succeed("a1")
        #expect(runtime.startAvailable(now: .zero) == ["a2"])
        try runtime.fail("a2", reason: "boom")
        #expect(runtime.startAvailable(now: .zero) == ["a3"])
        try runtime.retry("a2")
        try runtime.cancel("a3", reason: "stop")
        #expect(runtime.startAvailable(now: .zero) == ["a2"], "a retried task waits behind the key's earlier tasks")
    }

    @Test("different keys and unordered tasks run in parallel")
    func parallelAcrossKeys() throws {
        var runtime = Self.runtime(maxInFlight: 4)
        try runtime.enqueue("a1", orderingKey: "a")
        try runtime.enqueue("a2", orderingKey: "a")
        try runtime.enqueue("b1", orderingKey: "b")
        try runtime.enqueue("n1")
        try runtime.enqueue("n2")
        #expect(runtime.startAvailable(now: .zero) == ["a1", "b1", "n1", "n2"])
    }

    @Test("a busy key does not block the queue behind it, and nothing is scanned")
    func noHeadOfLineBlocking() throws {
        var runtime = Self.runtime(maxInFlight: 2)
        for i in 0..<10_000 { try runtime.enqueue("hot-\(i)", orderingKey: "hot") }
        try runtime.enqueue("cold")
        #expect(runtime.startAvailable(now: .zero) == ["hot-0", "cold"])
        #expect(runtime.ready.count == 0, "the hot key's waiting tasks stay in its lane, not the ready queue")
        #expect(runtime.lanes[Int(runtime.laneByKey["hot"]!)].pending.count == 9_999)
        try runtime.succeed("hot-0")
        #expect(runtime.ready.count == 1, "completing promotes exactly the lane's next task")
        #expect(runtime.startAvailable(now: .zero) == ["hot-1"])
    }

    @Test("cancelling a key's ready task promotes its next task; cancelling a waiting one does not")
    func cancelInsideALane() throws {
        var runtime = Self.runtime(maxInFlight: 1)
        try runtime.enqueue("x")
        for key in ["a1", "a2", "a3"] { try runtime.enqueue(key, orderingKey: "a") }
        #expect(runtime.startAvailable(now: .zero) == ["x"])
        try runtime.cancel("a2", reason: "stop")
        try runtime.cancel("a1", reason: "stop")
        try runtime.succeed("x")
        #expect(runtime.startAvailable(now: .zero) == ["a3"])
        try runtime.succeed("a3")
        #expect(runtime.laneByKey.isEmpty, "an idle key's lane is freed")
    }

    @Test("ready tasks start in the order they became ready")
    func readinessOrder() throws {
        var runtime = Self.runtime(maxInFlight: 1)
        try runtime.enqueue("a1", orderingKey: "a")
        try runtime.enqueue("a2", orderingKey: "a")
        try runtime.enqueue("b1", orderingKey: "b")
        #expect(runtime.startAvailable(now: .zero) == ["a1"])
        try runtime.succeed("a1")
        // a2 became ready after b1: b1 goes first.
        #expect(runtime.startAvailable(now: .zero) == ["b1"])
        try runtime.succeed("b1")
        #expect(runtime.startAvailable(now: .zero) == ["a2"])
    }

    @Test("startAvailable(now:into:) appends to the caller's buffer")
    func startIntoBuffer() throws {
        var runtime = Self.runtime(maxInFlight: 2)
        for key in ["a", "b", "c"] { try runtime.enqueue(key) }
        var started = ["earlier"]
        #expect(runtime.startAvailable(now: .zero, into: &started) == 2)
        #expect(started == ["earlier", "a", "b"])
        #expect(runtime.startAvailable(now: .zero, into: &started) == 0)
    }
}
