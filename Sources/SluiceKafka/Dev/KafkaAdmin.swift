import Foundation

/// One-off cluster queries (committed offsets, watermarks, metadata) for tests, `sluice dev` and benchmarks.
///
/// Each query creates a short-lived client and runs its blocking calls on a dedicated thread.
public enum KafkaAdmin {
    /// The committed offsets of consumer group `group` for every partition of `topic` (absent where nothing
    /// is committed).
    ///
    /// - Throws: ``KafkaError`` when the cluster does not answer within `timeout` or the topic is unknown.
    public static func committedOffsets(
        bootstrapServers: String, group: String, topic: String, properties: [String: String] = [:],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [Int32: Int64] {
        try await KafkaPollThread.run(name: "sluice-kadmin") { () throws(KafkaError) -> [Int32: Int64] in
            var all = properties
            all["bootstrap.servers"] = bootstrapServers
            all["group.id"] = group
            all["log_level"] = all["log_level"] ?? "2"
            let client = try RDKafkaClient.consumer(properties: all, callbacks: RDKafkaCallbacks())
            let millis = timeout.clampedMilliseconds
            guard let count = try client.metadata(topic: topic, timeoutMs: millis) else {
                throw KafkaError(kind: .client, message: "unknown topic '\(topic)'")
            }
            let partitions = (0..<Int32(count)).map { TopicPartition(topic: topic, partition: $0) }
            let offsets = try client.committed(partitions, timeoutMs: millis)
            _ = client.closeConsumer()
            return Dictionary(uniqueKeysWithValues: offsets.map { ($0.key.partition, $0.value) })
        }
    }

    /// The low and high watermarks of every partition of `topic`.
    ///
    /// - Throws: ``KafkaError`` when the cluster does not answer within `timeout` or the topic is unknown.
    public static func watermarks(
        bootstrapServers: String, topic: String, properties: [String: String] = [:], timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
        try await KafkaPollThread.run(name: "sluice-kadmin") { () throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] in
            var all = properties
            all["bootstrap.servers"] = bootstrapServers
            all["log_level"] = all["log_level"] ?? "2"
            let client = try RDKafkaClient.producer(properties: all, callbacks: RDKafkaCallbacks())
            let millis = timeout.clampedMilliseconds
            guard let count = try client.metadata(topic: topic, timeoutMs: millis) else {
                throw KafkaError(kind: .client, message: "unknown topic '\(topic)'")
            }
            var result: [Int32: (low: Int64, high: Int64)] = [:]
            for partition in 0..<Int32(count) {
                result[partition] = try client.queryWatermarks(
                    TopicPartition(topic: topic, partition: partition), timeoutMs: millis)
            }
            return result
        }
    }

}

extension KafkaAdmin {
    /// Reads up to `count` records of `topic` from the beginning of every partition, without a consumer group
    /// (dead letters, the webhook ingress topic, tests). Stops at `count` records or after `timeout`.
    ///
    /// - Throws: ``KafkaError`` when the cluster does not answer or the topic is unknown.
    public static func read(
        bootstrapServers: String, topic: String, count: Int, properties: [String: String] = [:],
        timeout: Duration = .seconds(10)
    ) async throws(KafkaError) -> [KafkaRecord] {
        try await KafkaPollThread.run(name: "sluice-kadmin") { () throws(KafkaError) -> [KafkaRecord] in
            var all = properties
            all["bootstrap.servers"] = bootstrapServers
            all["group.id"] = "sluice-reader"
            all["log_level"] = all["log_level"] ?? "2"
            let client = try RDKafkaClient.consumer(properties: all, callbacks: RDKafkaCallbacks())
            let millis = timeout.clampedMilliseconds
            guard let partitions = try client.metadata(topic: topic, timeoutMs: millis) else {
                throw KafkaError(kind: .client, message: "unknown topic '\(topic)'")
            }
            let beginning: Int64 = -2  // RD_KAFKA_OFFSET_BEGINNING
            try client.assign((0..<Int32(partitions)).map { (TopicPartition(topic: topic, partition: $0), beginning) })
            var records: [KafkaRecord] = []
            let deadline = ContinuousClock.now + timeout
            while records.count < count, ContinuousClock.now < deadline {
                if case .record(let record) = client.consumerPoll(timeoutMs: 100) { records.append(record) }
            }
            _ = client.closeConsumer()
            return records
        }
    }
}
