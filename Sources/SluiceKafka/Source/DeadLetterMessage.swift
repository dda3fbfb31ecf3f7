import Foundation
import SluiceCore

/// The dead-letter record for a consumed record: its key and value, its headers, and `sluice.dlq.*` headers.
enum DeadLetterMessage {
    /// The prefix of every header Sluice sets on a dead letter.
    static let prefix = "sluice.dlq."
    /// Header names, for tools that read dead letters back.
    static let adapterHeader = "sluice.dlq.adapter"
    static let reasonHeader = "sluice.dlq.reason"
    static let detailHeader = "sluice.dlq.detail"
    static let topicHeader = "sluice.dlq.original.topic"
    static let partitionHeader = "sluice.dlq.original.partition"
    static let offsetHeader = "sluice.dlq.original.offset"
    static let timeHeader = "sluice.dlq.time"
    /// Set when the value was left out because the producer or the broker refused the record's size.
    static let valueOmittedHeader = "sluice.dlq.value_omitted"
    /// Set when the record's own key and headers were left out too: the letter was still too large without its value.
    static let keyAndHeadersOmittedHeader = "sluice.dlq.key_and_headers_omitted"

    /// The letter with only Sluice's headers: no value, no key, none of the record's own headers, for a record whose
    /// key or headers alone are over the size the producer or the broker takes. The `sluice.dlq.original.*` headers
    /// still name the record, which stays in the source topic.
    static func bare(_ letter: KafkaProducer.Message, reason: String) -> KafkaProducer.Message {
        var headers = letter.headers.filter { $0.name.hasPrefix(prefix) }
        headers.append(.init(keyAndHeadersOmittedHeader, reason))
        return KafkaProducer.Message(topic: letter.topic, partition: letter.partition, key: nil, value: [], headers: headers)
    }

    static func make(
        _ record: KafkaRecord, topic: String, adapter: String, reason: String, detail: String, maxValueBytes: Int,
        at time: Date
    ) -> KafkaProducer.Message {
        // A record copied back from a dead-letter topic carries an earlier letter's `sluice.dlq.*`: those would
        // come first, and a reader of the first match would take the old reason and position for this one's.
        // Binary values go back as they came, not as the base64 text events read them as.
        let original = record.binaryHeaders
            ?? record.headers.fields.map { KafkaProducer.Message.Header($0.name, $0.value) }
        var headers = original.filter { !$0.name.lowercased().hasPrefix(prefix) }
        headers.append(.init(adapterHeader, adapter))
        headers.append(.init(reasonHeader, reason))
        if !detail.isEmpty { headers.append(.init(detailHeader, String(detail.prefix(1024)))) }
        headers.append(.init(topicHeader, record.topic))
        headers.append(.init(partitionHeader, String(record.partition)))
        headers.append(.init(offsetHeader, String(record.offset)))
        headers.append(.init(timeHeader, time.formatted(.iso8601)))
        // A value over the limit is left out (its size is in the detail); the original stays in the source topic.
        let value = record.value.count > maxValueBytes ? [] : record.value
        return KafkaProducer.Message(topic: topic, key: record.key, value: value, headers: headers)
    }
}
