import Foundation
import SluiceCore
import SluiceKafka
import SluiceLedger

/// The benchmark's adapter: the product's ``AdapterPipeline`` (mapping, the idempotency check against
/// the ledger, the dispatcher's gate, an in-process engine that answers at once, the outcome written
/// durably to SQLite) behind the product's ``PipelineRecordHandler``.
enum EndToEndPipeline {
    /// `SLUICE_BENCH_ORDERING=none` maps with `ordering: none` (default: the Kafka record key).
    static let ordering = ProcessInfo.processInfo.environment["SLUICE_BENCH_ORDERING"] == "none" ? "ordering: none\n" : ""
    /// The gate's `max_in_flight` (`SLUICE_BENCH_MAX_IN_FLIGHT`, default 4,096): each event holds its slot
    /// until its outcome is durable, so the slots must cover a group commit's worth of events.
    static let maxInFlight = ProcessInfo.processInfo.environment["SLUICE_BENCH_MAX_IN_FLIGHT"].flatMap(Int.init) ?? 4_096

    static var yaml: String {
        """
        adapter: bench.orders
        version: 1
        source:
          kafka: { topics: [bench], group: bench-e2e }
        boundary: { mode: pull-only, max_in_flight: \(maxInFlight), max_queued: 8000, cancellation_budget: 3s }
        idempotency_key: "${event.id}"
        rules:
          - name: created
            when: { event.type: order.created }
            do:
              - start_workflow:
                  workflow_type: orders.fulfillment
                  workflow_id: "order-${body.order_id}"
                  input: [{ customer: "${body.customer}", amount: "${body.amount_cents}" }]
        """
    }

    struct InstantEngine: WorkflowEngine {
        func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
            Outcome(
                adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: .accepted,
                workflowID: command.target.workflowID)
        }
        func checkReadiness() async throws(EngineError) {}
    }

    struct NoValues: ConfigValueSource {
        func environment(_ name: String) -> String? { nil }
        func file(_ path: String) throws -> String { throw CocoaError(.fileNoSuchFile) }
    }

    static func make(ledger: SQLiteLedger) throws -> AdapterPipeline {
        let compiler = AdapterCompiler(references: ConfigReferences(source: NoValues(), resolution: .lenient))
        let (compiled, diagnostics) = compiler.compile(text: yaml + "\n" + ordering, file: "bench.yaml")
        guard let compiled else { throw CocoaError(.featureUnsupported, userInfo: ["diagnostics": "\(diagnostics)"]) }
        let dispatcher = Dispatcher(
            adapter: compiled.name, boundary: compiled.boundary, retry: compiled.retry, engine: InstantEngine(),
            clock: ContinuousClock(), currentVersion: { 1 })
        return AdapterPipeline(adapter: compiled, dispatcher: dispatcher, ledger: ledger)
    }
}
