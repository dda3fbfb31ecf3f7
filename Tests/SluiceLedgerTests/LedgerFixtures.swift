import Foundation
import SluiceCore
import Synchronization

/// Outcomes, deliveries and a settable clock for ledger tests.
enum LedgerFixtures {
    static let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    static func outcome(
        adapter: String = "orders", key: String, kind: Outcome.Kind = .accepted, reason: OutcomeReason? = nil,
        workflowID: String? = nil, position: SourcePosition = .kafka(topic: "orders", partition: 0, offset: 1),
        note: String = ""
    ) -> Outcome {
        let details = OutcomeDetails(
            eventID: "evt-\(key)", eventType: "order.created", sourcePosition: position, adapterVersion: 2,
            rule: "created", attempts: 1,
            steps: [
                StepReport(
                    id: "start", action: "start_workflow", requestID: "req-\(key)", status: kind == .rejected ? .failed : .succeeded,
                    attempts: 1, durationMilliseconds: 3.25, outcome: kind, reason: reason)
            ],
            receivedAt: start, decidedAt: start.addingTimeInterval(1))
        return Outcome(
            adapter: adapter, action: "start_workflow", idempotencyKey: key, kind: kind, reason: reason,
            message: note.isEmpty ? nil : note, workflowID: workflowID ?? "order-\(key)", sluice: details)
    }

    static func command(key: String) -> EngineCommand {
        EngineCommand(
            action: .startWorkflow,
            target: CommandTarget(workflowID: "order-\(key)", workflowType: "orders.fulfillment", taskQueue: "orders",
                duplicatePolicy: .rejectDuplicate, executionTimeout: .seconds(90)),
            input: [["id": .string(key)]], correlation: JSONObject([.init(key: "rule", value: "created")]),
            idempotencyKey: key, requestID: "req-\(key)")
    }

    static func delivery(adapter: String = "orders", body: String = #"{"id":"o-1"}"#) -> Delivery {
        Delivery(
            adapter: adapter, target: "/webhooks/orders?src=test",
            headers: ["Content-Type": "application/json", "X-Event": "order.created"], body: Array(body.utf8),
            receivedAt: start)
    }

    /// A fresh scratch directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A wall clock tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(LedgerFixtures.start)

    var now: @Sendable () -> Date { { self.current.withLock { $0 } } }

    func advance(_ duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }
}

/// Runs blocking `work` on a thread of its own.
func onThread(_ work: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            work()
            continuation.resume()
        }
    }
}
