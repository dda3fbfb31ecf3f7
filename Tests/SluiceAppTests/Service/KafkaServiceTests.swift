import Foundation
import Logging
import SluiceApp
import SluiceCore
import SluiceKafka
import SluiceLedger
import SluiceTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The service with Kafka: records consumed through the composition root reach the engine and the
/// ledger, `/readyz` includes the consumer, and with `kafka.inbox_topic` webhooks go through Kafka.
@Suite("sluice serve with Kafka (librdkafka's mock cluster)")
struct KafkaServiceTests {
    let kafkaAdapter = """
        adapter: order-events
        version: 1
        source:
          kafka: { topics: [orders.events], group: sluice-order-events }
        boundary: { max_in_flight: 8, max_queued: 256, cancellation_budget: 2s }
        idempotency_key: "${body.id}"
        rules:
          - name: created
            when: { event.type: order.created }
            do:
              - start_workflow: { workflow_type: orders.fulfillment, task_queue: orders, workflow_id: "kafka-order-${body.order}", input: ["${body}"] }
        """

    @Test("records produced to the topic are delivered, recorded, and the consumer is part of /readyz")
    func kafkaRecordsReachTheEngine() async throws {
        let fake = try await startEngineFake()
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("orders.events", partitions: 3)
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["order-events": kafkaAdapter],
            extra: "kafka:\n  bootstrap_servers: \(cluster.bootstrapServers)\n")
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(try project.configuration(), ledger: ledger)

        var messages = (0..<50).map { index in
            KafkaProducer.Message(
                topic: "orders.events", key: Array("k\(index % 5)".utf8),
                value: Array(#"{"id":"ke-\#(index)","type":"order.created","order":\#(index)}"#.utf8))
        }
        // A binary-mode CloudEvent without ce_id cannot become an event: it is recorded as a rejection too.
        messages.append(
            KafkaProducer.Message(
                topic: "orders.events", key: Array("k0".utf8), value: Array("{}".utf8),
                headers: [.init("ce_specversion", "1.0"), .init("ce_type", "order.created")]))
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Logger(label: "test"))
        let failures = await producer.sendAll(messages)
        await producer.shutdown()
        #expect(failures.isEmpty)

        #expect(await eventually { ledger.allDecisions.count == 51 })
        #expect(ledger.allDecisions.filter { $0.outcome.kind == .accepted }.count == 50)
        let unreadable = ledger.allDecisions.map(\.outcome).filter { $0.kind == .rejected }
        #expect(unreadable.count == 1)
        #expect(unreadable.first?.reason?.rawValue == "invalid_event")
        #expect(unreadable.first?.idempotencyKey.hasPrefix("orders.events-") == true)
        if case .kafka(topic: "orders.events", _, _)? = unreadable.first?.sluice?.sourcePosition {} else {
            Issue.record("the rejection has no Kafka position: \(String(describing: unreadable.first?.sluice))")
        }
        let letters = try await ledger.deadLetters(DeadLetterQuery())
        #expect(letters.map(\.outcome.idempotencyKey) == unreadable.map(\.idempotencyKey))
        #expect(fake.workflow("kafka-order-49") != nil)
        #expect(await eventually { (try? await service.get("/readyz"))?.body.contains("ok   kafka order-events") == true })
        let metrics = try await service.get("/metrics").body
        #expect(metrics.contains("adapter=\"order-events\""))
        let assigned = metrics.split(separator: "\n").filter {
            $0.hasPrefix("sluice_kafka_rebalances_total{") && $0.contains("adapter=\"order-events\"")
                && $0.contains("kind=\"assigned\"")
        }
        #expect(assigned.count == 1 && !assigned[0].hasSuffix(" 0"), "\(assigned)")
        // Every record is committed: each partition that had records reports a lag of 0 (none is reported as
        // behind by its high watermark).
        let caughtUp = await eventually {
            let lines = ((try? await service.get("/metrics"))?.body ?? "").split(separator: "\n").filter {
                $0.hasPrefix("sluice_kafka_consumer_lag{") && $0.contains("adapter=\"order-events\"")
            }
            return !lines.isEmpty && lines.allSatisfy { $0.split(separator: " ").last.flatMap { Double($0) } == 0 }
        }
        let lagLines = ((try? await service.get("/metrics"))?.body ?? "").split(separator: "\n").filter { $0.contains("consumer_lag") }
        #expect(caughtUp, "\(lagLines)")
        // The buffer and pause gauges follow the buffer as it drains too, not only as fetches fill it.
        let idle = await eventually {
            let lines = ((try? await service.get("/metrics"))?.body ?? "").split(separator: "\n").filter {
                ($0.hasPrefix("sluice_kafka_buffered_records{") || $0.hasPrefix("sluice_kafka_paused{"))
                    && $0.contains("adapter=\"order-events\"")
            }
            return lines.count == 2 && lines.allSatisfy { $0.split(separator: " ").last.flatMap { Double($0) } == 0 }
        }
        #expect(idle)
        try await service.stop()
        await fake.stop()
    }

