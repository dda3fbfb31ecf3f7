import Foundation
import SluiceCore
@testable import SluiceKafka
import Testing

extension KafkaSuites {
    @Suite("KafkaProducer, webhook inbox and JSON Lines (mock cluster)", .serialized, .timeLimit(.minutes(2)))
    struct KafkaProducerTests {
        /// A verified webhook produced to the ingress topic comes back as that webhook's event, with a Kafka position.
        /// Headers a sender set in Sluice's `sluice-inbox-` namespace are dropped, so they cannot route the
        /// delivery to another adapter (past that adapter's verification).
        @Test func webhookInboxRecordsAreNormalisedAsWebhooks() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("ingress", partitions: 2)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            let inbox = KafkaWebhookInbox(producer: producer, topic: "ingress")
            let genuine: HeaderFields = [
                "X-GitHub-Delivery": "d-42", "X-GitHub-Event": "deployment", "Content-Type": "application/json",
            ]
            var received = genuine
            received.append(name: "sluice-inbox-adapter", value: "stripe-orders")
            received.append(name: "Sluice-Inbox-Target", value: "/webhooks/stripe")
            let delivery = Delivery(
                adapter: "github-deployments", target: "/hooks/github?x=1", headers: received,
                body: Array(#"{"action":"created"}"#.utf8), receivedAt: Date(timeIntervalSince1970: 1_700_000_000))
            let stored = try await inbox.append(delivery, key: "repo-1")
            #expect(stored.offset == 0)
            await producer.shutdown()

            let records = try await DeadLetterReader.read(cluster, topic: "ingress", count: 1)
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(KafkaWebhookInbox.delivery(from: record) == Delivery(
                adapter: "github-deployments", target: "/hooks/github?x=1", headers: genuine, body: delivery.body,
                receivedAt: delivery.receivedAt))
            #expect(record.headers.fields.filter { $0.name.lowercased() == KafkaWebhookInbox.adapterHeader }.count == 1)
            // A receive time no Sluice wrote (near Int64.max milliseconds) is not taken: the record's own time stands in.
            var forged = record
            forged.headers = HeaderFields(
                record.headers.fields.filter { $0.name != KafkaWebhookInbox.receivedAtHeader }
                    + [HeaderFields.Field(name: KafkaWebhookInbox.receivedAtHeader, value: "9223372036854775807")])
            #expect(KafkaWebhookInbox.delivery(from: forged)?.receivedAt == record.timestamp)
            let event = try record.event(receivedAt: Date())
            #expect(event.id == "d-42")
            #expect(event.type == "deployment")
            #expect(event.convention == .github)
            #expect(event.source == "github-deployments")
            #expect(event.position == .kafka(topic: "ingress", partition: record.partition, offset: 0))
        }

        /// A property given in another of librdkafka's spellings of the enforced value is that value: no warning.
        @Test(arguments: [
            ("acks", "all", true), ("acks", "-1", true), ("acks", "ALL", true), ("acks", "1", false), ("acks", nil, false),
            ("enable.idempotence", "true", true), ("enable.idempotence", "1", true), ("enable.idempotence", "T", true),
            ("enable.idempotence", "false", false),
        ] as [(String, String?, Bool)])
        func enforcedPropertiesAcceptTheirSpellings(name: String, given: String?, same: Bool) {
            let value = KafkaProducer.enforcedProperties[name] ?? ""
            #expect(KafkaProducer.means(given, value, for: name) == same)
        }

        /// A header value that is not UTF-8 is read as base64 text for events, and kept byte for byte beside it
        /// (what a dead letter copies); a record whose headers are all text keeps no second copy.
        @Test func binaryHeaderValuesAreKeptAsTheyCame() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("events", partitions: 1)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            let schemaID: [UInt8] = [0x00, 0x00, 0x00, 0x2A, 0xC3]
            _ = try await producer.send(KafkaProducer.Message(
                topic: "events", value: Array("{}".utf8),
                headers: [.init(name: "schema-id", value: schemaID), .init("trace", "t-1")]))
            _ = try await producer.send(KafkaProducer.Message(topic: "events", value: Array("{}".utf8), headers: [.init("trace", "t-2")]))
            await producer.shutdown()
            let records = try await DeadLetterReader.read(cluster, topic: "events", count: 2)
            #expect(records.count == 2)
            #expect(records.first?.headers["schema-id"] == Base64.encode(schemaID))
            #expect(records.first?.binaryHeaders == [.init(name: "schema-id", value: schemaID), .init(name: "trace", value: Array("t-1".utf8))])
            #expect(records.last?.binaryHeaders == nil)
            #expect(records.last?.headers["trace"] == "t-2")
        }

