import Foundation
import SluiceApp
import SluiceCore
import SluiceLedger
import SluiceTesting
import Synchronization
import Testing

/// Replaying dead letters re-sends the same commands and records the new decision.
@Suite struct ReplayerTests {
    /// An engine that answers from a script and remembers what it was sent.
    final class ScriptedEngine: WorkflowEngine {
        let answers: Mutex<[Result<Outcome.Kind, EngineError>]>
        let sent = Mutex<[EngineCommand]>([])

        init(_ answers: [Result<Outcome.Kind, EngineError>]) { self.answers = Mutex(answers) }

        func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
            sent.withLock { $0.append(command) }
            guard let answer = answers.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else {
                Issue.record("a call the script does not answer: \(command.requestID)")
                throw .retryable("script", "no answer left")
            }
            let kind = try answer.get()
            return Outcome(
                adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: kind,
                reason: kind == .rejected ? .unknownTarget : kind == .duplicate ? .duplicateStart : nil,
                workflowID: command.target.workflowID)
        }

        func checkReadiness() async throws(EngineError) {}
    }

    /// A ledger holding one dead letter of `commands` steps, whose first `succeeded` steps the letter's report says
    /// succeeded (the rest failed).
    func ledgerWithLetter(commands: Int, succeeded: Int = 0) async throws -> (InMemoryLedger, DeadLetter) {
        let ledger = InMemoryLedger()
        var rejected = LedgerFixtures.outcome(key: "d1", kind: .rejected, reason: .retriesExhausted)
        // Each step's command carries the engine key `d1#step` and a request id of its own, as a plan with several
        // steps maps it; the report has one entry per step, by request id.
        let content = DeadLetterContent(
            commands: (1...commands).map { step in
                var command = LedgerFixtures.command(key: "d1")
                if commands > 1 {
                    command.idempotencyKey = "d1#\(step)"
                    command.requestID = "req-d1#\(step)"
                }
                return command
            })
        if commands > 1 {
            rejected.sluice?.steps = content.commands.enumerated().map { index, command in
                StepReport(
                    id: "\(index + 1)", action: "start_workflow", requestID: command.requestID,
                    status: index < succeeded ? .succeeded : .failed, attempts: 1, durationMilliseconds: 1,
                    outcome: index < succeeded ? .accepted : .rejected)
            }
        }
        _ = try await ledger.record(RecordRequest(outcome: rejected, deadLetter: content))
        let letter = try #require(try await ledger.deadLetters(DeadLetterQuery()).first)
        return (ledger, letter)
    }

    @Test func aReplayTheEngineTakesMarksTheLetterRedriven() async throws {
        let (ledger, letter) = try await ledgerWithLetter(commands: 2)
        let engine = ScriptedEngine([.success(.accepted), .success(.duplicate)])
        let result = try await Replayer(ledger: ledger).replay(letter, engine: engine)
        guard case .redriven(let outcome) = result else {
            Issue.record("not re-driven: \(result)")
            return
        }
        // Recorded under the event's key, not the last step's engine key; accepted because a step was.
        #expect(outcome.kind == .accepted)
        #expect(outcome.idempotencyKey == "d1")
        #expect(outcome.sluice?.attempts == 3)
        #expect(outcome.sluice?.steps.map(\.outcome) == [.accepted, .duplicate])
        // The very same keys and request ids went to the engine.
        #expect(engine.sent.withLock { $0 } == letter.content.commands)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1") == outcome)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1#2") == nil)
        #expect(try await ledger.deadLetters(DeadLetterQuery()).isEmpty)
    }

    /// A step the letter's report says succeeded is not sent again: a control-plane signal is not deduplicated by
    /// the engine, and a start whose workflow closed since would be refused, stopping the replay there for good.
    @Test func aReplaySendsOnlyTheStepsThatDidNotSucceed() async throws {
        let (ledger, letter) = try await ledgerWithLetter(commands: 2, succeeded: 1)
        let commands = letter.content.commands
        let engine = ScriptedEngine([.success(.duplicate), .success(.duplicate)])
        let result = try await Replayer(ledger: ledger).replay(letter, engine: engine)
        guard case .redriven(let outcome) = result else {
            Issue.record("not re-driven: \(result)")
            return
        }
        #expect(engine.sent.withLock { $0 } == [commands[1]], "a step that had succeeded was sent again")
        // Accepted (its first step was), with no reason: the last step's `duplicate_start` is not the event's.
        #expect(outcome.kind == .accepted)
        #expect(outcome.reason == nil)
        #expect(outcome.sluice?.steps.map(\.requestID) == ["req-d1#1", "req-d1#2"])
        #expect(outcome.sluice?.steps.map(\.outcome) == [.accepted, .duplicate])
    }

    /// A replay that ends rejected again or without an answer keeps on the letter which steps it got through: the
    /// next replay sends only the rest (a control-plane signal delivered by the first is not delivered again).
    @Test func aReplayThatStopsKeepsItsProgressForTheNext() async throws {
        let (ledger, letter) = try await ledgerWithLetter(commands: 3, succeeded: 1)
        let commands = letter.content.commands
        // Step 2 goes through, step 3 gets no answer.
        let first = ScriptedEngine([.success(.accepted), .failure(.retryable("transport", "connection reset"))])
        #expect(try await Replayer(ledger: ledger).replay(letter, engine: first) == .failed(.retryable("transport", "connection reset")))
        #expect(first.sent.withLock { $0 } == [commands[1], commands[2]])
        // The next replay sends step 3 only.
        let kept = try #require(try await ledger.deadLetters(DeadLetterQuery()).first)
        let second = ScriptedEngine([.success(.accepted)])
        guard case .redriven(let outcome) = try await Replayer(ledger: ledger).replay(kept, engine: second) else {
            Issue.record("the second replay did not re-drive the letter")
            return
        }
        #expect(second.sent.withLock { $0 } == [commands[2]], "a step the first replay got through was sent again")
        #expect(outcome.sluice?.steps.map(\.status) == [.succeeded, .succeeded, .succeeded])
    }

    @Test func aRejectedOrFailedReplayKeepsTheLetter() async throws {
        let (ledger, letter) = try await ledgerWithLetter(commands: 2)
        let rejected = try await Replayer(ledger: ledger).replay(letter, engine: ScriptedEngine([.success(.rejected)]))
        guard case .rejectedAgain = rejected else {
            Issue.record("expected a rejection: \(rejected)")
            return
        }
        let failed = try await Replayer(ledger: ledger).replay(
            letter, engine: ScriptedEngine([.failure(.retryable("transport", "connection refused"))]))
        #expect(failed == .failed(.retryable("transport", "connection refused")))
        #expect(try await ledger.deadLetters(DeadLetterQuery()).count == 1)
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "d1")?.kind == .rejected)
    }

    /// Letters that keep no commands are never re-driven: a replay walks past them instead of counting them
    /// against its limit, or, once there were as many as the limit, no letter behind them would ever be sent.
    @Test func lettersWithoutCommandsDoNotHideTheOnesBehindThem() async throws {
        let ledger = InMemoryLedger()
        for index in 0..<5 {
            let outcome = LedgerFixtures.outcome(key: "u\(index)", kind: .rejected, reason: .unmatched)
            _ = try await ledger.record(RecordRequest(outcome: outcome, deadLetter: DeadLetterContent(commands: [])))
        }
        for key in ["s1", "s2", "s3"] {
            let outcome = LedgerFixtures.outcome(key: key, kind: .rejected, reason: .retriesExhausted)
            _ = try await ledger.record(
                RecordRequest(outcome: outcome, deadLetter: DeadLetterContent(commands: [LedgerFixtures.command(key: key)])))
        }
        let selection = try await Replayer(ledger: ledger).letters(adapter: nil, since: nil, limit: 2)
        #expect(selection.letters.map(\.idempotencyKey) == ["s1", "s2"])
        #expect(selection.keptWithoutCommands == 5)
    }

    @Test func ledgerSelectionFollowsFlagsThenEnvironmentThenFile() throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try LedgerSelection.resolve(path: nil, url: nil, directory: directory, environment: [:]).location
            == .sqlite(path: directory.appendingPathComponent(".sluice/ledger.sqlite").path))
        try """
            engines: {}
            ledger:
              type: postgres
              url: ${env:LEDGER_URL}
              password: ${env:LEDGER_PASSWORD}
              retention: 7d
            """.write(to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        let environment = ["LEDGER_URL": "postgres://sluice@db:5432/sluice", "LEDGER_PASSWORD": "s3cret"]
        let fromFile = try LedgerSelection.resolve(path: nil, url: nil, directory: directory, environment: environment)
        #expect(fromFile.location == .postgres(url: "postgres://sluice@db:5432/sluice"))
        #expect(fromFile.password == "s3cret")
        #expect(fromFile.spec.retentionPolicy == RetentionPolicy(maxAge: .seconds(7 * 86_400)))
        let fromEnvironment = try LedgerSelection.resolve(
            path: nil, url: nil, directory: directory, environment: environment.merging(["SLUICE_LEDGER_PATH": "/var/l.sqlite"]) { $1 })
        #expect(fromEnvironment.location == .sqlite(path: "/var/l.sqlite"))
        let fromFlag = try LedgerSelection.resolve(path: "here.sqlite", url: nil, directory: directory, environment: environment)
        #expect(fromFlag.location == .sqlite(path: directory.appendingPathComponent("here.sqlite").path))
        // A password written in the flag's URL is the one used: neither SLUICE_LEDGER_PASSWORD nor the file's (here
        // an unset variable, which is then not even resolved) replaces it. Without one, the variable gives it.
        let withPassword = try LedgerSelection.resolve(
            path: nil, url: "postgres://ops:fl4g@other:5432/sluice", directory: directory,
            environment: ["SLUICE_LEDGER_PASSWORD": "from-env"])
        #expect(withPassword.location == .postgres(url: "postgres://ops:fl4g@other:5432/sluice"))
        #expect(withPassword.password == nil)
        #expect(
            try PostgresLedgerConfiguration(url: "postgres://ops:fl4g@other:5432/sluice", password: withPassword.password).password
                == "fl4g")
        let withoutPassword = try LedgerSelection.resolve(
            path: nil, url: "postgres://ops@other:5432/sluice", directory: directory,
            environment: ["SLUICE_LEDGER_PASSWORD": "from-env"])
        #expect(withoutPassword.password == "from-env")
        // A password written in the file is refused.
        try "ledger:\n  type: postgres\n  url: postgres://u@h/d\n  password: hunter2\n".write(
            to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        let error = #expect(throws: LedgerError.self) {
            try LedgerSelection.resolve(path: nil, url: nil, directory: directory, environment: [:])
        }
        #expect(error?.detail.contains("ledger.password") == true)
        #expect(error?.detail.contains("hunter2") == false)
    }

    /// `--config` elsewhere: the ledger's relative `path` starts at that file's directory, as in `sluice serve`; a
    /// named configuration that cannot be read is an error, not the default ledger; a SQLite ledger named by a flag
    /// needs no PostgreSQL password.
    @Test func aNamedConfigurationIsReadFromItsOwnDirectory() throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let deploy = directory.appendingPathComponent("deploy")
        try FileManager.default.createDirectory(at: deploy, withIntermediateDirectories: true)
        let config = deploy.appendingPathComponent("prod.yaml")
        try "ledger:\n  path: data/ledger.sqlite\n".write(to: config, atomically: true, encoding: .utf8)
        let elsewhere = directory.appendingPathComponent("home")
        let named = try LedgerSelection.resolve(path: nil, url: nil, directory: elsewhere, environment: [:], configFile: config)
        #expect(named.location == .sqlite(path: deploy.appendingPathComponent("data/ledger.sqlite").path))
        let flagged = try LedgerSelection.resolve(path: "copy.sqlite", url: nil, directory: elsewhere, environment: [:], configFile: config)
        #expect(flagged.location == .sqlite(path: elsewhere.appendingPathComponent("copy.sqlite").path))
        // The variable, as `sluice serve` reads it: from the configuration's directory. Empty is unset.
        let variable = try LedgerSelection.resolve(
            path: nil, url: nil, directory: elsewhere, environment: ["SLUICE_LEDGER_PATH": "var/l.sqlite"], configFile: config)
        #expect(variable.location == .sqlite(path: deploy.appendingPathComponent("var/l.sqlite").path))
        let empty = try LedgerSelection.resolve(
            path: nil, url: nil, directory: elsewhere, environment: ["SLUICE_LEDGER_PATH": ""], configFile: config)
        #expect(empty.location == named.location)

        let missing = #expect(throws: LedgerError.self) {
            try LedgerSelection.resolve(
                path: nil, url: nil, directory: elsewhere, environment: [:], configFile: deploy.appendingPathComponent("prd.yaml"))
        }
        #expect(missing?.detail.contains("prd.yaml: cannot be read") == true, "\(String(describing: missing))")

        try "ledger:\n  type: postgres\n  url: postgres://u@h/d\n  password: ${env:PGPASSWORD}\n".write(
            to: config, atomically: true, encoding: .utf8)
        let sqlite = try LedgerSelection.resolve(path: "copy.sqlite", url: nil, directory: elsewhere, environment: [:], configFile: config)
        #expect(sqlite.password == nil)
        #expect(throws: LedgerError.self) {
            try LedgerSelection.resolve(path: nil, url: nil, directory: elsewhere, environment: [:], configFile: config)
        }
    }
}
