import Logging
import SluiceCore
import SluiceKafka

/// A webhook adapter's sink when the inbox is Kafka: the delivery is produced to the ingress topic before `202`;
/// the ingress consumer delivers it.
///
/// - A key the ledger already decided is answered `200` with that outcome, and nothing is produced (best effort:
///   when the ledger cannot be read, the delivery is produced and the consumer deduplicates it).
/// - A full producer queue (the brokers are not keeping up) answers `429` with `Retry-After`; nothing is stored.
/// - A delivery larger than the ingress topic's records may be (`message.max.bytes`, the producer's or the
///   broker's) answers `413`; sending it again could never succeed.
/// - No acknowledgement from the brokers within `acknowledgementTimeout` (unreachable, leaderless) answers `503`
///   with `Retry-After`: the sender retries, and a copy that reaches the brokers late is deduplicated.
struct KafkaInboxSink: WebhookSink {
    let inbox: KafkaWebhookInbox
    let pipeline: AdapterPipeline
    /// How long a sender waits for the brokers; webhook senders commonly give up after 10–30 s.
    var acknowledgementTimeout: Duration = .seconds(10)
    let logger: Logger

    /// How long the look for an earlier decision may take before the delivery is produced without it (a ledger that
    /// stalls must not use up the sender's wait before the brokers are even asked).
    var lookupTimeout: Duration = .seconds(1)
    /// At most this many lookups run at once: a stalled ledger's reads, each given up on after ``lookupTimeout`` but
    /// still running, must not pile up with every request (past it, deliveries are produced without the lookup).
    var maxLookups = 64
    private let lookups = BoundedWaits()

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        let plan = pipeline.adapter.map(event).plan
        if let key = plan?.idempotencyKey, let known = await earlierDecision(key) {
            return .known(known)
        }
        let key = plan?.orderingKey ?? plan?.idempotencyKey
        let inbox = self.inbox
        let timeout = acknowledgementTimeout
        // Only the brokers' acknowledgement is a success: a timeout, a failure, or the request's task cancelled
        // (shutdown) before the acknowledgement all answer without `202`.
        let answer = await withTaskGroup(of: Result<Void, KafkaError>.self) { group in
            group.addTask {
                do throws(KafkaError) {
                    try await inbox.append(delivery, key: key)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let reason = Task.isCancelled ? "the request was cancelled before the brokers acknowledged it" : "no acknowledgement within \(timeout)"
                return .failure(KafkaError(kind: .delivery, message: reason))
            }
            // The first to finish decides: the acknowledgement (or its failure), or the timeout.
            let first = await group.next() ?? .failure(KafkaError(kind: .delivery, message: "no answer from the producer"))
            group.cancelAll()
            return first
        }
        guard case .failure(let failure) = answer else {
            return .accepted(eventID: event.id, idempotencyKey: plan?.idempotencyKey ?? event.id)
        }
        if failure.isMessageTooLarge {
            logger.warning(
                "a webhook is larger than the Kafka inbox's records may be; answering 413",
                metadata: ["adapter": "\(delivery.adapter)", "bytes": "\(delivery.body.count)", "error": "\(failure)"])
            return .tooLarge(reason: "the Kafka inbox's records are limited by message.max.bytes (producer and broker)")
        }
        if failure.isQueueFull {
            logger.warning("the Kafka inbox's producer queue is full; answering 429", metadata: ["adapter": "\(delivery.adapter)"])
            return .saturated(retryAfter: .seconds(1))
        }
        logger.error(
            "the Kafka inbox could not store a webhook; answering 503",
            metadata: ["adapter": "\(delivery.adapter)", "error": "\(failure)"])
        return .unavailable(reason: "the Kafka inbox could not store the event", retryAfter: .seconds(1))
    }

    /// The ledger's decision for `key`, or nil when there is none, it cannot be read, or it takes longer than
    /// ``lookupTimeout``: the delivery is then produced, and the consumer deduplicates it.
    ///
    /// A lookup that does not end (a stalled read need not end when cancelled) is not waited for; another request
    /// for the same key meanwhile waits for it rather than starting a second one.
    private func earlierDecision(_ key: String) async -> Outcome? {
        guard lookups.running < maxLookups else { return nil }
        let pipeline = self.pipeline
        let found = await lookups.value(key, within: lookupTimeout) { try? await pipeline.recordedOutcome(forKey: key) }
        return found ?? nil
    }
}
