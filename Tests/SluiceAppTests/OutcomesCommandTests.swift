import Foundation
import SluiceCore
import SluiceLedger
import SluiceTesting
import Testing

/// `sluice outcomes` and `sluice replay`, run as a user would, against a ledger the test fills.
@Suite struct OutcomesCommandTests {
    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    static func outcome(adapter: String, key: String, kind: Outcome.Kind, reason: OutcomeReason? = nil) -> Outcome {
        Outcome(
            adapter: adapter, action: "start_workflow", idempotencyKey: key, kind: kind, reason: reason, workflowID: "wf-\(key)",
            sluice: OutcomeDetails(
                eventID: "evt-\(key)", eventType: "order.created", sourcePosition: .kafka(topic: "orders", partition: 1, offset: 7),
                adapterVersion: 1, rule: "created", attempts: 1, steps: [], receivedAt: start, decidedAt: start))
    }

    /// A project directory whose `sluice.yaml` points at a filled ledger.
    func project() async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-outcomes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "ledger:\n  path: data/ledger.sqlite\n".write(
            to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        let ledger = try await SQLiteLedger.open(
            SQLiteLedgerConfiguration(path: directory.appendingPathComponent("data/ledger.sqlite").path, createDirectory: true))
        _ = try await ledger.record(Self.outcome(adapter: "orders", key: "o-1", kind: .accepted))
        _ = try await ledger.record(Self.outcome(adapter: "orders", key: "o-1", kind: .accepted, reason: "late"))
        _ = try await ledger.record(Self.outcome(adapter: "stripe", key: "s-1", kind: .duplicate))
        let command = EngineCommand(
            action: .startWorkflow, target: CommandTarget(workflowID: "wf-o-2", workflowType: "orders.fulfillment"),
            idempotencyKey: "o-2", requestID: "req-o-2")
        _ = try await ledger.record(
            RecordRequest(
                outcome: Self.outcome(adapter: "orders", key: "o-2", kind: .rejected, reason: .retriesExhausted),
                deadLetter: DeadLetterContent(commands: [command])))
        await ledger.close()
        return directory
    }

    @Test func listsOutcomesAsATable() async throws {
        let directory = try await project()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try SluiceProcess.run(["outcomes"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("RECORDED"))
        #expect(lines[1].contains("o-2") && lines[1].contains("rejected") && lines[1].contains("retries_exhausted"))
        #expect(lines[3].contains("o-1") && lines[3].contains("orders-1-7") && lines[3].hasSuffix("1"))
    }

    @Test func filtersAndPrintsJSONLines() async throws {
        let directory = try await project()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try SluiceProcess.run(
            ["outcomes", "--adapter", "orders", "--outcome", "rejected", "--reason", "retries_exhausted", "--since", "1h", "--json"],
            in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 1)
        let json = try JSONParser.parse(String(lines[0]))
        #expect(try Outcome(json: json).idempotencyKey == "o-2")
        #expect(json["ledger"]?["duplicates"] == 0)
        let byWorkflow = try SluiceProcess.run(["outcomes", "--workflow-id", "wf-s-1", "--json", "--limit", "5"], in: directory)
        #expect(byWorkflow.standardOutput.split(separator: "\n").count == 1)
    }

    @Test func aMissingLedgerIsAClearErrorAndIsNotCreated() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-outcomes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try SluiceProcess.run(["outcomes", "--ledger", "nowhere/ledger.sqlite"], in: directory)
        #expect(result.status == 2)
        #expect(result.standardError.contains("nowhere"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("nowhere").path))
        let bad = try SluiceProcess.run(["outcomes", "--outcome", "maybe"], in: directory)
        #expect(bad.status != 0)
        #expect(bad.standardError.contains("accepted, duplicate or rejected"))
    }

    @Test func replayDryRunListsDeadLettersAndChangesNothing() async throws {
        let directory = try await project()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try SluiceProcess.run(["replay", "--dead-letters", "--dry-run"], in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("orders o-2 [retries_exhausted] → start_workflow wf-o-2 (request req-o-2)"))
        #expect(result.standardOutput.contains("1 dead letter(s) would be re-sent"))
        let none = try SluiceProcess.run(["replay", "--dry-run", "--adapter", "stripe"], in: directory)
        #expect(none.standardOutput.contains("0 dead letter(s)"))
        // With no engine in sluice.yaml, a real replay refuses rather than pretending.
        let real = try SluiceProcess.run(["replay"], in: directory)
        #expect(real.status == 3)
        #expect(real.standardError.contains("no engines to replay to: sluice.yaml:1:1: engines: missing required key 'engines'"), "\(real.standardError)")
        #expect(real.standardError.contains("nothing was re-sent"))
        let again = try SluiceProcess.run(["replay", "--dry-run"], in: directory)
        #expect(again.standardOutput.contains("1 dead letter(s) would be re-sent"))
    }

