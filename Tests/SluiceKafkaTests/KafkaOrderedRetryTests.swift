import Foundation
import SluiceCore
import SluiceKafka
import SluiceTesting
import Synchronization
import Testing

extension KafkaSuites {
    /// An ordered adapter through the real pipeline and gate: a record that ends undecided is submitted again before
    /// any later record of its key runs, even one that was already on its way into the gate.
    @Suite struct OrderedRetry {
        static let adapterYAML = """
            adapter: orders
            version: 1
            ordering: { key: "${body.key}" }
            source:
              kafka: { topics: [orders] }
            boundary: { max_in_flight: 4, max_queued: 64, cancellation_budget: 2s }
            idempotency_key: "seq-${body.seq}"
            rules:
              - name: created
                when: { event.type: order.created }
                do:
                  - start_workflow: { workflow_type: orders.fulfillment, task_queue: orders, workflow_id: "order-${body.seq}" }
            """

        /// The race of note 28: record 0 (key k) runs; record 1 (key k) is admitted by the source and waits in its
        /// ledger check; record 0 ends abandoned (the engine refused Sluice) and the gate lets key k go. Record 1 must
        /// then wait behind record 0's retry, not run in the empty lane before it.
        @Test(.timeLimit(.minutes(1)))
        func aLaterRecordWaitsBehindAnEarlierOneAbandonedWhileItWasChecked() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 1)
            let compiler = AdapterCompiler(
                references: ConfigReferences(source: NoConfigValues(), resolution: .strict), engineNames: nil)
            let adapter = try #require(compiler.compile(text: Self.adapterYAML, file: "orders.yaml").adapter)
            let engine = FirstCallRefusedEngine()
            let ledger = InMemoryLedger()
            let dispatcher = Dispatcher(
                adapter: adapter.name, boundary: adapter.boundary, retry: adapter.retry, engine: engine,
                clock: ContinuousClock(), currentVersion: { 1 })
            let running = Task { await dispatcher.run() }
            let pipeline = AdapterPipeline(adapter: adapter, dispatcher: dispatcher, ledger: ledger)
            var configuration = KafkaTest.configuration(cluster, topic: "orders", group: "ordered-retry")
            configuration.retryBackoff = .seconds(1)
            let source = try KafkaSource(
                configuration: configuration, handler: PipelineRecordHandler(pipeline: pipeline), logger: KafkaTest.logger)
            let messages = KafkaTest.messages(topic: "orders", count: 2, keys: 1)
            try await KafkaTest.withRunning(source) {
                try await KafkaTest.produce([messages[0]], to: cluster)
                #expect(await KafkaTest.eventually { engine.calls.count == 1 })
                ledger.holdSummaries(forKeys: ["seq-1"])
                try await KafkaTest.produce([messages[1]], to: cluster)
                #expect(await KafkaTest.eventually { ledger.heldSummaries == 1 })
                engine.refuseTheParkedCall()
                // Record 0 is back in its partition's queue (1 s backoff) and the gate has let key k go.
                #expect(
                    await KafkaTest.eventually {
                        guard source.statistics.retried >= 1 else { return false }
                        return await dispatcher.snapshot.inFlight == 0
                    })
                ledger.releaseSummaries()
                #expect(await KafkaTest.eventually { source.statistics.settled == 2 })
            }
            await dispatcher.finish()
            await running.value
            #expect(engine.calls == ["seq-0", "seq-0", "seq-1"], "record 1 ran before record 0's retry")
            #expect(source.statistics.takenBack == 1)
            #expect(ledger.allDecisions.map(\.outcome.idempotencyKey).sorted() == ["seq-0", "seq-1"])
        }
    }
}

/// No environment and no files: the adapter references neither.
private struct NoConfigValues: ConfigValueSource {
    func environment(_ name: String) -> String? { nil }
    func file(_ path: String) throws -> String { throw CocoaError(.fileNoSuchFile) }
}

/// An engine whose first call waits until ``refuseTheParkedCall()`` and then fails as an engine that refuses Sluice's
/// credentials does (the event ends abandoned); every other call is accepted. It records each call's idempotency key.
private final class FirstCallRefusedEngine: WorkflowEngine {
    private struct State {
        var calls: [String] = []
        var refused = false
    }

    private let state = Mutex(State())

    var calls: [String] { state.withLock { $0.calls } }

    func refuseTheParkedCall() {
        state.withLock { $0.refused = true }
    }

    func execute(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let first = state.withLock { state in
            state.calls.append(command.idempotencyKey)
            return state.calls.count == 1
        }
        if first {
            while !state.withLock({ $0.refused }), !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(2))
            }
            throw EngineError.fatal("unauthorized", "HTTP 401: bad token", statusCode: 401)
        }
        return Outcome(
            adapter: adapter, action: command.action.rawValue, idempotencyKey: command.idempotencyKey, kind: .accepted,
            workflowID: command.target.workflowID, runID: "run-1")
    }

    func checkReadiness() async throws(EngineError) {}
}
