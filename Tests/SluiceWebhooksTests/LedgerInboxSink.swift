import Foundation
import SluiceCore
import SluiceWebhooks
import Synchronization

/// A test sink over a real ledger: a decided key answers `known`, otherwise the delivery is appended
/// to the inbox; it can be told to refuse (saturated) first.
final class LedgerInboxSink: WebhookSink {
    let ledger: any OutcomeLedger
    private let refuse = Mutex<WebhookAcceptance?>(nil)
    private let accepted = Mutex<[Event]>([])

    init(ledger: any OutcomeLedger) {
        self.ledger = ledger
    }

    /// Every later delivery gets this answer, or nil to accept again.
    func refuseAll(with acceptance: WebhookAcceptance?) { refuse.withLock { $0 = acceptance } }

    var events: [Event] { accepted.withLock { $0 } }

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        if let refusal = refuse.withLock({ $0 }) { return refusal }
        do {
            if let outcome = try await ledger.decision(adapter: delivery.adapter, idempotencyKey: event.id) {
                return .known(outcome)
            }
            _ = try await ledger.appendInbox(delivery)
            accepted.withLock { $0.append(event) }
            return .accepted(eventID: event.id, idempotencyKey: event.id)
        } catch {
            return .unavailable(reason: "the inbox write failed", retryAfter: .seconds(1))
        }
    }
}
