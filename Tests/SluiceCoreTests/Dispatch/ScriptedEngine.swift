import Synchronization
@testable import SluiceCore

/// An engine that answers from a script, one answer per call, and records the calls.
final class ScriptedEngine: WorkflowEngine {
    enum Answer: Sendable {
        case outcome(Outcome.Kind, OutcomeReason? = nil)
        case error(EngineError)
        /// Never answers until the call is cancelled.
        case hang
        /// Waits until `release()` is called.
        case gate
        /// Waits until `release()` is called, then fails with the error.
        case gatedError(EngineError)
    }

    private struct State {
        var script: [Answer]
        var fallback: Answer
        var calls: [EngineCommand] = []
        var gates: [CheckedContinuation<Void, Never>] = []
        var permits = 0
        var callWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>

    init(_ script: [Answer] = [], otherwise fallback: Answer = .outcome(.accepted)) {
        state = Mutex(State(script: script, fallback: fallback))
    }

    var calls: [EngineCommand] { state.withLock { $0.calls } }

    func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let answer = state.withLock { state -> Answer in
            state.calls.append(command)
            let count = state.calls.count
            let ready = state.callWaiters.filter { $0.count <= count }
            state.callWaiters.removeAll { $0.count <= count }
            for waiter in ready { waiter.continuation.resume() }
            return state.script.isEmpty ? state.fallback : state.script.removeFirst()
        }
        switch answer {
        case .outcome(let kind, let reason):
            return Outcome(
                adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: kind,
                reason: reason, workflowID: command.target.workflowID, runID: "run-1")
        case .error(let error):
            throw error
        case .hang:
            // Hangs until the dispatcher cancels the call (this is the engine hanging, not a test waiting).
            try? await Task.sleep(for: .seconds(3_600))
            throw .retryable("timeout", "cancelled while hanging")
        case .gate:
            await waitForRelease()
            return Outcome(adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: .accepted)
        case .gatedError(let error):
            await waitForRelease()
            throw error
        }
    }

    private func waitForRelease() async {
        await withCheckedContinuation { continuation in
            let pass = state.withLock { state -> Bool in
                if state.permits > 0 {
                    state.permits -= 1
                    return true
                }
                state.gates.append(continuation)
                return false
            }
            if pass { continuation.resume() }
        }
    }

    func checkReadiness() async throws(EngineError) {}

    /// Lets `count` calls waiting (now or later) on `.gate` answer.
    func release(_ count: Int = 1) {
        let gates = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let opened = Array(state.gates.prefix(count))
            state.gates.removeFirst(opened.count)
            state.permits += count - opened.count
            return opened
        }
        for gate in gates { gate.resume() }
    }

    /// Returns once at least `count` calls have been made.
    func waitForCalls(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.calls.count >= count { return true }
                state.callWaiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
