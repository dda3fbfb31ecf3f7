import Foundation
import SluiceCore
import SluiceKafka
import SluiceTesting
import Testing

extension KafkaSuites {
    @Suite("KafkaSource rebalance (mock cluster)", .serialized, .timeLimit(.minutes(3)))
    struct KafkaSourceRebalanceTests {
        /// A second consumer joins while the first has work in flight: revoked partitions are drained and
        /// committed before they move; every event has one outcome and one effect (the ledger dedupes any
        /// redelivery); together the group commits every partition to its end.
        @Test(arguments: ["cooperative-sticky", "range"])
        func secondConsumerJoiningMidStreamLosesAndDoublesNothing(strategy: String) async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 6)
            let total = 3_000
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: total, keys: 60), to: cluster)
            let ledger = InMemoryLedger()
            let first = TestPipeline(ledger: ledger, maxInFlight: 8, delay: .milliseconds(3))
            let second = TestPipeline(ledger: ledger, maxInFlight: 8, delay: .milliseconds(3))
            let a = try KafkaSource(
                configuration: KafkaTest.configuration(
                    cluster, topic: "orders", group: "rebalance", pauseAbove: 100,
                    properties: ["partition.assignment.strategy": strategy]),
                handler: first, logger: KafkaTest.logger)
            let b = try KafkaSource(
                configuration: KafkaTest.configuration(
                    cluster, topic: "orders", group: "rebalance", pauseAbove: 100,
                    properties: ["partition.assignment.strategy": strategy]),
                handler: second, logger: KafkaTest.logger)
            try await KafkaTest.withRunning(a) {
                #expect(await KafkaTest.eventually { a.statistics.settled >= 300 })
                try await KafkaTest.withRunning(b) {
                    #expect(await KafkaTest.eventually(timeout: .seconds(40)) { !b.statistics.assigned.isEmpty })
                    #expect(await KafkaTest.eventually(timeout: .seconds(90)) {
                        guard a.statistics.settled + b.statistics.settled >= total else { return false }
                        return (try? await KafkaTest.fullyCommitted(cluster, topic: "orders", group: "rebalance")) == true
                    })
                }
            }
            #expect(a.statistics.revocations >= 1)
            if strategy == "range" { #expect(a.statistics.losses == 0, "an eager revocation is not a loss") }
            #expect(b.statistics.settled > 0)
            let effectsA = await first.effects
            let effectsB = await second.effects
            var effects = effectsA
            effects.merge(effectsB) { $0 + $1 }
            #expect(effects.count == total)
            #expect(effects.values.allSatisfy { $0 == 1 }, "an effect was doubled")
            #expect(Set(try await first.recordedIDs()).count == total)
        }
    }
}
