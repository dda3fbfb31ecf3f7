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

    /// The dead letters a replay would take: the oldest `limit` not yet re-driven that keep commands to send,
    /// oldest first (a signal's letter after its workflow's start's).
    public struct Selection: Sendable {
        /// The letters to send, oldest first.
        public var letters: [DeadLetter]
        /// Letters passed over because they keep no commands (an unmatched event kept for inspection): they are
        /// never re-driven, so they stay at the head of the queue, and are walked past rather than counted
        /// against the limit, so that they cannot hide the letters behind them.
        public var keptWithoutCommands: Int
    }

    /// The letters to send: see ``Selection``.
    public func letters(adapter: String?, since: Date?, limit: Int = 1000) async throws(LedgerError) -> Selection {
        var selection = Selection(letters: [], keptWithoutCommands: 0)
        let pageSize = min(limit, 1000)
        var after: Int64?
        while selection.letters.count < limit {
            let page = try await ledger.deadLetters(
                DeadLetterQuery(adapter: adapter, since: since, limit: pageSize, oldestFirst: true, afterID: after))
            for letter in page where selection.letters.count < limit {
                if letter.content.commands.isEmpty { selection.keptWithoutCommands += 1 } else { selection.letters.append(letter) }
            }
            guard page.count == pageSize, let last = page.last else { break }
            after = last.id
        }
        return selection
    }

    /// Stores on the letter the steps this replay got through (`steps`, the letter's earlier ones included), when it got
    /// through any: the letter's step reports of the same request ids are replaced by them.
    private func keepProgress(_ steps: [StepReport], of letter: DeadLetter) async throws(LedgerError) {
        guard var details = letter.outcome.sluice else { return }
        let succeeded = Dictionary(
            steps.filter { $0.status == .succeeded }.map { ($0.requestID, $0) }, uniquingKeysWith: { first, _ in first })
        var updated = details.steps.map { step in step.status == .succeeded ? step : succeeded[step.requestID] ?? step }
        let known = Set(details.steps.map(\.requestID))
        updated += steps.filter { $0.status == .succeeded && !known.contains($0.requestID) }
        guard updated != details.steps else { return }
        details.steps = updated
        var outcome = letter.outcome
        outcome.sluice = details
        try await ledger.keepReplayProgress(deadLetterID: letter.id, outcome: outcome)
    }

    /// One line saying what a replay would send for a letter.
    public static func describe(_ letter: DeadLetter) -> String {
        let reason = letter.outcome.reason?.rawValue ?? letter.outcome.kind.rawValue
        let commands = letter.content.commands.map { command in
            let target = command.target.workflowID ?? command.target.workflowType ?? "?"
            return "\(command.action.rawValue) \(target) (request \(command.requestID))"
        }
        return TerminalText.escaped(
            "#\(letter.id) \(letter.adapter) \(letter.idempotencyKey) [\(reason)] → "
                + (commands.isEmpty ? "nothing to send" : commands.joined(separator: ", ")))
    }

    /// Re-sends one letter's commands in order, stopping at the first rejection.
    ///
    /// Steps the letter's report says succeeded are not sent again: a control-plane signal or update is not
    /// deduplicated by the engine and would happen twice, and a start whose workflow has closed since would be
    /// refused (`instance_already_started`), stopping every later replay of the letter there. A replay that ends
    /// rejected again or without an answer keeps what it did on the letter (``OutcomeLedger/keepReplayProgress(deadLetterID:outcome:)``),
    /// so that the next one does not send its succeeded steps again either.
    public func replay(_ letter: DeadLetter, engine: any WorkflowEngine) async throws(LedgerError) -> Result {
        guard !letter.content.commands.isEmpty else { return .nothingToSend }
        let done = Dictionary(
            (letter.outcome.sluice?.steps ?? []).filter { $0.status == .succeeded }.map { ($0.requestID, $0) },
            uniquingKeysWith: { first, _ in first })
        var steps: [StepReport] = []
        var last: Outcome?
        for (index, command) in letter.content.commands.enumerated() {
            if let succeeded = done[command.requestID] {
                steps.append(succeeded)
                continue
            }
            let started = ContinuousClock.now
            let outcome: Outcome
            do {
                outcome = try await engine.execute(command, adapter: letter.adapter)
            } catch {
                try await keepProgress(steps, of: letter)
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
        // Every step had succeeded already (a letter of an event cut after its steps ran): nothing to send.
        guard var decided = last else { return .nothingToSend }
        // The event's decision, as the live pipeline records it: under the event's key and adapter (a step of a
        // plan with several carries `key#step` to the engine), accepted when any step was.
        decided.adapter = letter.adapter
        decided.idempotencyKey = letter.idempotencyKey
        if decided.kind != .rejected {
            decided.kind = steps.contains { $0.outcome == .accepted } ? .accepted : .duplicate
            // An accepted event has no reason; a duplicate keeps the last step's (`duplicate_start`, …).
            if decided.kind == .accepted { decided.reason = nil }
        }
        if var details = letter.outcome.sluice {
            // Saturating: a stored count is read back from the ledger file as it is.
            let (attempts, overflow) = details.attempts.addingReportingOverflow(steps.count)
            details.attempts = overflow ? .max : attempts
            details.steps = steps
            details.decidedAt = now()
            decided.sluice = details
        }
        if decided.kind == .rejected {
            try await keepProgress(steps, of: letter)
            return .rejectedAgain(decided)
        }
        try await ledger.markRedriven(deadLetterID: letter.id, outcome: decided)
        return .redriven(decided)
    }
}
