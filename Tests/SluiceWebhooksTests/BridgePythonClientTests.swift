import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceCore
import SluiceLaunch
import SluiceTesting
import SluiceWebhooks
import Testing

/// The engine's official Python client (`durable-workflow==2.12.0`) against Sluice over loopback:
/// `Fixtures/bridge_client.py` calls `send_webhook_bridge_event` and prints what it got.
@Suite struct BridgePythonClientTests {
    static let clientAvailable: Bool = {
        guard let python = ManagedProcess.find("python3") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import durable_workflow, httpx"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test(
        .enabled(
            if: clientAvailable,
            "durable-workflow is not importable: pip install --no-deps durable-workflow==2.12.0 && pip install httpx fastavro sniffio"
        ),
        .timeLimit(.minutes(1)))
    func theOfficialClientGetsTheEnginesAnswers() async throws {
        let ledger = InMemoryLedger()
        let stripe = LedgerBridgeExecutor(ledger: ledger)
        let busy = LedgerBridgeExecutor(ledger: ledger, mode: .saturated)
        let slow = LedgerBridgeExecutor(ledger: ledger, mode: .timedOut)
        let router = Router()
        BridgeEndpoint(tokens: [Secret("python-token")], executors: ["stripe": stripe, "busy": busy, "slow": slow])
            .register(on: router)
        let script = try #require(Bundle.module.url(forResource: "bridge_client", withExtension: "py", subdirectory: "Fixtures"))
        let python = try #require(ManagedProcess.find("python3"))
        let output = try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bridge-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = try ManagedProcess.launch(
                python, arguments: [script.path, "http://127.0.0.1:\(port)", "python-token"],
                logFile: directory.appendingPathComponent("stdout"), errorFile: directory.appendingPathComponent("stderr"))
            let status = await process.exitStatus()
            let stderr = (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? ""
            #expect(status == 0, "bridge_client.py failed: \(stderr.suffix(2000))")
            return process.log
        }
        let results = try JSONParser.parse(output)
        func returned(_ name: String) -> JSONValue? { results[name]?["returned"] }
        #expect(returned("start")?["outcome"]?.stringValue == "accepted")
        #expect(returned("start")?["workflow_id"]?.stringValue == "bridge-stripe-" + Digest.sha256Hex("evt_1001").prefix(32))
        #expect(returned("start_again")?["outcome"]?.stringValue == "duplicate")
        #expect(returned("start_again")?["reason"]?.stringValue == "duplicate_start")
        #expect(returned("signal")?["outcome"]?.stringValue == "accepted")
        #expect(returned("update")?["outcome"]?.stringValue == "accepted")
        #expect(returned("unsupported_action")?["reason"]?.stringValue == "unsupported_action")
        #expect(returned("engine_rejects")?["reason"]?.stringValue == "unknown_target")
        #expect(returned("malformed")?["reason"]?.stringValue == "malformed_payload")
        #expect(returned("unknown_adapter")?["reason"]?.stringValue == "unsupported_routing")
        #expect(results["saturated"]?["raised"]?.stringValue == "ServerError")
        #expect(results["saturated"]?["status"]?.intValue == 429)
        #expect(results["timed_out"]?["status"]?.intValue == 503)
        #expect(results["bad_token"]?["raised"]?.stringValue == "Unauthorized")
        // The client retries 429 and 503 with the byte-identical body: the same key each time.
        #expect(busy.plans.count == 3)
        #expect(Set(slow.plans.map(\.idempotencyKey)) == ["evt_slow"])
        #expect(slow.plans.count == 3)
        let signal = try #require(stripe.plans.first { $0.idempotencyKey == "evt_1002" })
        #expect(signal.steps[0].command.input == [.int(1200)])
    }
}
