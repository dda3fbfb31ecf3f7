import CRdKafka
import Foundation
import SluiceCore

/// Owns one `rd_kafka_t` (a consumer or a producer): the only type that calls librdkafka on a client.
///
/// `@unchecked Sendable` because librdkafka handles are thread-safe; the handle is immutable and
/// destroyed after `deinit`, on a thread of its own. Blocking methods (`consumerPoll`, `poll`, `flush`, `commit(async: false)`,
/// `close`, `committed`, `queryWatermarks`, `metadataProbe`) must be called from a dedicated thread,
/// never from Swift's cooperative pool: ``KafkaPollThread`` is that thread.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case consumer, producer }

    private let handle: OpaquePointer
    /// Topic names by topic handle, so that a name is decoded once, not per record. Touched only by
    /// `consumerPoll`, which one thread calls (the poll thread).
    private var topicNames: [OpaquePointer: String] = [:]
    private var lastTopic: (handle: OpaquePointer, name: String)?
    private let callbacks: Unmanaged<RDKafkaCallbacks>
    /// Where a consumer's asynchronous commits also report: a queue of the client's own, read by
    /// ``answeredCommits(waitingUpTo:)``, so that the poll thread can wait for the commits still in flight before a
    /// synchronous one, inside a rebalance callback where the offset-commit callback cannot be served (librdkafka
    /// sends a commit again after a retriable error, and one landing after a newer commit takes the group back to its
    /// older offset). Nil for a producer.
    private let commitQueue: OpaquePointer?
    let kind: Kind

    private init(kind: Kind, properties: [String: String], callbacks: RDKafkaCallbacks) throws(KafkaError) {
        let conf = try RDKafkaConfig.make(properties)
        let retained = Unmanaged.passRetained(callbacks)
        callbacks.install(on: conf, opaque: retained.toOpaque())
        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind == .consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, &errorText, 512)
        else {
            rd_kafka_conf_destroy(conf)
            retained.release()
            let reason = errorText.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw KafkaError(kind: .clientCreation, message: reason)
        }
        self.handle = handle
        self.callbacks = retained
        self.kind = kind
        if kind == .consumer {
            rd_kafka_poll_set_consumer(handle)
            commitQueue = rd_kafka_queue_new(handle)
        } else {
            commitQueue = nil
        }
    }

    /// A consumer (its main queue redirected to the consumer queue, so callbacks fire in `consumerPoll`).
    static func consumer(properties: [String: String], callbacks: RDKafkaCallbacks) throws(KafkaError) -> RDKafkaClient {
        try RDKafkaClient(kind: .consumer, properties: properties, callbacks: callbacks)
    }

    /// A producer (delivery reports fire in `poll` and `flush`).
    static func producer(properties: [String: String], callbacks: RDKafkaCallbacks) throws(KafkaError) -> RDKafkaClient {
        try RDKafkaClient(kind: .producer, properties: properties, callbacks: callbacks)
    }

    deinit {
        // rd_kafka_destroy joins librdkafka's threads (and closes a consumer left open), so it blocks; the last
        // reference may drop anywhere, on Swift's cooperative pool too. A thread of its own destroys the handle.
        let doomed = Doomed(handle: handle, callbacks: callbacks, commitQueue: commitQueue)
        KafkaClients.destructions.enter()
        startNamedThread("rdk-destroy", stackSize: 256 << 10) {
            // A queue of the client's own goes first: rd_kafka_destroy waits for every queue to be released.
            if let queue = doomed.commitQueue { rd_kafka_queue_destroy(queue) }
            rd_kafka_destroy(doomed.handle)
            doomed.callbacks.release()
            KafkaClients.destructions.leave()
        }
    }

    /// A handle on its way to `rd_kafka_destroy`, with the callbacks it still calls until then.
    private struct Doomed: @unchecked Sendable {
        let handle: OpaquePointer
        let callbacks: Unmanaged<RDKafkaCallbacks>
        let commitQueue: OpaquePointer?
    }

    /// Lends the raw handle to code in this module that needs a call not wrapped here (the mock cluster).
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R { try body(handle) }

    // MARK: - Consumer

    /// Subscribes to `topics` (the consumer group of `group.id`).
    func subscribe(_ topics: [String]) throws(KafkaError) {
        let code = RDKafkaTopicPartitionList.with(topics.map { (TopicPartition(topic: $0, partition: -1), nil) }) {
            rd_kafka_subscribe(handle, $0)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "subscribe") }
    }

    /// What one `rd_kafka_consumer_poll` returned.
    enum Polled {
        case record(KafkaRecord)
        case error(KafkaError, TopicPartition?)
    }

    /// Polls the consumer: serves callbacks and returns at most one record or consumer error. Blocks up to `timeoutMs`.
    func consumerPoll(timeoutMs: Int32) -> Polled? {
        guard let message = rd_kafka_consumer_poll(handle, timeoutMs) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let value = message.pointee
        let topic = value.rkt.map(topicName)
        if value.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
            let error = KafkaError(kind: .client, code: value.err.rawValue, message: text)
            return .error(error, topic.map { TopicPartition(topic: $0, partition: value.partition) })
        }
        return .record(Self.copy(message, topic: topic ?? ""))
    }

    private func topicName(_ topic: OpaquePointer) -> String {
        // Records come in runs of one topic: the last name answers most of them without hashing.
        if let last = lastTopic, last.handle == topic { return last.name }
        if let name = topicNames[topic] {
            lastTopic = (topic, name)
            return name
        }
        let name = String(cString: rd_kafka_topic_name(topic))
        topicNames[topic] = name
        return name
    }

    private static func copy(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaRecord {
        let value = message.pointee
        let payload = value.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: value.len)) } ?? []
        let key = value.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: value.key_len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let millis = rd_kafka_message_timestamp(message, &timestampType)
        // A producer may stamp any Int64: one outside 1970–9999 is treated as no timestamp.
        let timestamp = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : Timestamp.date(unixMilliseconds: millis)
        let (headers, binaryHeaders) = headers(of: message)
        return KafkaRecord(
            topic: topic, partition: value.partition, offset: value.offset, key: key, value: payload,
            headers: headers, binaryHeaders: binaryHeaders, timestamp: timestamp)
    }

    /// The headers as text (a value that is not UTF-8 base64-encoded), and byte for byte when some value is not
    /// UTF-8 (nil otherwise). A null value reads as empty.
    private static func headers(
        of message: UnsafeMutablePointer<rd_kafka_message_t>
    ) -> (HeaderFields, [KafkaRecord.BinaryHeader]?) {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return ([:], nil) }
        var fields = HeaderFields()
        // Made only once a value is not text (most records have none): the headers so far, then every one.
        var binary: [KafkaRecord.BinaryHeader]?
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            index += 1
            guard let name else { continue }
            let headerName = String(cString: name)
            let bytes = value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            if let text = String(validating: bytes, as: UTF8.self) {
                fields.append(name: headerName, value: text)
                binary?.append(KafkaRecord.BinaryHeader(name: headerName, value: bytes))
            } else {
                var kept = binary ?? fields.fields.map { KafkaRecord.BinaryHeader(name: $0.name, value: Array($0.value.utf8)) }
                kept.append(KafkaRecord.BinaryHeader(name: headerName, value: bytes))
                binary = kept
                fields.append(name: headerName, value: Base64.encode(bytes))
            }
        }
        return (fields, binary)
    }

    /// Commits `offsets` (the next offset to read, per partition). A synchronous commit blocks until the coordinator
    /// answers; an asynchronous one returns at once, and is counted by ``answeredCommits(waitingUpTo:)`` once answered.
    /// Either result goes to the offset-commit callback.
    func commit(_ offsets: [(TopicPartition, Int64)], async: Bool) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let code = RDKafkaTopicPartitionList.with(offsets.map { ($0.0, Optional($0.1)) }) { list in
            async ? rd_kafka_commit_queue(handle, list, commitQueue, nil, nil) : rd_kafka_commit(handle, list, 0)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "commit") }
    }

    /// How many asynchronous commits have been answered since the last call (their results go to the offset-commit
    /// callback as well); waits up to `timeoutMs` for one when none has.
    func answeredCommits(waitingUpTo timeoutMs: Int32) -> Int {
        guard let commitQueue else { return 0 }
        var answered = 0
        var timeout = timeoutMs
        while let event = rd_kafka_queue_poll(commitQueue, timeout) {
            timeout = 0
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_OFFSET_COMMIT { answered += 1 }
            rd_kafka_event_destroy(event)
        }
        return answered
    }

    /// Stops fetching from `partitions`; the consumer stays in its group as long as it is polled.
    func pause(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = RDKafkaTopicPartitionList.with(partitions.map { ($0, nil) }) { rd_kafka_pause_partitions(handle, $0) }
    }

    /// Resumes fetching from `partitions`.
    func resume(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        _ = RDKafkaTopicPartitionList.with(partitions.map { ($0, nil) }) { rd_kafka_resume_partitions(handle, $0) }
    }

    /// The last known high watermark of a partition, from the client's cache (does not block); nil when unknown.
    func cachedHighWatermark(_ partition: TopicPartition) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Asks the partition leader for its low and high watermarks. Blocks up to `timeoutMs`.
    func queryWatermarks(_ partition: TopicPartition, timeoutMs: Int32) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = -1
        var high: Int64 = -1
        let code = rd_kafka_query_watermark_offsets(
            handle, partition.topic, partition.partition, &low, &high, timeoutMs)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "query watermarks of \(partition)") }
        return (low, high)
    }

    /// The group's committed offsets for `partitions` (nil where nothing is committed). Blocks up to `timeoutMs`.
    func committed(_ partitions: [TopicPartition], timeoutMs: Int32) throws(KafkaError) -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        let code = RDKafkaTopicPartitionList.with(partitions.map { ($0, nil) }) { list in
            let code = rd_kafka_committed(handle, list, timeoutMs)
            for entry in RDKafkaTopicPartitionList.entries(list) where entry.offset >= 0 {
                result[entry.partition] = entry.offset
            }
            return code
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "committed offsets") }
        return result
    }

    /// Fetches cluster metadata; returns the partition count of `topic` when given (nil when the topic is unknown).
    /// Blocks up to `timeoutMs`.
    ///
    /// - Throws: ``KafkaError`` when no broker answers (for example `_TRANSPORT` or `_TIMED_OUT`).
    func metadata(topic: String?, timeoutMs: Int32) throws(KafkaError) -> Int? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw .client(code, "metadata") }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard let topic else { return nil }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            if String(cString: entry.topic) == topic, entry.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                return Int(entry.partition_cnt)
            }
        }
        return nil
    }

    /// Assigns partitions directly, without a group (reading a topic from given offsets).
    func assign(_ offsets: [(TopicPartition, Int64)]) throws(KafkaError) {
        let code = RDKafkaTopicPartitionList.with(offsets.map { ($0.0, Optional($0.1)) }) { rd_kafka_assign(handle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "assign") }
    }

    /// Leaves the consumer group (revoking the assignment through the rebalance callback). Blocks.
    func closeConsumer() -> KafkaError? {
        let code = rd_kafka_consumer_close(handle)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .client(code, "close")
    }

    /// The fatal error that stopped the client, if any.
    func fatalClientError() -> KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &text, 512)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(
            kind: .fatal, code: code.rawValue, message: text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    // MARK: - Producer

    /// Enqueues one record; its delivery report carries `id`. Does not block.
    ///
    /// - Throws: ``KafkaError`` when librdkafka refuses it at once (for example `_QUEUE_FULL`, `MSG_SIZE_TOO_LARGE`).
    func produce(
        topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8], headers: [(String, [UInt8])], id: UInt64
    ) throws(KafkaError) {
        let list = rd_kafka_headers_new(headers.count)!
        for (name, bytes) in headers {
            _ = bytes.withUnsafeBytes { rd_kafka_header_add(list, name, -1, $0.baseAddress, $0.count) }
        }
        let error: OpaquePointer? = topic.withCString { topicName in
            value.withUnsafeBytes { valueBytes in
                (key ?? []).withUnsafeBytes { keyBytes in
                    var args = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 7)
                    args[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    args[0].u.cstr = topicName
                    args[1].vtype = RD_KAFKA_VTYPE_VALUE
                    args[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                    args[1].u.mem.size = valueBytes.count
                    args[2].vtype = RD_KAFKA_VTYPE_KEY
                    args[2].u.mem.ptr = key == nil ? nil : UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                    args[2].u.mem.size = key == nil ? 0 : keyBytes.count
                    args[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    args[3].u.i = RD_KAFKA_MSG_F_COPY
                    args[4].vtype = RD_KAFKA_VTYPE_OPAQUE
                    args[4].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id))
                    args[5].vtype = RD_KAFKA_VTYPE_HEADERS
                    args[5].u.headers = list
                    args[6].vtype = RD_KAFKA_VTYPE_PARTITION
                    args[6].u.i32 = partition ?? -1  // RD_KAFKA_PARTITION_UA: the partitioner decides
                    return rd_kafka_produceva(handle, &args, args.count)
                }
            }
        }
        if let error {
            rd_kafka_headers_destroy(list)  // ownership passes to librdkafka only on success
            throw .consuming(error)
        }
    }

    /// Serves delivery reports and errors. Blocks up to `timeoutMs`.
    func poll(timeoutMs: Int32) {
        _ = rd_kafka_poll(handle, timeoutMs)
    }

    /// Waits until every enqueued record has its delivery report. Blocks up to `timeoutMs`.
    func flush(timeoutMs: Int32) -> KafkaError? {
        let code = rd_kafka_flush(handle, timeoutMs)
        return code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : .client(code, "flush")
    }

    /// Records waiting for delivery or in flight.
    var outQueueLength: Int { Int(rd_kafka_outq_len(handle)) }
}
