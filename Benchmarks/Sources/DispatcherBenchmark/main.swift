import Foundation
import SluiceCore
import Synchronization

// Dispatcher overhead per event, release build: plans through the gate (admission, runtime,
// per-step execution, outcome and report assembly, completion) against an in-process engine that
// answers at once. Baseline in the same run: calling that engine directly for the same commands.

struct InstantEngine: WorkflowEngine {
    func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        Outcome(adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: .accepted, workflowID: command.target.workflowID)
    }
    func checkReadiness() async throws(EngineError) {}
}

func plan(_ index: Int) -> Plan {
    let key = "evt-\(index)"
    let command = EngineCommand(
        action: .startWorkflow, target: CommandTarget(workflowID: "order-\(index)", workflowType: "orders.fulfillment"),
        input: [["order_id": .int(Int64(index))]], idempotencyKey: key, requestID: "req-\(index)")
    return Plan(adapter: "bench", adapterVersion: 1, rule: "r", eventID: key, eventType: "t", idempotencyKey: key, orderingKey: nil, steps: [PlanStep(id: "1", needs: [], command: command)])
}

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let plans = (0..<count).map(plan)
let engine = InstantEngine()
let clock = ContinuousClock()

func baseline() async -> Duration {
    let start = clock.now
    var accepted = 0
    for plan in plans {
        if let outcome = try? await engine.execute(plan.steps[0].command, adapter: "bench"), outcome.accepted { accepted += 1 }
    }
    precondition(accepted == count)
    return start.duration(to: clock.now)
}

final class Countdown: Sendable {
    private let state: Mutex<(remaining: Int, continuation: CheckedContinuation<Void, Never>?)>
    init(_ count: Int) { state = Mutex((count, nil)) }
    func done() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.remaining -= 1
            return state.remaining == 0 ? state.continuation : nil
        }
        continuation?.resume()
    }
    func wait() async {
        await withCheckedContinuation { continuation in
            let finished = state.withLock { state -> Bool in
                if state.remaining == 0 { return true }
                state.continuation = continuation
                return false
            }
            if finished { continuation.resume() }
        }
    }
}

/// Pushes every plan through one dispatcher, keeping the queue full (like a busy source).
func dispatcher(maxInFlight: Int) async -> Duration {
    let boundary = Boundary(mode: .pushPull, maxInFlight: maxInFlight, maxQueued: 10_000, cancellationBudget: .seconds(2))
    let dispatcher = Dispatcher(adapter: "bench", boundary: boundary, retry: .default, engine: engine, clock: clock, currentVersion: { 1 }, historyLimit: 1_024)
    let countdown = Countdown(count)
    let start = clock.now
    await withDiscardingTaskGroup { group in
        group.addTask { await dispatcher.run() }
        var next = 0
        while next < count {
            do {
                try await dispatcher.submit(plans[next], completion: { result in
                    precondition(result.outcome?.accepted == true)
                    countdown.done()
                })
                next += 1
            } catch {
                await dispatcher.waitForPullCapacity()
            }
        }
        await countdown.wait()
        await dispatcher.finish()
    }
    return start.duration(to: clock.now)
}

func microseconds(_ duration: Duration) -> Double { duration.secondsDouble * 1e6 / Double(count) }

print("Dispatcher benchmark: \(count) one-step plans, in-process engine answering at once, release build")
var rows: [String] = []
var best: [String: Double] = [:]
for round in 1...3 {
    let direct = microseconds(await baseline())
    best["direct", default: .infinity] = min(best["direct", default: .infinity], direct)
    for limit in [1, 64] {
        let through = microseconds(await dispatcher(maxInFlight: limit))
        best["d\(limit)", default: .infinity] = min(best["d\(limit)", default: .infinity], through)
    }
    print("  round \(round): direct \(String(format: "%.2f", direct)) µs/event")
}
let direct = best["direct"]!
print("")
print("| path | µs per event | overhead vs direct call |")
print("| --- | ---: | ---: |")
print("| baseline: direct `engine.execute` | \(String(format: "%.2f", direct)) | — |")
for limit in [1, 64] {
    let value = best["d\(limit)"]!
    print("| dispatcher, max_in_flight \(limit) | \(String(format: "%.2f", value)) | +\(String(format: "%.2f", value - direct)) µs |")
}
