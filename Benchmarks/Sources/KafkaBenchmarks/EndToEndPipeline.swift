import Foundation
import SluiceCore
import SluiceKafka
import SluiceLedger

/// The benchmark's adapter pipeline: map the event with a compiled adapter, admit the plan to the dispatcher
/// (an in-process engine answers at once), record the outcome in the SQLite ledger, then settle.
/// (The product's `AdapterPipeline` does the same; this keeps the benchmark independent of it.)
final class EndToEndPipeline: KafkaRecordHandler {
    let adapter: CompiledAdapter
    let dispatcher: Dispatcher
    let ledger: SQLiteLedger

    /// `SLUICE_BENCH_ORDERING=none` maps with `ordering: none` (default: the Kafka record key).
    static let ordering = ProcessInfo.processInfo.environment["SLUICE_BENCH_ORDERING"] == "none" ? "ordering: none\n" : ""

    static let yaml = """
        adapter: bench.orders
        version: 1
        source:
          kafka: { topics: [bench], group: bench-e2e }
        boundary: { mode: pull-only, max_in_flight: 512, max_queued: 8000, cancellation_budget: 3s }
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

    init(ledger: SQLiteLedger) throws {
        let compiler = AdapterCompiler(references: ConfigReferences(source: NoValues(), resolution: .lenient))
        let (compiled, diagnostics) = compiler.compile(text: Self.yaml + "\n" + Self.ordering, file: "bench.yaml")
        guard let compiled else { throw CocoaError(.featureUnsupported, userInfo: ["diagnostics": "\(diagnostics)"]) }
        adapter = compiled
        self.ledger = ledger
        dispatcher = Dispatcher(
            adapter: compiled.name, boundary: compiled.boundary, retry: compiled.retry, engine: InstantEngine(),
            clock: ContinuousClock(), currentVersion: { 1 })
    }
}

extension EndToEndPipeline {
    var capacity: Int {
        get async { await dispatcher.pullCapacity }
    }

    func waitForCapacity() async { await dispatcher.waitForPullCapacity() }

    func cancel(events: [Event], reason: String) async {
        await dispatcher.cancel(keys: events.map(\.id), reason: reason)
    }

    func submit(_ event: Event, settled: @escaping @Sendable (KafkaSettlement) async -> Void) async throws(DispatchAdmissionError) {
        let ledger = self.ledger
        switch adapter.map(event) {
        case .rejected(let outcome):
            await Self.record(outcome, in: ledger, settled: settled)
        case .plan(let plan):
            try await dispatcher.submit(plan, source: .pull) { result in
                switch result {
                case .decided(let outcome): await Self.record(outcome, in: ledger, settled: settled)
                case .abandoned(let reason): await settled(.abandoned(reason: reason))
                }
            }
        }
    }

    private static func record(
        _ outcome: Outcome, in ledger: SQLiteLedger, settled: @Sendable (KafkaSettlement) async -> Void
    ) async {
        do {
            _ = try await ledger.record(outcome)
            await settled(.recorded(outcome, deadLetter: false))
        } catch {
            await settled(.unrecorded(error))
        }
    }
}