        /// `sluice produce`: every JSON line is one record, keyed by a member when asked; a bad line fails first.
        @Test func producesJSONLines() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("events", partitions: 3)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            let text = """
                {"id": 1, "customer": "c1"}

                {"id": 2, "customer": "c2"}
                "just a string"
                """
            let report = try await producer.produceJSONLines(Array(text.utf8), topic: "events", keyMember: "customer")
            #expect(report == KafkaProducer.JSONLinesReport(produced: 3, skipped: 1))
            await #expect(throws: KafkaProducer.JSONLinesError.self) {
                try await producer.produceJSONLines(Array("{\"ok\": 1}\n{not json".utf8), topic: "events")
            }
            // Windows line ends are line ends; a byte that is not UTF-8 is refused, not replaced.
            let crlf = try await producer.produceJSONLines(Array("{\"a\":1}\r\n{\"b\":2}\r\n".utf8), topic: "events")
            #expect(crlf == KafkaProducer.JSONLinesReport(produced: 2, skipped: 1))
            let latin1: [UInt8] = Array("{\"name\":\"Jos".utf8) + [0xE9] + Array("\"}".utf8)
            let refused = await #expect(throws: KafkaProducer.JSONLinesError.self) {
                try await producer.produceJSONLines(latin1, topic: "events")
            }
            #expect(refused?.line == 1)
            await producer.shutdown()
            let ends = try await KafkaTest.endOffsets(cluster, topic: "events")
            #expect(ends.values.reduce(0, +) == 5)
        }

        /// Non-retriable produce errors surface as delivery failures; retriable ones are retried by librdkafka.
        @Test func produceErrorsAreReported() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("events", partitions: 1)
            let producer = try KafkaProducer(
                bootstrapServers: cluster.bootstrapServers, properties: ["enable.idempotence": "false", "retries": "5"],
                logger: KafkaTest.logger)
            cluster.pushRequestErrors(.produce, [6, 7])  // NOT_LEADER_FOR_PARTITION, REQUEST_TIMED_OUT: retried
            let delivered = try await producer.send(KafkaProducer.Message(topic: "events", value: Array("a".utf8)))
            #expect(delivered.offset == 0)
            cluster.pushRequestErrors(.produce, [29])  // TOPIC_AUTHORIZATION_FAILED: not retriable
            await #expect {
                try await producer.send(KafkaProducer.Message(topic: "events", value: Array("b".utf8)))
            } throws: { error in
                (error as? KafkaError)?.codeName == "TOPIC_AUTHORIZATION_FAILED"
            }
            // `sluice produce`: a line whose record is not stored is named, with how many were.
            cluster.pushRequestErrors(.produce, [29])
            let undelivered = await #expect(throws: KafkaProducer.JSONLinesError.self) {
                try await producer.produceJSONLines(Array("\n{\"c\":1}\n".utf8), topic: "events")
            }
            #expect(undelivered?.line == 2)
            #expect(undelivered?.problem.contains("TOPIC_AUTHORIZATION_FAILED") == true, "\(String(describing: undelivered))")
            #expect(undelivered?.problem.hasSuffix("0 of 1 records stored") == true, "\(String(describing: undelivered))")
            await producer.shutdown()
        }

        /// An idempotent producer that hits a fatal error (the brokers lost its sequence state) refuses every later
        /// record; librdkafka's remedy is a new producer. The poll thread makes one, and a sender that retries a
        /// refused record gets it stored on the same topic.
        @Test func aFatalErrorReplacesTheClient() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("events", partitions: 1)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            try await producer.send(KafkaProducer.Message(topic: "events", value: Array("before".utf8)))
            producer.raiseFatalError(reason: "sequence state lost")

            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            var stored: KafkaProducer.Delivery?
            while stored == nil, clock.now < deadline {
                do throws(KafkaError) {
                    stored = try await producer.send(KafkaProducer.Message(topic: "events", value: Array("after".utf8)))
                } catch {
                    #expect(error.isRetriable, "\(error)")
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(stored != nil)
            #expect(producer.replacements == 1)
            await producer.shutdown()
            let ends = try await KafkaTest.endOffsets(cluster, topic: "events")
            #expect(ends.values.reduce(0, +) == 2)
        }

        /// A cluster that refuses idempotent producers makes every new client fatal at once: the replacements pause
        /// (1 s, then longer) instead of making a client every few milliseconds, and the records fail as not
        /// retriable, so that a source waiting on them reports itself not ready. A delivery ends the pauses.
        @Test func aReplacementThatFailsTooIsReplacedAfterAPause() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("events", partitions: 1)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            producer.raiseFatalError(reason: "first")
            #expect(await KafkaTest.eventually(timeout: .seconds(5)) { producer.replacements == 1 })
            // The replacement fails too before it delivered anything.
            producer.raiseFatalError(reason: "again")
            let clock = ContinuousClock()
            let raised = clock.now
            do throws(KafkaError) {
                try await producer.send(KafkaProducer.Message(topic: "events", value: Array("refused".utf8)))
                Issue.record("a record was taken by a client that hit a fatal error")
            } catch {
                #expect(!error.isRetriable, "\(error)")
                #expect(error.message.contains("idempotent"), "\(error)")
            }
            #expect(await KafkaTest.eventually(timeout: .seconds(5)) { producer.isRefused }, "ready while the cluster refuses every producer")
            #expect(await KafkaTest.eventually(timeout: .seconds(5)) { producer.replacements == 2 })
            #expect(clock.now - raised >= .milliseconds(900), "replaced again without a pause")
            #expect(producer.fruitlessReplacements == 1)
            #expect(producer.isRefused, "the client after the pause has delivered nothing yet")
            // A delivery: the next fatal error is one client's again, replaced at once and retriable.
            try await producer.send(KafkaProducer.Message(topic: "events", value: Array("delivered".utf8)))
            #expect(!producer.isRefused)
            producer.raiseFatalError(reason: "later")
            #expect(await KafkaTest.eventually(timeout: .seconds(5)) { producer.replacements == 3 })
            #expect(producer.fruitlessReplacements == 0, "a pause after a client that delivered")
            await producer.shutdown()
        }
    }
}
