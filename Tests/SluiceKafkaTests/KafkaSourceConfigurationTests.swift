import Testing

@testable import SluiceKafka

/// What the consumer and the dead-letter producer are handed: Sluice's defaults, the user's
/// `kafka.properties` over them, and the properties Sluice never lets go.
@Suite("KafkaSourceConfiguration properties")
struct KafkaSourceConfigurationTests {
    func configuration(_ properties: [String: String]) -> KafkaSourceConfiguration {
        KafkaSourceConfiguration(
            adapter: "orders", bootstrapServers: "127.0.0.1:9092", topics: ["orders"], properties: properties)
    }

    @Test func theDefaultsBoundRequestsAtThirtySeconds() {
        let consumer = configuration([:]).consumerProperties
        #expect(consumer["socket.timeout.ms"] == "30000")
        #expect(consumer["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(consumer["group.id"] == "sluice-orders")
        #expect(consumer["bootstrap.servers"] == "127.0.0.1:9092")
    }

    /// librdkafka reports an offset reset with a warning (level 4), so it runs at that level at least; a lower level
    /// asked for limits what reaches Sluice's log, and `debug` contexts log at 7 as librdkafka itself does.
    @Test func theLogLevelKeepsWarningsAndFiltersSluicesLog() {
        #expect(configuration([:]).consumerProperties["log_level"] == "4")
        #expect(configuration([:]).logLevel == 4)
        #expect(configuration(["log_level": "0"]).consumerProperties["log_level"] == "4")
        #expect(configuration(["log_level": "0"]).logLevel == 0)
        #expect(configuration(["log_level": "6"]).consumerProperties["log_level"] == "6")
        #expect(configuration(["log_level": "6"]).logLevel == 6)
        #expect(configuration(["debug": "cgrp,topic"]).logLevel == 7)
        #expect(configuration(["debug": "cgrp", "log_level": "3"]).logLevel == 7)
    }

    @Test func theUsersPropertiesWinOverTheDefaultsButNotOverCommitsAfterOutcomes() {
        let given = configuration([
            "socket.timeout.ms": "10000", "auto.offset.reset": "latest",
            "enable.auto.commit": "true", "enable.auto.offset.store": "true",
        ])
        let consumer = given.consumerProperties
        #expect(consumer["socket.timeout.ms"] == "10000")
        #expect(consumer["auto.offset.reset"] == "latest")
        #expect(consumer["enable.auto.commit"] == "false")
        #expect(consumer["enable.auto.offset.store"] == "false")
        // The producer takes the user's general properties, and none that only a consumer understands.
        #expect(given.producerProperties == ["socket.timeout.ms": "10000"])
    }
}
