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

    /// The value of an outcome too large for a record (its report, a long message): what the outcome is about
    /// and how it ended, without the rest.
    static func summary(of outcome: Outcome) -> [UInt8] {
        var members: [JSONObject.Member] = [
            .init(key: "adapter", value: .string(outcome.adapter)),
            .init(key: "idempotency_key", value: .string(outcome.idempotencyKey)),
            .init(key: "outcome", value: .string(outcome.kind.rawValue)),
        ]
        if let reason = outcome.reason { members.append(.init(key: "reason", value: .string(reason.rawValue))) }
        if let workflowID = outcome.workflowID { members.append(.init(key: "workflow_id", value: .string(workflowID))) }
        members.append(.init(key: "truncated", value: .bool(true)))
        return JSONWriter.bytes(.object(JSONObject(members)))
    }
}
