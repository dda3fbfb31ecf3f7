import ArgumentParser
import Foundation
import SluiceApp
import SluiceCore
import SluiceEngines

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one command through a configured engine and print the outcome as JSON.",
        discussion: """
            Like the engine CLI's bridge:webhook: performs a start, signal, update or signal-with-start \
            with an idempotency key, through the engine named in sluice.yaml (Durable Workflow's bridge \
            or control plane, or Temporal), and prints the bridge-adapter outcome. Sending the same \
            command twice is a replay: the engine answers duplicate or dedupes it.

            Exit status: 0 for accepted or duplicate, 1 for rejected, 2 for errors (the engine could \
            not be reached, refused Sluice, the configuration or an option's value is wrong); errors print \
            {"error": {...}}. A missing or unknown option is a usage error: exit 64, with the usage, no JSON.
            """
    )

    @Option(name: .long, help: "The configuration file.")
    var config: String = "sluice.yaml"

    @Option(name: .long, help: "The engine's name in sluice.yaml (default: its default engine).")
    var engine: String?

    @Option(name: .long, help: "The adapter name (the engine's bridge adapter label).")
    var adapter: String

    @Option(name: .long, help: "start_workflow, signal_workflow, update_workflow or signal_with_start.")
    var action: String

    @Option(name: .long, help: "The idempotency key.")
    var idempotencyKey: String

    @Option(name: .long, help: ArgumentHelp("The target as a JSON object.", valueName: "JSON"))
    var target: String

    @Option(name: .long, help: ArgumentHelp("The arguments: a JSON array, or one value.", valueName: "JSON"))
    var input: String?

    @Option(name: .long, help: ArgumentHelp("signal_with_start: the workflow's arguments.", valueName: "JSON"))
    var startInput: String?

    @Option(name: .long, help: ArgumentHelp("A JSON object echoed back in the outcome.", valueName: "JSON"))
    var correlation: String?

    @Option(name: .long, help: "The request id (default: derived from adapter, action and key).")
    var requestId: String?

    func run() async throws {
        guard let parsedAction = EngineCommand.Action(rawValue: action) else {
            let known = EngineCommand.Action.allCases.map(\.rawValue).joined(separator: ", ")
            return try finish(EngineSend.problem("--action '\(action)' is not one of \(known)"))
        }
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let configURL = config.hasPrefix("/") ? URL(fileURLWithPath: config) : directory.appendingPathComponent(config)
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            return try finish(EngineSend.problem("\(config): cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return try finish(EngineSend.problem("\(config): the file is not UTF-8 text"))
        }
        let (spec, diagnostics) = SluiceConfigSpec.read(text, file: config)
        guard let spec else {
            return try finish(EngineSend.problem(diagnostics.map(\.description).joined(separator: "\n")))
        }
        let references = ConfigReferences(
            source: ProcessConfigValueSource(baseDirectory: configURL.deletingLastPathComponent()), resolution: .strict)
        let request = SendRequest(
            engine: engine, adapter: adapter, action: parsedAction, idempotencyKey: idempotencyKey, target: target,
            input: input, startInput: startInput, correlation: correlation, requestID: requestId)
        let http = EngineHTTPClient(maximumConnectionsPerHost: 1, connectTimeout: .seconds(2))
        let report = await EngineSend.send(request, config: spec, references: references, http: http)
        try? await http.shutdown()
        try finish(report)
    }

    /// Prints the report's JSON (and its message on standard error) and ends with its exit status.
    private func finish(_ report: EngineSend.Report) throws {
        print(JSONWriter.prettyString(report.json))
        if let message = report.message { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
