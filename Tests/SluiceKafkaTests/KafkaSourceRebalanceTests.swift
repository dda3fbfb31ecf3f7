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

        /// A record on its way into the gate while its partition is being revoked (it was being mapped and checked
        /// when the revoke's cancellation went out, so that missed it) does not run on past the hand-over, and the
        /// revoke does not wait out its drain budget for it: an ordered adapter's gate asks the source at the door and
        /// it is taken back; an unordered one's admits it, and it is cancelled within the gate's budget.
        @Test(arguments: [true, false])
        func anEventAdmittedDuringTheRevokeDoesNotRunOn(ordered: Bool) async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders", partitions: 1)
            try await KafkaTest.produce(KafkaTest.messages(topic: "orders", count: 1, keys: 1), to: cluster)
            let pipeline = TestPipeline(delay: .seconds(30), cancellationBudget: .milliseconds(300), preservesOrder: ordered)
            await pipeline.setAdmissionDelay(.seconds(1))
            let source = try KafkaSource(
                configuration: KafkaTest.configuration(cluster, topic: "orders", group: "admitting", drainBudget: .seconds(4)),
                handler: pipeline, logger: KafkaTest.logger)
            let clock = ContinuousClock()
            let stopped = try await KafkaTest.withRunning(source) { () async throws -> ContinuousClock.Instant in
                #expect(await KafkaTest.eventually { await pipeline.begun == 1 })
                source.stop()  // leaving the group revokes the partition while the record is on its way into the gate
                return clock.now
            }
            let took = clock.now - stopped
            if ordered {
                #expect(await pipeline.submissions == 0, "the gate took a record of a partition being revoked")
            } else {
                #expect(await pipeline.cancelled.count == 1, "the event admitted during the revoke ran on")
            }
            #expect(took < .seconds(4), "the revoke waited out its drain budget: \(took)")
            #expect(source.statistics.settled == 0)
        }
    }
}
