/// Records finished events' results several at a time: one ledger write and one resumption for many events,
/// instead of one of each per event. The pipeline's pull path gives one to ``Dispatcher/submitAll(_:source:keepingOrder:)``.
///
/// The dispatcher hands it each finished event once, exactly as it would hand the result to a per-event
/// completion, and goes on with an event's ordering key only after the call that recorded it has returned.
protocol DispatchRecorder: AnyObject, Sendable {
    /// Records each event's result (decided or abandoned) and settles it with its source.
    ///
    /// - Returns: for each event, in order, whether a decided result is durable (see
    ///   ``Dispatcher/submitReporting(_:remap:source:unless:completion:)``).
    func record(_ finished: [FinishedEvent]) async -> [Bool]
}

/// One event's result on its way to a ``DispatchRecorder``. A class, so that handing it on does not copy its plan
/// and outcome.
final class FinishedEvent: Sendable {
    let plan: Plan
    let result: DispatchResult
    /// What the submitter attached to the event (where its settlement goes).
    let attachment: any Sendable

    init(plan: Plan, result: DispatchResult, attachment: any Sendable) {
        self.plan = plan
        self.result = result
        self.attachment = attachment
    }
}

/// Where an admitted event's result goes.
enum DispatchCompletion: Sendable {
    /// A completion of its own, awaited alone.
    case alone(@Sendable (DispatchResult) async -> Bool)
    /// A recorder that records it with the other events finished at about the same time.
    case batched(any DispatchRecorder, attachment: any Sendable)

    /// Hands over one result (an abandoned event, or an event with a completion of its own).
    func deliver(_ result: DispatchResult, plan: Plan) async -> Bool {
        switch self {
        case .alone(let completion):
            return await completion(result)
        case .batched(let recorder, let attachment):
            return await recorder.record([FinishedEvent(plan: plan, result: result, attachment: attachment)]).first ?? false
        }
    }
}
