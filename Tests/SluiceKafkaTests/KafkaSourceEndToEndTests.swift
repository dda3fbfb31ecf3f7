import Foundation
import SluiceCore
import SluiceKafka
import SluiceTesting
import Testing

extension KafkaSuites {
    @Suite("KafkaSource end to end (mock cluster)", .serialized, .timeLimit(.minutes(2)))
    struct KafkaSourceEndToEndTests {
        /// Every record becomes one event, one outcome, one effect; every partition is committed to its end;
        /// events of one key are handed over in offset order.
        @Test func consumesSettlesAndCommitsEveryRecord() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 4)
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: 2_000, keys: 50), to: cluster)
            let pipeline = TestPipeline(maxInFlight: 32)
            let source = try KafkaSource(
                configuration: KafkaTest.configuration(cluster, topic: "orders", group: "e2e"), handler: pipeline,
                logger: KafkaTest.logger)
            try await KafkaTest.withRunning(source) {
                // At least: a session lost under load redelivers from the last commit (the ledger dedupes).
                #expect(await KafkaTest.eventually { source.statistics.settled >= 2_000 })
                // The poll thread (running by now) carries the adapter's name into the operating system.
                #expect(Self.threadNames().contains("kafka-orders"))
                #expect(await KafkaTest.eventually { await (try? KafkaTest.fullyCommitted(cluster, topic: "orders", group: "e2e")) == true })
            }
            #expect(source.readiness == .stopped)
            let effects = await pipeline.effects
            #expect(effects.count == 2_000)
            #expect(effects.values.allSatisfy { $0 == 1 })
            #expect(Set(try await pipeline.recordedIDs()).count == 2_000)
            // A session lost under load redelivers from the last commit (the ledger dedupes): order holds per delivery.
            if source.statistics.losses == 0 { KafkaTest.expectOrderedPerKey(await pipeline.orderByKey) }
            let statistics = source.statistics
            #expect(statistics.received >= 2_000)
            #expect(statistics.committed.values.reduce(0, +) == 2_000)
        }

        /// The names of this process's threads, as the operating system shows them.
        static func threadNames() -> Set<String> {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return Set(tasks.compactMap { task in
                (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            })
        }

        /// A restarted consumer in the same group starts from the committed offsets: nothing is redelivered.
        @Test func restartResumesFromCommittedOffsets() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 2)
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: 300, keys: 10), to: cluster)
            let ledger = InMemoryLedger()
            let first = TestPipeline(ledger: ledger)
            let source = try KafkaSource(
                configuration: KafkaTest.configuration(cluster, topic: "orders", group: "restart"), handler: first,
                logger: KafkaTest.logger)
            try await KafkaTest.withRunning(source) {
                #expect(await KafkaTest.eventually { source.statistics.settled >= 300 })
            }
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: 100, keys: 10), to: cluster)
            let second = TestPipeline(ledger: ledger)
            let restarted = try KafkaSource(
                configuration: KafkaTest.configuration(cluster, topic: "orders", group: "restart"), handler: second,
                logger: KafkaTest.logger)
            try await KafkaTest.withRunning(restarted) {
                #expect(await KafkaTest.eventually { restarted.statistics.settled >= 100 })
                #expect(await KafkaTest.eventually { await (try? KafkaTest.fullyCommitted(cluster, topic: "orders", group: "restart")) == true })
            }
            #expect(await second.submissions == 100, "first: \(source.statistics); second: \(restarted.statistics)")
            // Its partitions were never paused: nothing resumed them, so nothing restarted their fetch.
            #expect(restarted.statistics.redelivered == 0)
        }

        /// Ordering per key over 100,000 events on 8 partitions, with a gate of 64 and out-of-order completions.
        @Test func keepsOrderPerKeyOverManyEvents() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 8)
            let count = 100_000
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: count, keys: 1_000), to: cluster)
            let ends = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "orders")
            #expect(ends.values.reduce(0) { $0 + $1.high - $1.low } == Int64(count), "the mock kept every record")
            let pipeline = TestPipeline(maxInFlight: 64)
            let source = try KafkaSource(
                configuration: KafkaTest.configuration(cluster, topic: "orders", group: "order"), handler: pipeline,
                logger: KafkaTest.logger)
            try await KafkaTest.withRunning(source) {
                #expect(await KafkaTest.eventually(timeout: .seconds(90)) { source.statistics.settled >= count })
                #expect(await KafkaTest.eventually { await (try? KafkaTest.fullyCommitted(cluster, topic: "orders", group: "order")) == true })
            }
            let order = await pipeline.orderByKey
            #expect(order.count == 1_000)
            #expect(order.values.reduce(0) { $0 + $1.count } == count)
            KafkaTest.expectOrderedPerKey(order)
        }

        /// A refused record is submitted again before any later record of its partition: every 7th submission
        /// is refused, and every key is still handed over in offset order, each event once.
        @Test func keepsOrderPerKeyWhenTheGateRefuses() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 4)
            let count = 10_000
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: count, keys: 200), to: cluster)
            let pipeline = TestPipeline(maxInFlight: 32)
            await pipeline.refuseEvery(7)
            var configuration = KafkaTest.configuration(cluster, topic: "orders", group: "refusals")
            configuration.retryBackoff = .milliseconds(2)
            let source = try KafkaSource(configuration: configuration, handler: pipeline, logger: KafkaTest.logger)
            try await KafkaTest.withRunning(source) {
                #expect(await KafkaTest.eventually(timeout: .seconds(60)) { source.statistics.settled >= count })
                #expect(await KafkaTest.eventually { await (try? KafkaTest.fullyCommitted(cluster, topic: "orders", group: "refusals")) == true })
            }
            #expect(source.statistics.retried >= count / 7)
            let effects = await pipeline.effects
            #expect(effects.count == count)
            #expect(effects.values.allSatisfy { $0 == 1 })
            if source.statistics.losses == 0 { KafkaTest.expectOrderedPerKey(await pipeline.orderByKey) }
        }
    }
}
