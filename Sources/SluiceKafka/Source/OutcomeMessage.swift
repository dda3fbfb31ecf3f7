import Foundation
import SluiceCore

/// The outcome-topic record for a settled record: the outcome as JSON (contract v1 plus Sluice's fields),
/// keyed by the idempotency key, with `sluice.*` headers naming the adapter, the decision and the source position.
enum OutcomeMessage {
    static let adapterHeader = "sluice.adapter"
    static let outcomeHeader = "sluice.outcome"
    static let reasonHeader = "sluice.reason"
    static let topicHeader = "sluice.source.topic"
    static let partitionHeader = "sluice.source.partition"
    static let offsetHeader = "sluice.source.offset"

    static func make(_ outcome: Outcome, for record: KafkaRecord, topic: String, adapter: String) -> KafkaProducer.Message {
        var headers: [KafkaProducer.Message.Header] = [
            .init(adapterHeader, adapter),
            .init(outcomeHeader, outcome.kind.rawValue),
        ]
        if let reason = outcome.reason { headers.append(.init(reasonHeader, reason.rawValue)) }
        headers.append(.init(topicHeader, record.topic))
        headers.append(.init(partitionHeader, String(record.partition)))
        headers.append(.init(offsetHeader, String(record.offset)))
        return KafkaProducer.Message(
            topic: topic, key: Array(outcome.idempotencyKey.utf8), value: outcome.jsonBytes, headers: headers)
    }
}
