import Foundation
import SluiceCore

/// A realistic decision: an accepted start with its one-step execution report (about 700 bytes of JSON).
enum SampleOutcome {
    static let receivedAt = Date(timeIntervalSince1970: 1_767_225_600)

    static func make(adapter: String = "orders", key: String) -> Outcome {
        Outcome(
            adapter: adapter, action: "start_workflow", idempotencyKey: key, kind: .accepted,
            correlation: ["adapter": .string(adapter), "rule": "created", "event_id": .string("evt_\(key)")],
            target: JSONObject([.init(key: "workflow_type", value: "orders.fulfillment"), .init(key: "task_queue", value: "orders")]),
            workflowID: "order-\(key)", runID: "01JH4Q8W9X5V2T3S4R5Q6P7N8M", workflowType: "orders.fulfillment",
            sluice: OutcomeDetails(
                eventID: "evt_\(key)", eventType: "checkout.session.completed",
                sourcePosition: .kafka(topic: "orders", partition: 3, offset: 1_234_567), adapterVersion: 3, rule: "created",
                attempts: 1,
                steps: [
                    StepReport(
                        id: "start", action: "start_workflow", requestID: "req_\(key)_start", status: .succeeded, attempts: 1,
                        durationMilliseconds: 4.125, outcome: .accepted)
                ],
                receivedAt: receivedAt, decidedAt: receivedAt.addingTimeInterval(0.005)))
    }

    /// The JSON of a sample outcome with `KEY` where the key goes (for SQL generating rows).
    static var template: String { JSONWriter.string(make(key: "KEY").json) }
}