    /// What a real replay did: the CLI's result, a dry run right after it, and the engine fake's requests.
    struct ReplayRun {
        var result: SluiceProcess.Result
        var dryRunAfter: SluiceProcess.Result
        var requests: [RecordedRequest]
        var bridgeCalls: [RecordedRequest] { requests.filter { $0.path == "/api/bridge-adapters/webhook/orders" } }
    }

    /// Runs `sluice replay` on the test project with `configuration` (engines pointing at a fake) written to
    /// `file` instead of the project's `sluice.yaml`.
    func replay(
        file: String = "sluice.yaml", arguments: [String] = [], adapterFiles: [String: String] = [:],
        engines: (String) -> String
    ) async throws -> ReplayRun {
        let fake = try await DurableWorkflowFake.start()
        let directory = try await project()
        defer { try? FileManager.default.removeItem(at: directory) }
        if !adapterFiles.isEmpty {
            let folder = directory.appendingPathComponent("adapters")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, text) in adapterFiles {
                try text.write(to: folder.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
            }
        }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("sluice.yaml"))
        let config = "ledger:\n  path: data/ledger.sqlite\n" + engines(fake.baseURL)
        try config.write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8)
        let result = try await SluiceProcess.runAwaiting(
            ["replay"] + arguments, in: directory, environment: ["DW_TOKEN": "operator-token"])
        let dryRun = try await SluiceProcess.runAwaiting(["replay", "--dry-run"] + arguments, in: directory)
        let requests = fake.requests
        await fake.stop()
        return ReplayRun(result: result, dryRunAfter: dryRun, requests: requests)
    }

    @Test func replayResendsDeadLettersToTheEngineWithTheSameKeys() async throws {
        let run = try await replay { url in
            "engines:\n  primary: { type: durable-workflow, url: \"\(url)\", token: \"${env:DW_TOKEN}\" }\n"
        }
        #expect(run.result.status == 0, "\(run.result.standardOutput)\(run.result.standardError)")
        #expect(run.result.standardOutput.contains("o-2: accepted"))
        #expect(run.dryRunAfter.standardOutput.contains("0 dead letter(s) would be re-sent"))
        #expect(run.bridgeCalls.count == 1)
        #expect(run.bridgeCalls.first.flatMap { try? JSONParser.parse($0.body) }?["idempotency_key"] == "o-2")
    }

    /// `--config` names the configuration whatever its file name, for the engines and the ledger alike.
    @Test func replayReadsTheConfigurationItIsGiven() async throws {
        let run = try await replay(file: "prod.yaml", arguments: ["--config", "prod.yaml"]) { url in
            "engines:\n  primary: { type: durable-workflow, url: \"\(url)\", token: \"${env:DW_TOKEN}\" }\n"
        }
        #expect(run.result.status == 0, "\(run.result.standardOutput)\(run.result.standardError)")
        #expect(run.result.standardOutput.contains("o-2: accepted"))
        #expect(run.bridgeCalls.count == 1)
    }

    /// With several engines, the adapter files say which engine each letter goes to; a secret of theirs that a
    /// replay does not use (a webhook's signing secret, unset where the operator runs it) does not stop it.
    @Test func replayWithSeveralEnginesDoesNotNeedTheAdaptersSecrets() async throws {
        let adapter = """
            adapter: orders
            engine: other
            source:
              webhook: { path: /webhooks/orders, verify: { scheme: stripe, secrets: ["${env:ORDERS_SIGNING_SECRET}"] } }
            rules:
              - name: created
                do:
                  - start_workflow: { workflow_type: orders.fulfillment }

            """
        let run = try await replay(adapterFiles: ["orders": adapter]) { url in
            """
            adapters: adapters
            default_engine: primary
            engines:
              primary: { type: durable-workflow, url: "http://127.0.0.1:9", token: "${env:DW_TOKEN}" }
              other: { type: durable-workflow, url: "\(url)", token: "${env:DW_TOKEN}" }

            """
        }
        #expect(run.result.status == 0, "\(run.result.standardOutput)\(run.result.standardError)")
        #expect(run.result.standardOutput.contains("o-2: accepted"))
        #expect(run.bridgeCalls.count == 1)
    }

    /// With several engines, a letter whose adapter's engine cannot be told is not sent to a guessed one.
    @Test func replayNeverGuessesAmongSeveralEngines() async throws {
        let run = try await replay { url in
            """
            default_engine: primary
            engines:
              primary: { type: durable-workflow, url: "\(url)", token: "${env:DW_TOKEN}" }
              other: { type: durable-workflow, url: "\(url)", token: "${env:DW_TOKEN}" }

            """
        }
        #expect(run.result.status == 3)
        #expect(run.result.standardError.contains("cannot tell which of the engines each adapter uses"), "\(run.result.standardError)")
        #expect(run.requests.isEmpty)
    }
}
