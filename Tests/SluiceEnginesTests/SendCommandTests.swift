import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite("sluice send against the Durable Workflow fake")
struct SendCommandTests {
    func project(url: String, mode: String = "bridge") throws -> URL {
        try SluiceCLI.project(
            """
            engines:
              dw:
                type: durable-workflow
                url: \(url)
                token: ${env:SLUICE_TEST_DW_TOKEN}
                mode: \(mode)
                timeout: 30s
            """)
    }

    @Test("accepted and duplicate exit 0, rejected exits 1, printing the outcome JSON")
    func outcomes() async throws {
        try await withFake { fake, _ in try await outcomes(fake) }
    }

    func outcomes(_ fake: DurableWorkflowFake) async throws {
        let directory = try project(url: fake.baseURL)
        let environment = ["SLUICE_TEST_DW_TOKEN": operatorToken]
        let arguments = [
            "send", "--config", "sluice.yaml", "--engine", "dw", "--adapter", "stripe", "--action", "start_workflow",
            "--idempotency-key", "evt_1", "--target", #"{"workflow_type":"orders.fulfillment","task_queue":"orders"}"#,
            "--input", #"{"order_id":"o-1"}"#, "--correlation", #"{"provider":"stripe"}"#,
        ]
        let first = try await SluiceCLI.run(arguments, in: directory, environment: environment)
        #expect(first.status == 0, "\(first.error)")
        #expect(first.json?["outcome"] == "accepted")
        #expect(first.json?["correlation"]?["provider"] == "stripe")
        #expect(fake.requests.last?.json?["input"] == [["order_id": "o-1"]])
        let second = try await SluiceCLI.run(arguments, in: directory, environment: environment)
        #expect(second.status == 0, "\(second.error)")
        #expect(second.json?["outcome"] == "duplicate")
        #expect(second.json?["reason"] == "duplicate_start")

        let rejected = try await SluiceCLI.run(
            [
                "send", "--adapter", "stripe", "--action", "signal_workflow", "--idempotency-key", "evt_2", "--target",
                #"{"workflow_id":"missing","signal_name":"paid"}"#,
            ], in: directory, environment: environment)
        #expect(rejected.status == 1)
        #expect(rejected.json?["reason"] == "unknown_target")
        #expect(!(first.output + first.error + rejected.output + rejected.error).contains(operatorToken))
    }

    @Test("errors exit 2 with JSON (engine down, missing token variable, bad options, bad configuration); usage errors 64")
    func errors() async throws {
        let fake = try await DurableWorkflowFake.start()
        let url = fake.baseURL
        await fake.stop()
        let directory = try project(url: url)
        let base = ["send", "--adapter", "a", "--action", "start_workflow", "--idempotency-key", "k"]
        let down = try await SluiceCLI.run(
            base + ["--target", #"{"workflow_type":"t"}"#], in: directory, environment: ["SLUICE_TEST_DW_TOKEN": "x"])
        #expect(down.status == 2)
        #expect(down.json?["error"]?["kind"] == "retryable")
        let noToken = try await SluiceCLI.run(base + ["--target", #"{"workflow_type":"t"}"#], in: directory)
        #expect(noToken.status == 2)
        #expect(noToken.json?["error"]?["detail"]?.stringValue?.contains("SLUICE_TEST_DW_TOKEN") == true)
        let badTarget = try await SluiceCLI.run(
            base + ["--target", #"{"workflow_typo":"t"}"#], in: directory, environment: ["SLUICE_TEST_DW_TOKEN": "x"])
        #expect(badTarget.status == 2)
        #expect(badTarget.error.contains("workflow_typo"))
        // A number where the target wants text is refused, not read as absent (a start under a derived id).
        let numericID = try await SluiceCLI.run(
            base + ["--target", #"{"workflow_type":"t","workflow_id":1001}"#], in: directory, environment: ["SLUICE_TEST_DW_TOKEN": "x"])
        #expect(numericID.status == 2)
        #expect(numericID.error.contains("--target workflow_id is text"), "\(numericID.error)")
        let badAction = try await SluiceCLI.run(
            ["send", "--adapter", "a", "--action", "start", "--idempotency-key", "k", "--target", "{}"], in: directory,
            environment: ["SLUICE_TEST_DW_TOKEN": "x"])
        #expect(badAction.status == 2, "\(badAction.error)")
        #expect(badAction.json?["error"]?["detail"]?.stringValue?.contains("--action 'start' is not one of") == true)
        let valid = base + ["--target", #"{"workflow_type":"t"}"#]
        let missingFile = try await SluiceCLI.run(valid + ["--config", "missing.yaml"], in: directory)
        #expect(missingFile.status == 2)
        #expect(missingFile.json?["error"]?["detail"] == "missing.yaml: cannot read the file", "\(missingFile.output)")
        try "engines:\n  dw: [\n".write(to: directory.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        let broken = try await SluiceCLI.run(valid + ["--config", "broken.yaml"], in: directory)
        #expect(broken.status == 2)
        #expect(broken.json?["error"]?["detail"]?.stringValue?.hasPrefix("broken.yaml:") == true, "\(broken.output)")
        let missingOption = try await SluiceCLI.run(["send", "--adapter", "a"], in: directory)
        #expect(missingOption.status == 64)
        #expect(missingOption.error.contains("--action"), "\(missingOption.error)")
    }
}
