public import Foundation

/// The progress of one plan: which steps may run, which are done, and the event's outcome once
/// every step is settled. A pure state machine; the dispatcher performs the engine calls it asks for.
///
/// A step runs when every step it `needs` has succeeded. When a step fails, every step that needs
/// it (directly or not) is skipped. Steps that do not depend on each other may run at once.
public struct PlanExecution: Sendable {
    /// Where a step stands.
    public enum StepState: Sendable, Hashable {
        case pending
        case running
        case succeeded(Outcome)
        /// Rejected by the engine, or out of attempts; the reason and what happened.
        case failed(reason: OutcomeReason, message: String, outcome: Outcome?)
        /// Not run because a step it needs failed.
        case skipped
    }

    /// What the dispatcher recorded about a step's attempts.
    public struct StepTiming: Sendable, Hashable {
        public var attempts = 0
        public var firstStart: Date?
        public var lastAnswer: Date?
        public var lastError: String?

        public init() {}
    }

    public let plan: Plan
    public private(set) var states: [StepState]
    public internal(set) var timings: [StepTiming]

    public init(plan: Plan) {
        self.plan = plan
        self.states = Array(repeating: .pending, count: plan.steps.count)
        self.timings = Array(repeating: StepTiming(), count: plan.steps.count)
    }

    /// The position of the step `id` (plans have a handful of steps: a linear search is fastest).
    private func index(of id: String) -> Int? {
        plan.steps.firstIndex { $0.id == id }
    }

    /// Steps that may start now; they are marked running.
    public mutating func startReadySteps() -> [Int] {
        var ready: [Int] = []
        for (offset, step) in plan.steps.enumerated() where states[offset] == .pending {
            let needsMet = step.needs.allSatisfy { need in
                guard let index = index(of: need), case .succeeded = states[index] else { return false }
                return true
            }
            if needsMet {
                states[offset] = .running
                ready.append(offset)
            }
        }
        return ready
    }

    /// Records a step's success.
    public mutating func stepSucceeded(_ step: Int, outcome: Outcome, at now: Date) {
        precondition(states[step] == .running, "step \(step) is not running")
        states[step] = .succeeded(outcome)
        // The time of the step's own last answer, when the dispatcher noted it: steps that ran side by side finish
        // together, each at its own moment.
        timings[step].lastAnswer = timings[step].lastAnswer ?? now
    }

    /// Records a step's failure and skips every step that depends on it.
    public mutating func stepFailed(_ step: Int, reason: OutcomeReason, message: String, outcome: Outcome?, at now: Date) {
        precondition(states[step] == .running, "step \(step) is not running")
        states[step] = .failed(reason: reason, message: message, outcome: outcome)
        timings[step].lastAnswer = timings[step].lastAnswer ?? now
        timings[step].lastError = timings[step].lastError ?? message
        var changed = true
        while changed {
            changed = false
            for (offset, candidate) in plan.steps.enumerated() where states[offset] == .pending {
                let blocked = candidate.needs.contains { need in
                    guard let index = index(of: need) else { return true }
                    switch states[index] {
                    case .failed, .skipped: return true
                    default: return false
                    }
                }
                if blocked {
                    states[offset] = .skipped
                    changed = true
                }
            }
        }
    }

    /// Whether every step is settled (succeeded, failed or skipped).
    public var isFinished: Bool {
        states.allSatisfy { $0 != .pending && $0 != .running }
    }


    /// The execution report: one entry per step.
    public func report(cancelled: Bool = false) -> [StepReport] {
        plan.steps.enumerated().map { offset, step in
            let timing = timings[offset]
            let duration = timing.firstStart.map { start in
                ((timing.lastAnswer ?? start).timeIntervalSince(start)) * 1000
            } ?? 0
            var report = StepReport(
                id: step.id, action: step.command.action.rawValue, requestID: step.command.requestID,
                status: .skipped, attempts: timing.attempts, durationMilliseconds: max(0, duration),
                lastError: timing.lastError)
            switch states[offset] {
            case .succeeded(let outcome):
                report.status = .succeeded
                report.outcome = outcome.kind
                report.reason = outcome.reason
                report.lastError = nil
            case .failed(let reason, _, let outcome):
                report.status = .failed
                report.outcome = outcome?.kind ?? .rejected
                report.reason = reason
            case .skipped:
                report.status = .skipped
                report.reason = .dependencyFailed
            case .pending, .running:
                report.status = cancelled ? .cancelled : .skipped
            }
            return report
        }
    }

    /// The event's outcome, once ``isFinished``.
    ///
    /// With a failed step, the outcome is that step's: `rejected` with its reason. Otherwise it is
    /// the last step's answer, `accepted` when any step was accepted, else `duplicate`. Either way
    /// it carries the plan's idempotency key and the execution report under `sluice`.
    public func outcome(decidedAt: Date) -> Outcome {
        let report = report()
        let details = OutcomeDetails(
            eventID: plan.eventID, eventType: plan.eventType, sourcePosition: plan.sourcePosition,
            adapterVersion: plan.adapterVersion, rule: plan.rule, attempts: timings.reduce(0) { $0 + $1.attempts },
            steps: report, receivedAt: plan.receivedAt,
            decidedAt: decidedAt)
        for (offset, state) in states.enumerated() {
            guard case .failed(let reason, let message, let engineOutcome) = state else { continue }
            let command = plan.steps[offset].command
            var outcome = engineOutcome ?? Outcome(
                adapter: plan.adapter, action: command.action.rawValue, idempotencyKey: plan.idempotencyKey,
                kind: .rejected, reason: reason, correlation: .object(command.correlation), message: message,
                target: command.target.bridgeJSON(for: command.action), workflowID: command.target.workflowID,
                workflowType: command.target.workflowType)
            outcome.kind = .rejected
            outcome.reason = reason
            outcome.message = outcome.message ?? message
            outcome.idempotencyKey = plan.idempotencyKey
            outcome.sluice = details
            return outcome
        }
        var succeeded: [Outcome] = []
        for state in states { if case .succeeded(let outcome) = state { succeeded.append(outcome) } }
        guard var outcome = succeeded.last else {
            return Outcome(
                adapter: plan.adapter, action: "none", idempotencyKey: plan.idempotencyKey, kind: .rejected,
                reason: .malformedPayload, message: "the plan has no steps", sluice: details)
        }
        if outcome.kind != .accepted, succeeded.contains(where: { $0.kind == .accepted }) {
            // An earlier step took effect: the event is accepted, and the last step's duplicate reason
            // (`duplicate_start`, …) does not describe it.
            outcome.kind = .accepted
            outcome.reason = nil
        }
        outcome.idempotencyKey = plan.idempotencyKey
        outcome.sluice = details
        return outcome
    }
}
