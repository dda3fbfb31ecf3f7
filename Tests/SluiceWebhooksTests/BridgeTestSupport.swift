import Foundation
import SluiceCore
import SluiceTesting
import SluiceWebhooks
import Synchronization

/// A bridge executor over a real ledger, standing in for the pipeline: a decided key answers from the
/// ledger; otherwise the "engine" accepts, except `workflow_type: unknown.type` (rejected,
/// `unknown_target`), and the decision is recorded.
final class LedgerBridgeExecutor: BridgeExecutor {
    enum Mode: Sendable { case engine, saturated, timedOut, unavailable }

    let ledger: any OutcomeLedger
    let mode: Mode
    let adapterVersion: Int
    private let calls = Mutex<[Plan]>([])

    init(ledger: any OutcomeLedger, mode: Mode = .engine, adapterVersion: Int = 1) {
        self.ledger = ledger
        self.mode = mode
        self.adapterVersion = adapterVersion
    }

    var plans: [Plan] { calls.withLock { $0 } }

    func execute(_ plan: Plan) async -> SynchronousResult {
        calls.withLock { $0.append(plan) }
        switch mode {
        case .saturated: return .saturated(retryAfter: .seconds(2))
        case .timedOut: return .timedOut(retryAfter: .seconds(1))
        case .unavailable: return .unavailable(reason: "the ledger cannot be written")
        case .engine: break
        }
        do {
            if let known = try await ledger.decision(adapter: plan.adapter, idempotencyKey: plan.idempotencyKey) {
                return .outcome(known, firstDecision: false)
            }
            let command = plan.steps[0].command
            let target = command.target.bridgeJSON(for: command.action)
            var outcome = Outcome(
                adapter: plan.adapter, action: command.action.rawValue, idempotencyKey: plan.idempotencyKey,
                kind: .accepted, correlation: command.correlation.isEmpty ? nil : .object(command.correlation),
                target: target, workflowID: command.target.workflowID, runID: "run-1",
                workflowType: command.target.workflowType,
                controlPlaneOutcome: command.action == .startWorkflow ? "started_new" : "signal_received")
            if command.target.workflowType == "unknown.type" {
                outcome.kind = .rejected
                outcome.reason = .unknownTarget
                outcome.runID = nil
                outcome.controlPlaneOutcome = nil
            }
            switch try await ledger.record(outcome) {
            case .recorded: return .outcome(outcome, firstDecision: true)
            case .alreadyDecided(let first): return .outcome(first, firstDecision: false)
            }
        } catch {
            return .unavailable(reason: error.reason)
        }
    }
}
