import ArgumentParser
import Foundation
import SluiceApp
import SluiceCore

struct Outcomes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the outcomes recorded in the ledger, newest first.",
        discussion: """
            Prints a table by default, or one JSON object per line with --json (the outcome contract, \
            with the ledger's id, time and duplicate count under "ledger"). Exit status 2 when the ledger \
            cannot be opened.
            """
    )

    @OptionGroup var ledger: LedgerOptions

    @Option(help: "Only this adapter's outcomes.")
    var adapter: String?

    @Option(help: ArgumentHelp("Only outcomes of this kind: accepted, duplicate or rejected.", valueName: "KIND"))
    var outcome: String?

    @Option(help: "Only outcomes with this reason (unknown_target, retries_exhausted…).")
    var reason: String?

    @Option(help: ArgumentHelp("Only outcomes recorded since: an RFC 3339 time or a duration ago (1h, 30m, 7d).", valueName: "TIME"))
    var since: String?

    @Option(name: .customLong("workflow-id"), help: "Only outcomes for this workflow id.")
    var workflowID: String?

    @Option(help: "At most this many outcomes.")
    var limit: Int = 50

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func validate() throws {
        if let outcome, Outcome.Kind(rawValue: outcome) == nil {
            throw ValidationError("--outcome '\(outcome)' is not accepted, duplicate or rejected")
        }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let since { _ = try SinceOption.parse(since) }
    }

    func run() async throws {
        let query = OutcomeQuery(
            adapter: adapter, kind: outcome.flatMap(Outcome.Kind.init(rawValue:)), reason: reason.map(OutcomeReason.init(rawValue:)),
            since: try since.map(SinceOption.parse), workflowID: workflowID, limit: limit)
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        do {
            let selection = try LedgerSelection.resolve(path: ledger.path, url: ledger.url, directory: directory)
            let rows = try await selection.withLedger(mustExist: true, checkpoints: false) { try await $0.outcomes(query) }
            print(json ? OutcomeListing.jsonLines(rows) : OutcomeListing.table(rows), terminator: "")
        } catch let error as LedgerError {
            FileHandle.standardError.write(Data("error: \(error.detail)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// `--since`: an RFC 3339 time, or a duration ago.
enum SinceOption {
    static func parse(_ text: String) throws -> Date {
        if let date = Timestamp.parse(text) { return date }
        if let duration = DurationText.parse(text) { return Date().addingTimeInterval(-duration.timeInterval) }
        throw ValidationError("--since '\(text)' is neither an RFC 3339 time (2026-01-31T12:00:00Z) nor a duration (1h, 7d)")
    }
}
