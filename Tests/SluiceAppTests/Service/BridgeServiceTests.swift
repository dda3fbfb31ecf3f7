import Foundation
import SluiceApp
import SluiceCore
import SluiceTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("sluice serve: the Durable Workflow-compatible bridge endpoint through the real pipeline")
struct BridgeServiceTests {
    /// The adapter is at version 3, as the example adapters are: the bridge's plans must be made under
    /// the adapter's version, or the gate answers every call `incompatible_state`.
    static let adapterYAML = ordersAdapterYAML.replacingOccurrences(of: "version: 1", with: "version: 3")

    static let body = """
        {"action":"start_workflow","idempotency_key":"evt_bridge_1",\
        "target":{"workflow_type":"orders.fulfillment","task_queue":"orders","business_key":"order-77"},\
        "input":{"order_id":"order-77"},"correlation":{"provider":"stripe"}}
        """

    func post(_ service: RunningService, token: String) async throws -> (status: Int, json: JSONValue?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(service.port)/api/bridge-adapters/webhook/orders")!)
        request.httpMethod = "POST"
        request.httpBody = Data(Self.body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("2", forHTTPHeaderField: "X-Durable-Workflow-Control-Plane-Version")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONParser.parse(Array(data)))
    }

    @Test("a bridge call to an adapter at version 3 starts the workflow, and its retry is a duplicate")
    func bridgeCallToAVersionedAdapter() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["orders": Self.adapterYAML],
            extra: "bridge:\n  tokens: [\"${env:SLUICE_BRIDGE_TEST_TOKEN}\"]")
        defer { project.cleanUp() }
        let token = "bridge-token-\(UUID().uuidString)"
        let config = try project.configuration(environment: ["SLUICE_BRIDGE_TEST_TOKEN": token])
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(config, ledger: ledger)

        let first = try await post(service, token: token)
        #expect(first.status == 202)
        #expect(first.json?["outcome"]?.stringValue == "accepted")
        #expect(first.json?["sluice"]?["adapter_version"]?.intValue == 3)
        let recorded = try await ledger.decision(adapter: "orders", idempotencyKey: "evt_bridge_1")
        #expect(recorded?.kind == .accepted)
        #expect(recorded?.sluice?.adapterVersion == 3)

        let again = try await post(service, token: token)
        #expect(again.status == 200)
        #expect(again.json?["outcome"]?.stringValue == "duplicate")
        try await service.stop()
        await fake.stop()
    }
}
