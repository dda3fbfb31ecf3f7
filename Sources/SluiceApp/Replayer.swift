public import Foundation
public import SluiceCore

/// Re-drives dead letters (`sluice replay`): sends each stored command again, with the same
/// idempotency key and request id, so that the engine answers `duplicate` for whatever it already
/// did instead of doing it twice, then records the new decision and marks the letter re-driven.
public struct Replayer: Sendable {
    public let ledger: any OutcomeLedger
    public let now: @Sendable () -> Date

    public init(ledger: any OutcomeLedger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.now = now
    }

    /// What happened to one letter.
    public enum Result: Sendable, Hashable {
        /// The engine took it (accepted or duplicate); the letter is marked re-driven.
        case redriven(Outcome)
        /// The engine rejected it again; the letter stays.
        case rejectedAgain(Outcome)
        /// No answer from the engine; the letter stays.
        case failed(EngineError)
        /// The letter keeps no commands (it cannot be re-sent).
        case nothingToSend
    }

    /// The dead letters a replay would take: the oldest `limit` not yet re-driven, oldest first (a signal's
    /// letter after its workflow's start's).
    public func letters(adapter: String?, since: Date?, limit: Int = 1000) async throws(LedgerError) -> [DeadLetter] {
        try await ledger.deadLetters(DeadLetterQuery(adapter: adapter, since: since, limit: limit, oldestFirst: true))
    }

    /// One line saying what a replay would send for a letter.
    public static func describe(_ letter: DeadLetter) -> String {
        let reason = letter.outcome.reason?.rawValue ?? letter.outcome.kind.rawValue
        let commands = letter.content.commands.map { command in
            let target = command.target.workflowID ?? command.target.workflowType ?? "?"
            return "\(command.action.rawValue) \(target) (request \(command.requestID))"
        }
        return "#\(letter.id) \(letter.adapter) \(letter.idempotencyKey) [\(reason)] → "
            + (commands.isEmpty ? "nothing to send" : commands.joined(separator: ", "))
    }

    /// Re-sends one letter's commands in order, stopping at the first rejection.
    public func replay(_ letter: DeadLetter, engine: any WorkflowEngine) async throws(LedgerError) -> Result {
        guard !letter.content.commands.isEmpty else { return .nothingToSend }
        var steps: [StepReport] = []
        var last: Outcome?
        for (index, command) in letter.content.commands.enumerated() {
            let started = ContinuousClock.now
            let outcome: Outcome
            do {
                outcome = try await engine.execute(command, adapter: letter.adapter)
            } catch {
                return .failed(error)
            }
            let elapsed = ContinuousClock.now - started
            steps.append(
                StepReport(
                    id: "replay-\(index + 1)", action: command.action.rawValue, requestID: command.requestID,
                    status: outcome.kind == .rejected ? .failed : .succeeded, attempts: 1,
                    durationMilliseconds: elapsed.timeInterval * 1000, outcome: outcome.kind, reason: outcome.reason))
            last = outcome
            if outcome.kind == .rejected { break }
        }
        guard var decided = last else { return .nothingToSend }
        if var details = letter.outcome.sluice {
            details.attempts += steps.count
            details.steps = steps
            details.decidedAt = now()
            decided.sluice = details
        }
        if decided.kind == .rejected { return .rejectedAgain(decided) }
        try await ledger.markRedriven(deadLetterID: letter.id, outcome: decided)
        return .redriven(decided)
    }
}
