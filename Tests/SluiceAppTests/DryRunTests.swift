import Foundation
import SluiceApp
import SluiceCore
import Testing

/// `sluice map`'s sample events, built as the sources build them.
@Suite struct DryRunTests {
    /// A plain Kafka record is named as the consumer names it: by its position, and its timestamp only when one is
    /// given (`--kafka-timestamp`), so that the id, and the keys derived from it, are the same at every run.
    @Test func aPlainKafkaRecordHasTheSameIDAtEveryRun() throws {
        let yaml = """
            adapter: orders
            source:
              kafka: { topics: [orders] }
            rules:
              - name: r
                do:
                  - start_workflow: { workflow_type: t }

            """
        let compiler = AdapterCompiler(references: ConfigReferences(source: EmptyValues(), resolution: .strict), engineNames: nil)
        let adapter = try #require(compiler.compile(text: yaml, file: "orders.yaml").adapter)
        let body = Array(#"{"type":"order.created"}"#.utf8)
        let first = try DryRun.event(for: adapter, delivery: DryRun.Delivery(body: body, kafkaOffset: 5, receivedAt: Date()))
        let later = try DryRun.event(
            for: adapter, delivery: DryRun.Delivery(body: body, kafkaOffset: 5, receivedAt: Date().addingTimeInterval(60)))
        #expect(first.id == "orders-0-5")
        #expect(later.id == first.id)
        let stamped = try DryRun.event(
            for: adapter,
            delivery: DryRun.Delivery(body: body, kafkaOffset: 5, kafkaTimestamp: Date(timeIntervalSince1970: 1_765_094_400.5)))
        #expect(stamped.id == "orders-0-5@1765094400500")
    }
}
