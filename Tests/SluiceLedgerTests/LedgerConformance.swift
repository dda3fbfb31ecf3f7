import Foundation
import SluiceCore
import Testing

/// The behaviour every ``OutcomeLedger`` must have, run against each implementation.
///
/// Each check takes a ledger opened with a ``TestClock`` and a dedupe window of one minute for the
/// adapter `windowed`.
enum LedgerConformance {
    static let dedupe = DedupePolicy(windows: ["windowed": .seconds(60)])

    static func recordsOneDecisionPerKey(_ ledger: some OutcomeLedger) async throws {
        let first = LedgerFixtures.outcome(key: "k1")
        guard case .recorded = try await ledger.record(first) else {
            Issue.record("the first outcome was not recorded")
            return
        }
        // The same outcome again (a retried write) is still "recorded".
        guard case .recorded = try await ledger.record(first) else {
            Issue.record("re-recording the same outcome is not idempotent")
            return
        }
        let second = LedgerFixtures.outcome(key: "k1", kind: .rejected, reason: .unknownTarget)
        #expect(try await ledger.record(second) == .alreadyDecided(first))
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "k1") == first)
        #expect(try await ledger.decision(adapter: "other", idempotencyKey: "k1") == nil)
        let summary = try await ledger.decisionSummary(adapter: "orders", idempotencyKey: "k1")
        #expect(summary?.kind == first.kind)
        #expect(summary?.reason == first.reason)
        #expect(try await ledger.decisionSummary(adapter: "other", idempotencyKey: "k1") == nil)
        // The batched check (one round trip per Kafka fetch) answers the same, and only for decided keys.
        let batch = try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: ["k0", "k1", "k2", "k1"])
        #expect(Array(batch.keys) == ["k1"])
        #expect(batch["k1"] == summary)
        #expect(try await ledger.decisionSummaries(adapter: "other", idempotencyKeys: ["k1"]).isEmpty)
        #expect(try await ledger.decisionSummaries(adapter: "orders", idempotencyKeys: []).isEmpty)
        let stored = try await ledger.outcomes(OutcomeQuery(idempotencyKey: "k1"))
        #expect(stored.count == 1)
        #expect(stored.first?.duplicates == 1)
        #expect(stored.first?.outcome == first)
    }

    /// ``OutcomeLedger/record(batch:)`` answers each request as ``OutcomeLedger/record(_:)`` would alone, in order,
    /// with its inbox row and dead letter.
    static func batchesRecordEachRequestAsAlone(_ ledger: some OutcomeLedger) async throws {
        #expect(await ledger.record(batch: []).isEmpty)
        let first = LedgerFixtures.outcome(key: "b1")
        _ = try await ledger.record(first)
        let row = try await ledger.appendInbox(LedgerFixtures.delivery(body: #"{"id":"b2"}"#))
        let b2 = LedgerFixtures.outcome(key: "b2", position: .inbox(id: row))
        let b3 = LedgerFixtures.outcome(key: "b3", kind: .rejected, reason: .unknownTarget)
        let requests = [
            RecordRequest(outcome: b2, inboxID: row),
            RecordRequest(outcome: LedgerFixtures.outcome(key: "b1", note: "second")),
            RecordRequest(outcome: b3, deadLetter: DeadLetterContent(commands: [], delivery: nil)),
            // The same outcome twice (a retried write): recorded both times, whichever comes first.
            RecordRequest(outcome: b2),
        ]
        let results = await ledger.record(batch: requests).map { try? $0.get() }
        #expect(results.count == 4)
        guard results.count == 4 else { return }
        for index in [0, 2, 3] {
            if case .recorded = results[index] {} else { Issue.record("request \(index) not recorded: \(String(describing: results[index]))") }
        }
        #expect(results[1] == .alreadyDecided(first))
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "b3") == b3)
        #expect(try await ledger.deadLetters(DeadLetterQuery()).map(\.outcome.idempotencyKey) == ["b3"])
    }

    static func racingWorkersProduceOneDecisionPerKey(_ ledger: some OutcomeLedger, keys: Int = 40, workers: Int = 8)
        async throws
    {
        // Every worker tries every key: claim, and if it holds the claim, "call the engine" and record.
        let results = try await withThrowingTaskGroup(of: [String: Outcome].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var decided: [String: Outcome] = [:]
                    for index in 0..<keys {
                        let key = "race-\(index)"
                        switch try await ledger.claim(adapter: "orders", idempotencyKey: key, owner: "w\(worker)", for: .seconds(30)) {
                        case .claimed:
                            let mine = LedgerFixtures.outcome(key: key, note: "worker \(worker)")
                            decided[key] = try await ledger.record(mine).decision(given: mine)
                        case .decided(let outcome):
                            decided[key] = outcome
                        case .held:
                            // Someone else is on it; record anyway, as a redelivery would: the ledger must
                            // keep the first decision.
                            let mine = LedgerFixtures.outcome(key: key, note: "late worker \(worker)")
                            decided[key] = try await ledger.record(mine).decision(given: mine)
                        }
                    }
                    return decided
                }
            }
            var all: [[String: Outcome]] = []
            for try await result in group { all.append(result) }
            return all
        }
        for index in 0..<keys {
            let key = "race-\(index)"
            let stored = try await ledger.outcomes(OutcomeQuery(idempotencyKey: key))
            #expect(stored.count == 1, "key \(key) has \(stored.count) decisions")
            let answers = Set(results.compactMap { $0[key] })
            #expect(answers.count == 1, "workers saw \(answers.count) different decisions for \(key)")
            #expect(answers.first == stored.first?.outcome)
        }
    }

    static func claimsExcludeOtherWorkersUntilTheyExpire(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        let claimed = try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "a", for: .seconds(10))
        #expect(claimed == .claimed(until: LedgerFixtures.start.addingTimeInterval(10)))
        let held = try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "b", for: .seconds(10))
        #expect(held == .held(by: "a", until: LedgerFixtures.start.addingTimeInterval(10)))
        // The owner may extend its claim.
        clock.advance(.seconds(5))
        #expect(
            try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "a", for: .seconds(10))
                == .claimed(until: LedgerFixtures.start.addingTimeInterval(15)))
        // The owner dies: the claim expires and another worker takes the key.
        clock.advance(.seconds(11))
        #expect(
            try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "b", for: .seconds(10))
                == .claimed(until: LedgerFixtures.start.addingTimeInterval(26)))
        // Release lets the next worker in at once; someone else's release does nothing.
        try await ledger.release(adapter: "orders", idempotencyKey: "c1", owner: "a")
        if case .claimed = try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "c", for: .seconds(10)) {
            Issue.record("a release by a non-owner dropped the claim")
        }
        try await ledger.release(adapter: "orders", idempotencyKey: "c1", owner: "b")
        if case .claimed = try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "c", for: .seconds(10)) {
        } else {
            Issue.record("the released key could not be claimed")
        }
        // Recording the outcome ends the claim; later claims get the decision.
        let outcome = LedgerFixtures.outcome(key: "c1")
        _ = try await ledger.record(outcome)
        #expect(try await ledger.claim(adapter: "orders", idempotencyKey: "c1", owner: "d", for: .seconds(10)) == .decided(outcome))
        // Expired claims are pruned.
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "c2", owner: "a", for: .seconds(1))
        clock.advance(.seconds(2))
        let pruned = try await ledger.pruneBatch(RetentionPolicy(), batchSize: 10)
        #expect(pruned.claims == 1)
    }

    static func ownersRenewTheirClaimsOnly(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "r1", owner: "a", for: .seconds(10))
        _ = try await ledger.claim(adapter: "orders", idempotencyKey: "r2", owner: "b", for: .seconds(10))
        clock.advance(.seconds(8))
        // r3 has no claim; r2 is b's and stays b's.
        let renewal = try await ledger.renewClaims(
            adapter: "orders", idempotencyKeys: ["r1", "r2", "r3", "r1"], owner: "a", for: .seconds(10))
        #expect(renewal == ClaimRenewal(renewed: 1, lost: ["r2": "b"]))
        clock.advance(.seconds(8))
        // Past the first expiry (10 s), within the renewed one (18 s).
        #expect(
            try await ledger.claim(adapter: "orders", idempotencyKey: "r1", owner: "c", for: .seconds(10))
                == .held(by: "a", until: LedgerFixtures.start.addingTimeInterval(18)))
        // b's claim was not extended: it expired at 10 s and is free.
        if case .claimed = try await ledger.claim(adapter: "orders", idempotencyKey: "r2", owner: "c", for: .seconds(10)) {
        } else {
            Issue.record("a renewal by another owner extended b's claim")
        }
        // A decided key's claim is gone: nothing to renew.
        _ = try await ledger.record(LedgerFixtures.outcome(key: "r1"))
        #expect(
            try await ledger.renewClaims(adapter: "orders", idempotencyKeys: ["r1"], owner: "a", for: .seconds(10))
                == ClaimRenewal())
        #expect(try await ledger.renewClaims(adapter: "orders", idempotencyKeys: [], owner: "a", for: .seconds(10)) == ClaimRenewal())
    }

    static func inboxRowsLeaveWithTheirOutcome(_ ledger: some OutcomeLedger) async throws {
        let one = try await ledger.appendInbox(LedgerFixtures.delivery(body: #"{"id":"o-1"}"#))
        let two = try await ledger.appendInbox(LedgerFixtures.delivery(body: #"{"id":"o-2"}"#))
        let three = try await ledger.appendInbox(LedgerFixtures.delivery(adapter: "stripe", body: "\u{0}binary\u{FF}"))
        #expect(one < two && two < three)
        var pending = try await ledger.pendingInbox(after: nil, limit: 10)
        #expect(pending.map(\.id) == [one, two, three])
        #expect(pending.first?.delivery == LedgerFixtures.delivery(body: #"{"id":"o-1"}"#))
        #expect(try await ledger.pendingInbox(after: one, limit: 1).map(\.id) == [two])
        let depth = try await ledger.inboxDepth()
        #expect(depth["stripe"] == 1)
        #expect(depth.values.reduce(0, +) == 3)
        _ = try await ledger.record(
            RecordRequest(outcome: LedgerFixtures.outcome(key: "i1", position: .inbox(id: two)), inboxID: two))
        // A duplicate event also clears its row.
        _ = try await ledger.record(
            RecordRequest(outcome: LedgerFixtures.outcome(key: "i1", position: .inbox(id: one), note: "dup"), inboxID: one))
        pending = try await ledger.pendingInbox(after: nil, limit: 10)
        #expect(pending.map(\.id) == [three])
        #expect(try await ledger.inboxDepth() == ["stripe": 1])
        #expect(pending.first?.delivery.body == Array("\u{0}binary\u{FF}".utf8))
        // Ids are never reused, even after the newest row left.
        _ = try await ledger.record(RecordRequest(outcome: LedgerFixtures.outcome(key: "i3"), inboxID: three))
        let four = try await ledger.appendInbox(LedgerFixtures.delivery())
        #expect(four > three)
    }

    /// An event body nested as deep as Sluice parses it, kept in a dead letter's commands (a few levels deeper),
    /// reads back: one hostile event must not make the dead-letter listing fail.
    static func deadLettersKeepTheDeepestBodies(_ ledger: some OutcomeLedger) async throws {
        var body: JSONValue = "leaf"
        for _ in 0..<(JSONParser.maximumDepth - 1) { body = .array([body]) }
        #expect(throws: Never.self) { try JSONParser.parse(JSONWriter.string(body)) }
        var command = LedgerFixtures.command(key: "deep")
        command.input = [body]
        let content = DeadLetterContent(commands: [command])
        let rejected = LedgerFixtures.outcome(key: "deep", kind: .rejected, reason: .unknownTarget)
        _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: content))
        let letters = try await ledger.deadLetters(DeadLetterQuery())
        #expect(letters.map(\.content) == [content])
    }

    static func deadLettersAreKeptAndRedriven(_ ledger: some OutcomeLedger) async throws {
        let rejected = LedgerFixtures.outcome(key: "d1", kind: .rejected, reason: .retriesExhausted)
        let content = DeadLetterContent(commands: [LedgerFixtures.command(key: "d1")], delivery: LedgerFixtures.delivery())
        _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: content))
        _ = try await ledger.record(
            RecordRequest(
                outcome: LedgerFixtures.outcome(adapter: "stripe", key: "d2", kind: .rejected, reason: .unknownTarget),
                deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: "d2")])))
        var letters = try await ledger.deadLetters(DeadLetterQuery(adapter: "orders"))
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.outcome == rejected)
        #expect(letter.content == content)
        #expect(letter.outcome.sluice?.steps.first?.status == .failed)
        #expect(try await ledger.deadLetters(DeadLetterQuery()).count == 2)
        // Newest first for a listing; the oldest first for a replay, whatever the limit.
        #expect(try await ledger.deadLetters(DeadLetterQuery(limit: 1)).map(\.idempotencyKey) == ["d2"])
        #expect(try await ledger.deadLetters(DeadLetterQuery(limit: 1, oldestFirst: true)).map(\.idempotencyKey) == ["d1"])
        #expect(try await ledger.deadLetters(DeadLetterQuery(oldestFirst: true)).map(\.idempotencyKey) == ["d1", "d2"])
        // The next page of an oldest-first walk starts after the last letter seen.
        let first = try #require(try await ledger.deadLetters(DeadLetterQuery(limit: 1, oldestFirst: true)).first)
        #expect(
            try await ledger.deadLetters(DeadLetterQuery(limit: 5, oldestFirst: true, afterID: first.id)).map(\.idempotencyKey)
                == ["d2"])
        // A replay that stops keeps its progress on the letter (its step report), not as the key's decision; a
        // letter of another key is left alone.
        var progress = rejected
        progress.sluice?.steps[0].status = .succeeded
        progress.sluice?.steps[0].outcome = .accepted
        try await ledger.keepReplayProgress(deadLetterID: letter.id, outcome: progress)
        try await ledger.keepReplayProgress(
            deadLetterID: letter.id, outcome: LedgerFixtures.outcome(adapter: "stripe", key: "d2", kind: .rejected, note: "not d1's"))
        #expect(try await ledger.deadLetters(DeadLetterQuery(adapter: "orders")).first?.outcome == progress)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1") == rejected)
        // Re-driven: the new outcome becomes the decision and the letter leaves the default listing.
        let accepted = LedgerFixtures.outcome(key: "d1", note: "replayed")
        try await ledger.markRedriven(deadLetterID: letter.id, outcome: accepted)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1") == accepted)
        letters = try await ledger.deadLetters(DeadLetterQuery(adapter: "orders"))
        #expect(letters.isEmpty)
        let all = try await ledger.deadLetters(DeadLetterQuery(adapter: "orders", includeRedriven: true))
        #expect(all.first?.redriveCount == 1)
        #expect(all.first?.redrivenAt != nil)
        // Once: a second replay of the same letter (two replays at once) is refused and changes nothing.
        let again = await #expect(throws: LedgerError.self) {
            try await ledger.markRedriven(deadLetterID: letter.id, outcome: LedgerFixtures.outcome(key: "d1", note: "twice"))
        }
        #expect(again?.reason == "already_redriven")
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1") == accepted)
        #expect(try await ledger.deadLetters(DeadLetterQuery(adapter: "orders", includeRedriven: true)).first?.redriveCount == 1)
        await #expect(throws: LedgerError.self) { try await ledger.markRedriven(deadLetterID: 987_654, outcome: accepted) }
        // A re-driven letter keeps what it had: a late replay's progress is not written over it.
        try await ledger.keepReplayProgress(deadLetterID: letter.id, outcome: rejected)
        #expect(try await ledger.deadLetters(DeadLetterQuery(adapter: "orders", includeRedriven: true)).first?.outcome == progress)
    }

    static func dedupeWindowsExpire(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        let first = LedgerFixtures.outcome(adapter: "windowed", key: "w1")
        _ = try await ledger.record(first)
        _ = try await ledger.record(LedgerFixtures.outcome(key: "w1"))
        clock.advance(.seconds(59))
        #expect(try await ledger.decision(adapter: "windowed", idempotencyKey: "w1") == first)
        clock.advance(.seconds(2))
        #expect(try await ledger.decision(adapter: "windowed", idempotencyKey: "w1") == nil)
        #expect(try await ledger.decisionSummary(adapter: "windowed", idempotencyKey: "w1") == nil)
        #expect(try await ledger.decisionSummaries(adapter: "windowed", idempotencyKeys: ["w1"]).isEmpty)
        // Other adapters keep their decisions forever.
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "w1") != nil)
        let second = LedgerFixtures.outcome(adapter: "windowed", key: "w1", kind: .rejected, reason: .unknownTarget)
        guard case .recorded = try await ledger.record(second) else {
            Issue.record("a key past its window could not be decided again")
            return
        }
        #expect(try await ledger.decision(adapter: "windowed", idempotencyKey: "w1") == second)
        #expect(try await ledger.decisionSummary(adapter: "windowed", idempotencyKey: "w1")?.reason == .unknownTarget)
        #expect(try await ledger.outcomes(OutcomeQuery(adapter: "windowed")).count == 1)
    }

    /// A letter re-driven after its key was decided again (past the dedupe window) leaves that newer decision in
    /// place: the replay's `duplicate` must not hide that the event started a workflow.
    static func aRedriveKeepsANewerDecision(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        let rejected = LedgerFixtures.outcome(adapter: "windowed", key: "rd", kind: .rejected, reason: .retriesExhausted)
        _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: "rd")])))
        let letter = try #require(try await ledger.deadLetters(DeadLetterQuery(adapter: "windowed")).first)
        clock.advance(.seconds(61))
        let accepted = LedgerFixtures.outcome(adapter: "windowed", key: "rd", note: "delivered again")
        guard case .recorded = try await ledger.record(accepted) else {
            Issue.record("a key past its window could not be decided again")
            return
        }
        clock.advance(.seconds(1))
        try await ledger.markRedriven(
            deadLetterID: letter.id, outcome: LedgerFixtures.outcome(adapter: "windowed", key: "rd", kind: .duplicate, reason: .duplicateStart))
        #expect(try await ledger.decision(adapter: "windowed", idempotencyKey: "rd") == accepted)
        #expect(try await ledger.deadLetters(DeadLetterQuery(adapter: "windowed")).isEmpty, "the letter is marked re-driven")
    }

    /// A write retried after its answer was lost (the same outcome again) finds its own decision, even once the
    /// window has passed: it is not replaced, and its dead letter is not filed twice.
    static func theSameOutcomeAgainPastItsWindowIsTheSameDecision(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        let request = RecordRequest(
            outcome: LedgerFixtures.outcome(adapter: "windowed", key: "again", kind: .rejected, reason: .unknownTarget),
            deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: "again")]))
        guard case .recorded(let id) = try await ledger.record(request) else {
            Issue.record("the first outcome was not recorded")
            return
        }
        clock.advance(.seconds(61))
        guard case .recorded(let again) = try await ledger.record(request) else {
            Issue.record("the same outcome again was not taken as recorded")
            return
        }
        #expect(again == id)
        #expect(try await ledger.deadLetters(DeadLetterQuery(adapter: "windowed")).count == 1)
        #expect(try await ledger.outcomes(OutcomeQuery(adapter: "windowed")).count == 1)
    }

    static func queriesFilter(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        _ = try await ledger.record(LedgerFixtures.outcome(key: "q1", workflowID: "wf-a"))
        clock.advance(.seconds(10))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "q2", kind: .rejected, reason: .unknownTarget))
        _ = try await ledger.record(LedgerFixtures.outcome(adapter: "stripe", key: "q3", kind: .duplicate))
        _ = try await ledger.record(LedgerFixtures.outcome(key: "q4", kind: .rejected, reason: .malformedPayload))
        func keys(_ query: OutcomeQuery) async throws -> [String] {
            try await ledger.outcomes(query).map(\.outcome.idempotencyKey)
        }
        #expect(try await keys(OutcomeQuery()) == ["q4", "q3", "q2", "q1"])
        #expect(try await keys(OutcomeQuery(limit: 2)) == ["q4", "q3"])
        #expect(try await keys(OutcomeQuery(adapter: "stripe")) == ["q3"])
        #expect(try await keys(OutcomeQuery(kind: .rejected)) == ["q4", "q2"])
        #expect(try await keys(OutcomeQuery(reason: .unknownTarget)) == ["q2"])
        #expect(try await keys(OutcomeQuery(workflowID: "wf-a")) == ["q1"])
        #expect(try await keys(OutcomeQuery(since: LedgerFixtures.start.addingTimeInterval(5))) == ["q4", "q3", "q2"])
        #expect(try await keys(OutcomeQuery(adapter: "orders", kind: .rejected, limit: 1)) == ["q4"])
    }

    static func retentionPrunesInBatches(_ ledger: some OutcomeLedger, clock: TestClock) async throws {
        for index in 0..<10 {
            _ = try await ledger.record(
                RecordRequest(
                    outcome: LedgerFixtures.outcome(key: "p\(index)", kind: .rejected, reason: .unknownTarget),
                    deadLetter: index < 3 ? DeadLetterContent(commands: [LedgerFixtures.command(key: "p\(index)")]) : nil))
            clock.advance(.seconds(60))
        }
        // By count: keep the newest 6, two per batch.
        let first = try await ledger.pruneBatch(RetentionPolicy(maxOutcomes: 6), batchSize: 2)
        #expect(first.outcomes == 2)
        // Decisions recorded between batches are never taken for the oldest (a ledger may keep the first batch's
        // threshold for the next ones); the runs that follow converge on the newest six.
        for index in 10..<12 {
            _ = try await ledger.record(LedgerFixtures.outcome(key: "p\(index)", kind: .accepted))
            clock.advance(.seconds(60))
        }
        var rest = 0
        for _ in 0..<4 { rest += try await ledger.prune(RetentionPolicy(maxOutcomes: 6), batchSize: 2).outcomes }
        #expect(rest == 4)
        #expect(try await ledger.outcomes(OutcomeQuery()).map(\.outcome.idempotencyKey) == (6..<12).reversed().map { "p\($0)" })
        // By age: everything older than 3.5 minutes (p4…p6 and the three dead letters).
        let aged = try await ledger.prune(RetentionPolicy(maxAge: .seconds(210)), batchSize: 2)
        #expect(aged.outcomes == 3)
        #expect(aged.deadLetters == 3)
        #expect(try await ledger.outcomes(OutcomeQuery()).count == 3)
        #expect(try await ledger.deadLetters(DeadLetterQuery(includeRedriven: true)).isEmpty)
    }
}
