import ArgumentParser
import Foundation
import SluiceApp
import SluiceCore
import SluiceEngines

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-send dead-lettered events to their engine, with the same idempotency keys.",
        discussion: """
            Each dead letter keeps the engine commands of its event, with their idempotency keys and \
            request ids; replaying sends them again, so the engine answers 'duplicate' for anything it \
            already did instead of doing it twice. A letter the engine takes is marked re-driven and its \
            new outcome becomes the key's decision; one rejected again stays a dead letter.

            Engines come from sluice.yaml in the current directory (or --config) and each adapter's \
            engine from its adapter file; tokens are resolved from the environment.

            --dry-run lists what would be sent and changes nothing. Exit status: 0 when every letter was \
            re-driven (or listed), 1 when some were rejected again or failed, 2 when the ledger cannot be \
            opened, 3 when a letter's engine cannot be built from the configuration.
            """
    )

    @OptionGroup var ledger: LedgerOptions

    @Flag(name: .customLong("dead-letters"), help: "Replay dead letters (rejected or retries exhausted); the default and, in this version, the only source.")
    var deadLetters = false

    @Option(help: "Only this adapter's letters.")
    var adapter: String?

    @Option(help: ArgumentHelp("Only letters filed since: an RFC 3339 time or a duration ago (1h, 7d).", valueName: "TIME"))
    var since: String?

    @Option(help: "At most this many letters.")
    var limit: Int = 1000

    @Flag(name: .customLong("dry-run"), help: "List what would be re-sent; send nothing, change nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp(
        "The configuration whose engines receive the replayed commands, and whose ledger is read (default: sluice.yaml).",
        valueName: "FILE"))
    var config: String?

    /// Sends every letter to its adapter's engine and prints how each went; returns the failures.
    static func replay(
        _ letters: [DeadLetter], with replayer: Replayer, http: EngineHTTPClient, config: String, directory: URL
    ) async throws -> Int {
        let engines: [String: any WorkflowEngine]
        do {
            engines = try ReplayEngines.make(for: Set(letters.map(\.adapter)), config: config, directory: directory, http: http)
        } catch {
            FileHandle.standardError.write(
                Data("error: \(error); nothing was re-sent (\(letters.count) dead letter(s) waiting)\n".utf8))
            throw ExitCode(3)
        }
        var failures = 0
        for letter in letters {
            guard let engine = engines[letter.adapter] else { continue }
            let result: Replayer.Result
            do {
                result = try await replayer.replay(letter, engine: engine)
            } catch {
                // The engine took the commands but the ledger did not take the new decision. The other letters go on.
                switch error.reason {
                case "already_redriven":
                    // Another replay running at the same time re-drove it first; its decision stands.
                    print("#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): sent; another replay re-drove this letter meanwhile")
                case "not_found":
                    failures += 1
                    print(
                        "#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): sent, but retention pruned the letter meanwhile; "
                            + "the key's decision was not changed")
                default:
                    // The letter stays, and the next replay sends its commands again (the engine answers duplicate).
                    failures += 1
                    print("#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): sent, but the decision was not recorded: \(error.detail)")
                }
                continue
            }
            switch result {
            case .redriven(let outcome): print("#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): \(outcome.kind.rawValue)")
            case .rejectedAgain(let outcome):
                failures += 1
                print("#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): rejected again (\(outcome.reason?.rawValue ?? "no reason"))")
            case .failed(let error):
                failures += 1
                print("#\(letter.id) \(TerminalText.escaped(letter.idempotencyKey)): no answer: \(error)")
            case .nothingToSend:
                break  // not selected (Replayer.letters leaves them out)
            }
        }
        return failures
    }

    func validate() throws {
        if let since { _ = try SinceOption.parse(since) }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let since = try self.since.map(SinceOption.parse)
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let failures: Int
        do {
            // A configuration named with --config must be there; sluice.yaml is read when it is.
            let selection = try LedgerSelection.resolve(
                path: ledger.path, url: ledger.url, directory: directory,
                configFile: config.map { URL(fileURLWithPath: $0, relativeTo: directory) })
            failures = try await selection.withLedger(mustExist: true, checkpoints: false) { ledger in
                let replayer = Replayer(ledger: ledger)
                let chosen = try await replayer.letters(adapter: adapter, since: since, limit: limit)
                let letters = chosen.letters
                if chosen.keptWithoutCommands > 0 {
                    // Kept for inspection (an unmatched event, a retired adapter's delivery): nothing to re-send,
                    // and not a failure of this replay.
                    print("\(chosen.keptWithoutCommands) dead letter(s) keep no commands: nothing to re-send (kept)")
                }
                if dryRun {
                    for letter in letters { print(Replayer.describe(letter)) }
                    print("dry run: \(letters.count) dead letter(s) would be re-sent; nothing was sent")
                    return 0
                }
                let http = EngineHTTPClient()
                let outcome: Result<Int, any Error>
                do {
                    outcome = .success(
                        try await Self.replay(letters, with: replayer, http: http, config: config ?? "sluice.yaml", directory: directory))
                } catch {
                    outcome = .failure(error)
                }
                try? await http.shutdown()
                let failures = try outcome.get()
                print("replayed \(letters.count) dead letter(s), \(failures) not re-driven")
                return failures
            }
        } catch let error as LedgerError {
            FileHandle.standardError.write(Data("error: \(error.detail)\n".utf8))
            throw ExitCode(2)
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
