import Foundation
import SluiceCore

/// The outcome the pipeline records for the benchmark's event: an accepted start with its one-step
/// execution report, as the ledger stores it.
func sampleOutcome(plan: Plan, received: Date) -> Outcome {
    let command = plan.steps[0].command
    return Outcome(
        adapter: "stripe-orders", action: command.action.rawValue, idempotencyKey: plan.idempotencyKey, kind: .accepted,
        correlation: ["adapter": "stripe-orders", "rule": "checkout-completed", "event_id": "evt_1QZ8xY2eZvKYlo2C0aBcDeFg"],
        target: JSONObject([.init(key: "workflow_type", value: "orders.fulfillment"), .init(key: "task_queue", value: "orders")]),
        workflowID: "order-cs_test_a1B2c3D4e5F6g7H8", runID: "01JH4Q8W9X5V2T3S4R5Q6P7N8M", workflowType: "orders.fulfillment",
        sluice: OutcomeDetails(
            eventID: "evt_1QZ8xY2eZvKYlo2C0aBcDeFg", eventType: "checkout.session.completed",
            sourcePosition: .kafka(topic: "stripe-events", partition: 3, offset: 1_234_567), adapterVersion: 3,
            rule: "checkout-completed", attempts: 1,
            steps: [
                StepReport(
                    id: "start", action: command.action.rawValue, requestID: "sluice-\(plan.idempotencyKey)-start",
                    status: .succeeded, attempts: 1, durationMilliseconds: 4.125, outcome: .accepted)
            ],
            receivedAt: received, decidedAt: received.addingTimeInterval(0.005)))
}