    /// Two Kafka adapters, each with a 3 s budget and a call in flight that outlasts it: the consumers' revokes
    /// drain together, so the shutdown takes about 3 s, not 6 (the group stops its services one at a time, and
    /// each consumer was one).
    @Test("the Kafka consumers drain together: a shutdown takes the longest budget, not their sum")
    func consumersDrainTogether() async throws {
        let fake = try await startEngineFake()
        let cluster = try MockKafkaCluster()
        func adapter(_ name: String) -> String {
            kafkaAdapter.replacingOccurrences(of: "adapter: order-events", with: "adapter: \(name)")
                .replacingOccurrences(of: "topics: [orders.events], group: sluice-order-events", with: "topics: [\(name)], group: sluice-\(name)")
                .replacingOccurrences(of: "cancellation_budget: 2s", with: "cancellation_budget: 3s")
                .replacingOccurrences(of: "kafka-order-", with: "\(name)-")
        }
        for name in ["first", "second"] { try cluster.createTopic(name, partitions: 1) }
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["first": adapter("first"), "second": adapter("second")],
            extra: "kafka:\n  bootstrap_servers: \(cluster.bootstrapServers)\n")
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        // Health checks a minute apart: after the first ones, every request the engine gets is slow.
        let service = try await RunningService.start(try project.configuration(), ledger: ledger, healthInterval: .seconds(60))
        #expect(await eventually { !fake.requests.isEmpty }, "the engine's first health check")
        fake.inject(Array(repeating: FakeFault.delay(.seconds(20)), count: 10))
        let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Logger(label: "test"))
        let failures = await producer.sendAll(["first", "second"].map { name in
            KafkaProducer.Message(topic: name, value: Array(#"{"id":"\#(name)-1","type":"order.created","order":1}"#.utf8))
        })
        await producer.shutdown()
        #expect(failures.isEmpty)
        #expect(await eventually(timeout: .seconds(30)) { fake.requests.filter { $0.json?["idempotency_key"] != nil }.count == 2 })
        let started = ContinuousClock.now
        try await service.stop()
        let took = ContinuousClock.now - started
        #expect(took >= .seconds(3), "the budget is waited for: \(took)")
        #expect(took < .seconds(5), "both budgets ran at once: \(took)")
        // Cut, not recorded: both records are delivered again after a restart.
        #expect(ledger.allDecisions.isEmpty, "\(ledger.allDecisions)")
        await fake.stop()
    }

    @Test("with kafka.inbox_topic, a webhook is produced to the ingress topic before 202 and delivered from it")
    func kafkaAsTheWebhookInbox() async throws {
        let fake = try await startEngineFake()
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("sluice.inbox", partitions: 2)
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML],
            extra: "kafka:\n  bootstrap_servers: \(cluster.bootstrapServers)\n  inbox_topic: sluice.inbox\n")
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(try project.configuration(), ledger: ledger)
        for order in 1...10 {
            #expect(await ServeProcess.post(port: service.port, id: "evt_kin_\(order)", order: 900 + order) == 202)
        }
        // Nothing went through the ledger's inbox: Kafka is the inbox.
        #expect(ledger.inboxAppends == 0)
        let watermarks = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "sluice.inbox")
        #expect(watermarks.values.map(\.high).reduce(0, +) == 10)
        #expect(await eventually { ledger.allDecisions.count == 10 })
        for order in 1...10 {
            let outcome = try await ledger.decision(adapter: "orders", idempotencyKey: "evt_kin_\(order)")
            #expect(outcome?.kind == .accepted)
            #expect(fake.workflow("order-\(900 + order)") != nil)
        }
        // A redelivery of a decided key is answered from the ledger (200) and not produced again.
        #expect(await ServeProcess.post(port: service.port, id: "evt_kin_1", order: 901) == 200)
        let again = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "sluice.inbox")
        #expect(again.values.map(\.high).reduce(0, +) == 10)
        // A delivery accepted for an adapter this configuration no longer has (removed since) is not
        // dropped: it is rejected `unknown_target` and kept, with its delivery, as a dead letter.
        let otherProducer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: Logger(label: "test"))
        let otherReplica = KafkaWebhookInbox(producer: otherProducer, topic: "sluice.inbox")
        let retired = Delivery(
            adapter: "retired", target: "/webhooks/retired", headers: ["Content-Type": "application/json"],
            body: Array(#"{"id":"evt_retired"}"#.utf8), receivedAt: Date())
        try await otherReplica.append(retired, key: nil)
        await otherReplica.close()
        #expect(await eventually { ledger.allDecisions.count == 11 })
        let letters = try await ledger.deadLetters(DeadLetterQuery(adapter: "retired"))
        #expect(letters.count == 1)
        #expect(letters.first?.outcome.reason == .unknownTarget)
        #expect(letters.first?.content.delivery?.body == retired.body)
        let inbox = try #require(service.application.kafkaInbox)
        #expect(!inbox.isClosed)
        try await service.stop()
        // Its poll thread and connections do not outlive the service.
        #expect(inbox.isClosed)
        await fake.stop()
    }

    /// A webhook larger than the ingress topic's records may be (librdkafka's `message.max.bytes`, 1,000,000 by
    /// default) is answered `413`, not `503` (which its sender would retry for ever), and nothing is produced.
    /// The inbox's producer is made while the application is assembled; a start that fails after it (a Kafka consumer
    /// refused, a route) left its poll thread and broker connections running until the process exited.
    @Test("a start that fails after the Kafka inbox's producer was made closes it")
    func aFailedStartClosesTheInboxProducer() async throws {
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("sluice.inbox", partitions: 1)
        let fake = try await startEngineFake()
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML],
            extra: "kafka:\n  bootstrap_servers: \(cluster.bootstrapServers)\n  inbox_topic: sluice.inbox\n")
        defer { project.cleanUp() }
        let before = ProcessThreads.count(named: "sluice-produce")
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            _ = try buildApplication(
                config: try project.configuration(), ledger: InMemoryLedger(), sources: { _, _, _ in throw Refused() })
        }
        #expect(
            await eventually(timeout: .seconds(10)) { ProcessThreads.count(named: "sluice-produce") == before },
            "the producer's thread still runs")
        await fake.stop()
    }

    @Test("with kafka.inbox_topic, a webhook too large for an ingress record is answered 413")
    func aWebhookTooLargeForTheInboxIs413() async throws {
        let fake = try await startEngineFake()
        let cluster = try MockKafkaCluster()
        try cluster.createTopic("sluice.inbox", partitions: 1)
        let adapter = ordersAdapterYAML.replacingOccurrences(
            of: "webhook: { path: /webhooks/orders, verify: { scheme: none } }",
            with: "webhook: { path: /webhooks/orders, verify: { scheme: none }, max_body_bytes: 2097152 }")
        let project = try ServiceProject(
            engineURL: fake.baseURL, adapters: ["orders": adapter],
            extra: "kafka:\n  bootstrap_servers: \(cluster.bootstrapServers)\n  inbox_topic: sluice.inbox\n")
        defer { project.cleanUp() }
        let service = try await RunningService.start(try project.configuration(), ledger: InMemoryLedger())
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(service.port)/webhooks/orders")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let padding = String(repeating: "x", count: 1_200_000)
        request.httpBody = Data(#"{"id":"evt_big","type":"order.created","order":1,"padding":"\#(padding)"}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 413, "\(String(decoding: data, as: UTF8.self))")
        #expect(String(decoding: data, as: UTF8.self).contains("payload-too-large"))
        let watermarks = try await KafkaAdmin.watermarks(bootstrapServers: cluster.bootstrapServers, topic: "sluice.inbox")
        #expect(watermarks.values.map(\.high).reduce(0, +) == 0)
        // A webhook of an ordinary size still goes through.
        #expect(await ServeProcess.post(port: service.port, id: "evt_small", order: 2) == 202)
        try await service.stop()
        await fake.stop()
    }
}
