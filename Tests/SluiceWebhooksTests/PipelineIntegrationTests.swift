import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceCore
import SluiceEngines
import SluiceTesting
import SluiceWebhooks
import Testing

/// The routes on the real ``AdapterPipeline`` (gate, ledger, engine client) and the Durable Workflow
/// fake over loopback: a verified webhook is answered `202` and reaches the engine; the bridge
/// endpoint answers with the engine's outcome.
@Suite struct PipelineIntegrationTests {
    static let http = EngineHTTPClient(connectTimeout: .seconds(1))
    static let engineToken = "engine-op-token"

    struct Values: ConfigValueSource {
        func environment(_ name: String) -> String? { name == "STRIPE_WEBHOOK_SECRET" ? "whsec_test_secret" : nil }
        func file(_ path: String) throws -> String { throw FixtureError("no files") }
    }

    static func stripeAdapter() throws -> CompiledAdapter {
        let yaml = """
            adapter: stripe
            version: 1
            source:
              webhook:
                path: /webhooks/stripe
                verify: { scheme: stripe, secrets: ["${env:STRIPE_WEBHOOK_SECRET}"], tolerance: 5m }
            boundary: { max_in_flight: 4, max_queued: 16, cancellation_budget: 2s }
            idempotency_key: "${event.id}"
            rules:
              - name: paid
                when: { event.type: checkout.session.completed }
                do:
                  - start_workflow:
                      workflow_type: orders.fulfillment
                      workflow_id: "order-${body.data.object.metadata.order_id}"
                      task_queue: orders
                      input: ["${body.data.object.metadata.order_id}"]
            """
        let compiler = AdapterCompiler(references: ConfigReferences(source: Values(), resolution: .strict))
        let (set, diagnostics) = AdapterSet.compile([AdapterSet.File(name: "stripe.yaml", text: yaml)], compiler: compiler)
        guard let adapter = set?.adapters.first else {
            throw FixtureError(diagnostics.map(\.description).joined(separator: "\n"))
        }
        return adapter
    }

    static func withPipeline<T: Sendable>(
        _ body: (AdapterPipeline, DurableWorkflowFake, InMemoryLedger) async throws -> T
    ) async throws -> T {
        var settings = DurableWorkflowFake.Configuration()
        settings.operatorToken = engineToken
        let fake = try await DurableWorkflowFake.start(settings)
        let engine = DurableWorkflowEngine(
            endpoint: EngineEndpoint(baseURL: fake.baseURL, token: Secret(engineToken), timeout: .seconds(5)), http: http)
        let adapter = try stripeAdapter()
        let dispatcher = Dispatcher(
            adapter: adapter.name, boundary: adapter.boundary, retry: adapter.retry, engine: engine,
            clock: ContinuousClock(), currentVersion: { 1 })
        let ledger = InMemoryLedger()
        let pipeline = AdapterPipeline(adapter: adapter, dispatcher: dispatcher, ledger: ledger)
        let running = Task { await dispatcher.run() }
        defer { running.cancel() }
        do {
            let result = try await body(pipeline, fake, ledger)
            await dispatcher.finish()
            await running.value
            await fake.stop()
            return result
        } catch {
            await dispatcher.finish()
            await running.value
            await fake.stop()
            throw error
        }
    }

    static func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func aVerifiedWebhookIsAcceptedThenDeliveredToTheEngine() async throws {
        try await Self.withPipeline { pipeline, fake, ledger in
            let endpoints = try WebhookRoutes.endpoints(for: [pipeline])
            #expect(endpoints.map(\.path) == ["/webhooks/stripe"])
            let genuine = try RouteTestSupport.fixtureCase("stripe", "genuine")
            let now = Date(timeIntervalSince1970: Double(genuine.now))
            let router = try WebhookRoutes.buildRouter(endpoints, options: WebhookRouteOptions(now: { now }))
            try await Application(router: router).test(.router) { client in
                let response = try await client.execute(
                    uri: "/webhooks/stripe", method: .post, headers: RouteTestSupport.headers(genuine),
                    body: ByteBuffer(string: genuine.body))
                #expect(response.status == .accepted)
                #expect(try RouteTestSupport.json(response)["adapter"]?.stringValue == "stripe")
                let delivered = try await Self.eventually {
                    try await ledger.decision(adapter: "stripe", idempotencyKey: "evt_1NG8Du2eZvKYlo2CUI79vXWy") != nil
                }
                #expect(delivered)
                #expect(fake.workflow("order-order-1001") != nil)
                // The sender retries the same delivery: answered from the ledger, not stored again.
                let again = try await client.execute(
                    uri: "/webhooks/stripe", method: .post, headers: RouteTestSupport.headers(genuine),
                    body: ByteBuffer(string: genuine.body))
                #expect(again.status == .ok)
                let earlier = try? Outcome(json: try RouteTestSupport.json(again))
                // `duplicate` when a first engine call timed out under load and the retry found the workflow.
                #expect(earlier?.kind == .accepted || earlier?.kind == .duplicate, "\(String(buffer: again.body))")
                let unsigned = try await client.execute(
                    uri: "/webhooks/stripe", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: genuine.body))
                #expect(unsigned.status == .unauthorized)
            }
            #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
        }
    }

    @Test func theBridgeEndpointAnswersWithTheEnginesOutcome() async throws {
        try await Self.withPipeline { pipeline, fake, _ in
            let router = Router()
            BridgeEndpoint(tokens: [Secret("bridge-token")], executors: ["stripe": pipeline]).register(on: router)
            let wire = try BridgeEndpointTests.wire("07_bridge_start_workflow")
            try await Application(router: router).test(.router) { client in
                let first = try await client.execute(
                    uri: wire.path, method: .post, headers: BridgeEndpointTests.headers(wire, token: "bridge-token"),
                    body: ByteBuffer(string: wire.bodyRaw))
                #expect(first.status == .accepted)
                let outcome = try Outcome(json: try RouteTestSupport.json(first))
                #expect(outcome.kind == .accepted)
                let workflowID = try #require(outcome.workflowID)
                #expect(fake.workflow(workflowID) != nil)
                let again = try await client.execute(
                    uri: wire.path, method: .post, headers: BridgeEndpointTests.headers(wire, token: "bridge-token"),
                    body: ByteBuffer(string: wire.bodyRaw))
                #expect(again.status == .ok)
                #expect(try Outcome(json: try RouteTestSupport.json(again)).kind == .duplicate)
            }
        }
    }
}
