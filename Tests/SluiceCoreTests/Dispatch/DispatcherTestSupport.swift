import Foundation
import Synchronization
@testable import SluiceCore

/// A completion whose "ledger write" is held until the test releases it: what it received, and whether
/// its task was cancelled while it recorded.
final class HeldRecording: Sendable {
    private let started = AsyncStream.makeStream(of: Void.self)
    private let released = AsyncStream.makeStream(of: Void.self)
    private let recorded = Mutex<(result: DispatchResult?, cancelled: Bool)>((nil, false))

    var completion: @Sendable (DispatchResult) async -> Void {
        { result in
            self.started.continuation.yield()
            for await _ in self.released.stream { break }  // the ledger write, still in progress
            self.recorded.withLock { $0 = (result, Task.isCancelled) }
        }
    }

    /// Returns once the completion has the result and is recording it.
    func waitUntilRecording() async {
        for await _ in started.stream { break }
    }

    /// Lets the recording finish.
    func release() {
        released.continuation.yield()
        released.continuation.finish()
    }

    var result: DispatchResult? { recorded.withLock { $0.result } }
    var wasCancelled: Bool { recorded.withLock { $0.cancelled } }
}

/// Collects dispatch results and lets a test await them.
final class ResultBox: Sendable {
    private let state = Mutex<(results: [String: DispatchResult], order: [String], waiters: [(String, CheckedContinuation<DispatchResult, Never>)])>(([:], [], []))

    func completion(for key: String) -> @Sendable (DispatchResult) async -> Void {
        { result in
            let waiters = self.state.withLock { state -> [CheckedContinuation<DispatchResult, Never>] in
                precondition(state.results[key] == nil, "two results for \(key)")
                state.results[key] = result
                state.order.append(key)
                let ready = state.waiters.filter { $0.0 == key }.map(\.1)
                state.waiters.removeAll { $0.0 == key }
                return ready
            }
            for waiter in waiters { waiter.resume(returning: result) }
        }
    }

    /// The result of `key`, once it arrives.
    func result(_ key: String) async -> DispatchResult {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> DispatchResult? in
                if let result = state.results[key] { return result }
                state.waiters.append((key, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    var order: [String] { state.withLock { $0.order } }
    var count: Int { state.withLock { $0.results.count } }
}

enum PlanFactory {
    static func command(_ action: EngineCommand.Action = .startWorkflow, key: String, step: String) -> EngineCommand {
        EngineCommand(
            action: action, target: CommandTarget(workflowID: "wf-\(key)", workflowType: "t", signalName: action == .signalWorkflow ? "s" : nil),
            idempotencyKey: key, requestID: "req-\(key)-\(step)")
    }

    static func plan(
        _ key: String, orderingKey: String? = nil, version: Int = 1,
        steps: [(id: String, needs: [String], action: EngineCommand.Action)] = [("1", [], .startWorkflow)]
    ) -> Plan {
        Plan(
            adapter: "orders", adapterVersion: version, rule: "r", eventID: "evt-\(key)", eventType: "order.created",
            idempotencyKey: key, orderingKey: orderingKey,
            steps: steps.map { PlanStep(id: $0.id, needs: $0.needs, command: command($0.action, key: key, step: $0.id)) },
            sourcePosition: .inbox(id: 1), receivedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }
}

/// Runs a dispatcher for the duration of `body`, then finishes it and waits for it to stop.
func withDispatcher<T: Sendable>(
    engine: ScriptedEngine, boundary: Boundary = Boundary(mode: .pushPull, maxInFlight: 4, maxQueued: 16, cancellationBudget: .seconds(2)),
    retry: RetryPolicy = .default, version: @escaping @Sendable () -> Int = { 1 },
    _ body: (Dispatcher, ManualClock) async throws -> T
) async throws -> T {
    let clock = ManualClock()
    let dispatcher = Dispatcher(
        adapter: "orders", boundary: boundary, retry: retry, engine: engine, clock: clock, currentVersion: version,
        jitterSeed: 42)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await dispatcher.run() }
        do {
            let value = try await body(dispatcher, clock)
            await dispatcher.finish()
            try await group.waitForAll()
            return value
        } catch {
            await dispatcher.finish()
            group.cancelAll()
            throw error
        }
    }
}
