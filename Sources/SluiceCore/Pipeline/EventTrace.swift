import Tracing

/// The span of one event through the pipeline, from admission to its durable settlement; the
/// event's engine calls are its children (the dispatcher runs them in the span's context).
struct EventTrace: Sendable {
    let span: any Span

    /// Starts the span of a mapped event.
    ///
    /// - Parameters:
    ///   - name: the span's name (`event <adapter>`, built once per pipeline).
    ///   - tracer: the active tracer; a batch looks it up once for all its events (the lookup walks the
    ///     instrumentation system under a lock and casts, which showed at ~4 % of a Kafka pipeline's CPU).
    static func start(
        _ plan: Plan, source: String, name: String, tracer: any Tracer = InstrumentationSystem.tracer
    ) -> EventTrace {
        let span: any Span = tracer.startSpan(name, ofKind: .consumer)
        // Attributes cost a dictionary per event: only for a tracer that keeps them.
        guard span.isRecording else { return EventTrace(span: span) }
        span.attributes["sluice.adapter"] = plan.adapter
        span.attributes["sluice.source"] = source
        span.attributes["sluice.event_id"] = plan.eventID
        span.attributes["sluice.idempotency_key"] = plan.idempotencyKey
        if let type = plan.eventType { span.attributes["sluice.event_type"] = type }
        return EventTrace(span: span)
    }

    /// Runs `body` with the span as the current context, so that work it starts is traced under it.
    func within<T, Failure: Error>(_ body: () async throws(Failure) -> T) async throws(Failure) -> T {
        let result: Result<T, Failure> = await ServiceContext.withValue(span.context) {
            do throws(Failure) {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Ends the span with how the event settled.
    func end(_ settlement: Settlement) {
        guard span.isRecording else { return span.end() }
        switch settlement {
        case .recorded(let outcome, let deadLetter):
            span.attributes["sluice.outcome"] = outcome.kind.rawValue
            if let reason = outcome.reason { span.attributes["sluice.reason"] = reason.rawValue }
            if let workflowID = outcome.workflowID { span.attributes["sluice.workflow_id"] = workflowID }
            span.attributes["sluice.dead_letter"] = deadLetter
            if outcome.kind == .rejected { span.setStatus(SpanStatus(code: .error, message: outcome.reason?.rawValue)) }
        case .abandoned(let reason):
            span.attributes["sluice.abandoned"] = reason
        case .unrecorded(let error):
            span.setStatus(SpanStatus(code: .error, message: error.description))
        }
        span.end()
    }

    /// Ends the span of an event that settled without a decision of its own (refused, answered
    /// from the ledger).
    func end(note: String) {
        if span.isRecording { span.attributes["sluice.note"] = note }
        span.end()
    }
}
