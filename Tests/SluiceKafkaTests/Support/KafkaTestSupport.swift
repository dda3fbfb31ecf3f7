import Foundation
import Logging
import SluiceCore
import SluiceKafka
import Testing

/// Helpers shared by the Kafka tests: a fresh mock cluster per test, a producer, a running source.
enum KafkaTest {
    static let logger: Logger = {
        var logger = Logger(label: "sluice.kafka.test")
        logger.logLevel = ProcessInfo.processInfo.environment["SLUICE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// JSON values `{"type": …, "key": …, "seq": n}` keyed `k<n % keys>`, spread over the partitions by key.
    static func messages(topic: String, count: Int, keys: Int, type: (Int) -> String = { _ in "order.created" })
        -> [KafkaProducer.Message]
    {
        (0..<count).map { index in
            let key = "k\(index % keys)"
            let value = #"{"type":"\#(type(index))","key":"\#(key)","seq":\#(index)}"#
            return KafkaProducer.Message(topic: topic, key: Array(key.utf8), value: Array(value.utf8))
        }
    }

    /// Produces `messages` and fails the test when any is not delivered.
    static func produce(_ messages: [KafkaProducer.Message], to cluster: MockKafkaCluster) async throws {
        let producer = try KafkaProducer(
            bootstrapServers: cluster.bootstrapServers, properties: ["batch.num.messages": "2000"], logger: logger)
        let failures = await producer.sendAll(messages)
        await producer.shutdown()
        #expect(failures.isEmpty, "produce failures: \(failures.prefix(3))")
    }

    /// The sum of the partitions' high watermarks.
    static func endOffsets(_ cluster: MockKafkaCluster, topic: String) async throws -> [Int32: Int64] {
        try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: topic).mapValues(\.high)
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
    @discardableResult
    static func eventually(
        timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// A source configuration for the mock cluster, with short intervals for tests.
    /// `SLUICE_TEST_KAFKA_DEBUG=cgrp,consumer` turns on librdkafka's debug contexts (shown with `SLUICE_TEST_LOG=debug`).
    static let debugProperties: [String: String] =
        ProcessInfo.processInfo.environment["SLUICE_TEST_KAFKA_DEBUG"].map { ["debug": $0] } ?? [:]

    static func configuration(
        _ cluster: MockKafkaCluster, topic: String, group: String, deadLetterTopic: String? = nil,
        outcomeTopic: String? = nil, pauseAbove: Int = 2_000, maxBatch: Int = 500, drainBudget: Duration = .seconds(5),
        maxValueBytes: Int = 1 << 20, properties: [String: String] = [:]
    ) -> KafkaSourceConfiguration {
        KafkaSourceConfiguration(
            adapter: "orders", bootstrapServers: cluster.bootstrapServers, topics: [topic], groupID: group,
            deadLetterTopic: deadLetterTopic, outcomeTopic: outcomeTopic,
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"].merging(debugProperties) { $1 }
                .merging(properties) { $1 },
            pauseAbove: pauseAbove, pauseAfter: .milliseconds(20), maxBatch: maxBatch, commitInterval: .milliseconds(50),
            drainBudget: drainBudget,
            maxValueBytes: maxValueBytes)
    }

    /// Runs `source` while `body` runs, then stops it and waits until it has left the group.
    static func withRunning<R: Sendable>(
        _ source: KafkaSource, _ body: () async throws -> R
    ) async throws -> R {
        let task = Task { try await source.run() }
        do {
            let result = try await body()
            source.stop()
            try await task.value
            return result
        } catch {
            source.stop()
            _ = try? await task.value
            throw error
        }
    }

    /// The topic's end offsets and the group's committed offsets, per partition.
    static func commitPositions(_ cluster: MockKafkaCluster, topic: String, group: String) async throws
        -> (ends: [Int32: Int64], committed: [Int32: Int64])
    {
        let ends = try await endOffsets(cluster, topic: topic)
        let committed = try await KafkaAdmin.committedOffsets(
            bootstrapServers: cluster.bootstrapServers, group: group, topic: topic)
        return (ends, committed)
    }

    /// Whether the committed offsets of `group` reach the end of every partition of `topic`.
    static func fullyCommitted(_ cluster: MockKafkaCluster, topic: String, group: String) async throws -> Bool {
        let (ends, committed) = try await commitPositions(cluster, topic: topic, group: group)
        return ends.allSatisfy { partition, end in end == 0 || committed[partition] == end }
    }

    /// The topic's end offsets and the group's committed offsets, for a failed expectation's message.
    static func commitReport(_ cluster: MockKafkaCluster, topic: String, group: String) async -> String {
        do {
            let (ends, committed) = try await commitPositions(cluster, topic: topic, group: group)
            return ends.keys.sorted().map { "\($0): end \(ends[$0]!) committed \(committed[$0].map(String.init) ?? "-")" }
                .joined(separator: ", ")
        } catch {
            return "offsets unavailable: \(error)"
        }
    }

    /// Checks that, per key, the event sequence numbers were handed over in increasing order.
    static func expectOrderedPerKey(_ orderByKey: [String: [String]]) {
        for (key, ids) in orderByKey {
            // Ids are topic-partition-offset@timestamp: within one key (one partition), offsets must increase.
            let offsets = ids.compactMap(offset(inPositionID:))
            #expect(offsets.count == ids.count, "ids that are not positions: \(ids.prefix(3))")
            #expect(!offsets.isEmpty)
            var previous: Int64 = -1
            var ordered = true
            for offset in offsets {
                if offset <= previous { ordered = false }
                previous = max(previous, offset)
            }
            #expect(ordered, "key \(key) was handed over out of order")
        }
    }

    /// The offset in a plain record's id, `topic-partition-offset@timestamp` (or without `@timestamp`).
    static func offset(inPositionID id: String) -> Int64? {
        let position = id.split(separator: "@", maxSplits: 1).first ?? ""
        return position.split(separator: "-").last.flatMap { Int64($0) }
    }
}
