import Foundation
import InMemoryTracing
import SluiceCore
import SluiceTesting
import Testing
import Tracing

/// The process's tracer for this suite: bootstrapped once, the first time a test needs it.
let testTracer: InMemoryTracer = {
    let tracer = InMemoryTracer()
    InstrumentationSystem.bootstrap(tracer)
    return tracer
}()

@Suite("Tracing: a span per event, its engine calls as children")
struct TracingTests {
    @Test("an accepted webhook has an event span with its outcome, and its engine call is a child span")
    func eventAndEngineSpans() async throws {
        let tracer = testTracer
        try await withPipeline { pipeline, _, ledger in
            let (event, delivery) = try orderDelivery(id: "evt_traced", order: 77)
            _ = await pipeline.accept(event, delivery: delivery)
            #expect(await eventually { (try? await ledger.decision(adapter: "orders", idempotencyKey: "evt_traced")) != nil })
            let spans = await eventuallyValue {
                let spans = tracer.finishedSpans
                let found = spans.first { $0.operationName == "event orders" && $0.attributes["sluice.idempotency_key"]?.toSpanAttribute() == "evt_traced".toSpanAttribute() }
                return found.map { ($0, spans) }
            }
            let (eventSpan, all) = try #require(spans, "finished spans: \(tracer.finishedSpans.map { "\($0.operationName) \($0.attributes)" })")
            #expect(eventSpan.attributes["sluice.outcome"]?.toSpanAttribute() == "accepted".toSpanAttribute())
            #expect(eventSpan.attributes["sluice.workflow_id"]?.toSpanAttribute() == "order-77".toSpanAttribute())
            #expect(eventSpan.kind == .consumer)
            let engineSpan = try #require(all.first { $0.operationName == "engine start_workflow" && $0.parentSpanID == eventSpan.spanID })
            #expect(engineSpan.traceID == eventSpan.traceID)
            #expect(engineSpan.kind == .client)
            #expect(engineSpan.attributes["sluice.attempt"]?.toSpanAttribute() == 1.toSpanAttribute())
        }
    }
}

/// Polls until `produce` returns a value (up to 10 s).
func eventuallyValue<T>(_ produce: () async -> T?) async -> T? {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if let value = await produce() { return value }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await produce()
}
