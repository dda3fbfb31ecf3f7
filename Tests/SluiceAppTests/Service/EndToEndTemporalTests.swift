import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceLedger
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import SluiceApp

/// The whole service in-process against real parts: a Temporal dev server with the sample worker,
/// the SQLite ledger, the embedded Kafka; a Stripe webhook signed as Stripe signs it and a Kafka
/// CloudEvent end as accepted outcomes, and the workflows exist in Temporal.
@Suite("sluice serve in-process against Temporal, SQLite and Kafka")
struct EndToEndTemporalTests {
    @Test("a signed Stripe webhook and a Kafka CloudEvent become workflow starts in Temporal")
    func signedWebhookAndKafkaRecord() async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let kafka = try MockKafkaCluster()
        try kafka.createTopic("orders.events", partitions: 2)
        var logger = Logger(label: "sluice.e2e")
        logger.logLevel = .warning
        let environment = try await DevEnvironment.start(
            repository: repository, httpPort: 0, kafkaBootstrap: kafka.bootstrapServers, logger: logger)
        do {
            let config = try environment.configuration()
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: environment.directory.appendingPathComponent("ledger.sqlite").path))
            let application = try buildApplication(config: config, ledger: ledger, healthInterval: .milliseconds(500), logger: logger)
            let running = Task { try await application.run() }
            let port = try #require(await application.listening.port)
            await application.intake.waitUntilOpen()

            // A Stripe webhook, signed with the adapter's secret the way Stripe signs.
            let body = Array(#"{"id":"evt_e2e_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_1","object":"checkout.session","amount_total":4200,"currency":"eur","customer":"cus_1","payment_status":"paid","metadata":{"order_id":"e2e-1"}}}}"#.utf8)
            let signer = DevSigner(scheme: .stripe, secret: try #require(environment.secrets["stripe-orders"]))
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/webhooks/stripe")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (name, value) in signer.headers(body: body, id: "evt_e2e_1", now: Date()) { request.setValue(value, forHTTPHeaderField: name) }
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 202)

            // A CloudEvent (binary mode) on the Kafka topic.
            let producer = try KafkaProducer(bootstrapServers: kafka.bootstrapServers, logger: logger)
            _ = try await producer.send(
                KafkaProducer.Message(
                    topic: "orders.events", key: Array("order-e2e".utf8),
                    value: Array(#"{"carrier":"DHL","tracking_number":"T1","warehouse":"AMS-2"}"#.utf8),
                    headers: [
                        .init("ce_specversion", "1.0"), .init("ce_id", "ce-e2e-1"), .init("ce_source", "/warehouse/ams-2"),
                        .init("ce_type", "com.example.order.shipped"), .init("ce_subject", "e2e-2"), .init("ce_time", "2026-11-23T11:59:30Z"),
                        .init("content-type", "application/json"),
                    ]))
            await producer.shutdown()

            let decided = await eventually(timeout: .seconds(60)) {
                let stripe = try? await ledger.decision(adapter: "stripe-orders", idempotencyKey: "evt_e2e_1")
                let kafkaOutcomes = (try? await ledger.outcomes(OutcomeQuery(adapter: "kafka.orders", limit: 10))) ?? []
                return stripe != nil && !kafkaOutcomes.isEmpty
            }
            #expect(decided)
            let stripe = try await ledger.decision(adapter: "stripe-orders", idempotencyKey: "evt_e2e_1")
            #expect(stripe?.kind == .accepted, "\(String(describing: stripe))")
            #expect(stripe?.workflowID == "order-e2e-1")
            let shipped = try await ledger.outcomes(OutcomeQuery(adapter: "kafka.orders", limit: 10)).first?.outcome
            #expect(shipped?.kind == .accepted, "\(String(describing: shipped))")
            await application.shutdown()
            try await running.value
            await ledger.close()
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
    }
}
