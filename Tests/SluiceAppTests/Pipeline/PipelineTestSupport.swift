import Foundation
import SluiceCore
import SluiceEngines
import SluiceTesting

/// One shared HTTP client for the pipeline and service tests, as in production.
let pipelineHTTP = EngineHTTPClient(connectTimeout: .seconds(1))

let pipelineToken = "op-secret-pipeline"

/// A webhook adapter that starts one workflow per event.
func orderAdapter(maxInFlight: Int = 4, maxQueued: Int = 16, unmatched: String = "ack", ordered: Bool = false) throws -> CompiledAdapter {
    let yaml = """
        adapter: orders
        version: 1\(ordered ? "\nordering: { key: \"${body.order}\" }" : "")
        source:
          webhook: { path: /webhooks/orders, verify: { scheme: none } }
        boundary: { max_in_flight: \(maxInFlight), max_queued: \(maxQueued), cancellation_budget: 2s }
        idempotency_key: "${body.id}"
        unmatched: \(unmatched)
        rules:
          - name: created
            when: { event.type: order.created }
            do:
              - start_workflow: { workflow_type: orders.fulfillment, task_queue: orders, workflow_id: "order-${body.order}", input: ["${body}"] }
        """
    let compiler = AdapterCompiler(
        references: ConfigReferences(source: EmptyValues(), resolution: .strict), engineNames: nil)
    let (set, diagnostics) = AdapterSet.compile([AdapterSet.File(name: "orders.yaml", text: yaml)], compiler: compiler)
    guard let adapter = set?.adapters.first else {
        throw PipelineTestError(description: diagnostics.map(\.description).joined(separator: "\n"))
    }
    return adapter
}

struct PipelineTestError: Error, CustomStringConvertible {
    var description: String
}

struct EmptyValues: ConfigValueSource {
    func environment(_ name: String) -> String? { nil }
    func file(_ path: String) throws -> String { throw PipelineTestError(description: "no files") }
}

/// A webhook delivery and its event, as the route would hand them over.
func orderDelivery(id: String, order: Int, type: String = "order.created") throws -> (Event, Delivery) {
    let body = Array(#"{"id":"\#(id)","type":"\#(type)","order":\#(order)}"#.utf8)
    let headers = HeaderFields([HeaderFields.Field(name: "Content-Type", value: "application/json")])
    let receivedAt = Date()
    let event = try Event.webhook(
        source: "orders", request: EventOrigin.WebhookRequest(path: "/webhooks/orders"), headers: headers, body: body,
        receivedAt: receivedAt)
    return (event, Delivery(adapter: "orders", target: "/webhooks/orders", headers: headers, body: body, receivedAt: receivedAt))
}

/// A Durable Workflow fake on loopback that takes ``pipelineToken``.
func startEngineFake() async throws -> DurableWorkflowFake {
    var settings = DurableWorkflowFake.Configuration()
    settings.operatorToken = pipelineToken
    return try await DurableWorkflowFake.start(settings)
}

/// A pipeline on a fresh Durable Workflow fake (over loopback HTTP) and an in-memory ledger; the
/// dispatcher runs for the duration of `body`.
func withPipeline<T: Sendable>(
    adapter: CompiledAdapter? = nil, ledger: InMemoryLedger = InMemoryLedger(), options: PipelineOptions = PipelineOptions(),
    _ body: (AdapterPipeline, DurableWorkflowFake, InMemoryLedger) async throws -> T
) async throws -> T {
    let fake = try await startEngineFake()
    let engine = DurableWorkflowEngine(
        endpoint: EngineEndpoint(baseURL: fake.baseURL, token: Secret(pipelineToken), timeout: .seconds(5)),
        http: pipelineHTTP)
    let compiled = try adapter ?? orderAdapter()
    let dispatcher = Dispatcher(
        adapter: compiled.name, boundary: compiled.boundary, retry: compiled.retry, engine: engine,
        clock: ContinuousClock(), currentVersion: { 1 })
    let pipeline = AdapterPipeline(adapter: compiled, dispatcher: dispatcher, ledger: ledger, options: options)
    let running = Task { await dispatcher.run() }
    do {
        let result = try await body(pipeline, fake, ledger)
        await dispatcher.finish()
        await running.value
        await fake.stop()
        return result
    } catch {
        await dispatcher.cancel(reason: "test failed")
        await dispatcher.finish()
        await running.value
        await fake.stop()
        throw error
    }
}

/// Polls until `condition` holds (up to `timeout`).
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
