import Foundation
import SluiceCore
@testable import SluiceKafka
import Testing

/// What Sluice produces besides the webhook inbox: dead letters, outcome records, and which produce errors are
/// worth retrying.
@Suite("Dead-letter and outcome records, produce errors")
struct ProducedRecordTests {
    /// A record copied back from a dead-letter topic (a re-drive by hand) that fails again gets this failure's
    /// `sluice.dlq.*` headers only; before, the earlier letter's came first and a reader took the old reason.
    @Test func aDeadLetterOfARedrivenRecordCarriesOnlyItsOwnFailure() {
        let copied = KafkaRecord(
            topic: "orders", partition: 2, offset: 40, value: Array("{}".utf8),
            headers: [
                "trace-id": "t-1", "sluice.dlq.reason": "unknown_target", "Sluice.DLQ.Original.Offset": "7",
                "sluice.dlq.original.topic": "orders",
            ])
        let letter = DeadLetterMessage.make(
            copied, topic: "orders.dlq", adapter: "orders", reason: "malformed_payload", detail: "bad", maxValueBytes: 1 << 20,
            at: Date(timeIntervalSince1970: 1_700_000_000))
        let names = letter.headers.map { $0.name.lowercased() }
        #expect(names.filter { $0 == "sluice.dlq.reason" }.count == 1)
        #expect(names.filter { $0 == "sluice.dlq.original.offset" }.count == 1)
        #expect(letter.headers.first { $0.name == "sluice.dlq.reason" }?.value == Array("malformed_payload".utf8))
        #expect(letter.headers.first { $0.name == "sluice.dlq.original.offset" }?.value == Array("40".utf8))
        #expect(letter.headers.first { $0.name == "trace-id" }?.value == Array("t-1".utf8))
    }

    /// A binary header value (not UTF-8) reaches the dead letter byte for byte, not as the base64 text an event
    /// reads it as.
    @Test func aDeadLetterKeepsBinaryHeaderValues() {
        let schemaID: [UInt8] = [0x00, 0x00, 0x00, 0x01, 0xFF]
        let record = KafkaRecord(
            topic: "orders", partition: 0, offset: 1, value: [],
            headers: ["schema-id": Base64.encode(schemaID), "trace": "t"],
            binaryHeaders: [.init(name: "schema-id", value: schemaID), .init(name: "trace", value: Array("t".utf8))])
        let letter = DeadLetterMessage.make(
            record, topic: "orders.dlq", adapter: "orders", reason: "malformed_payload", detail: "", maxValueBytes: 1 << 20,
            at: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(letter.headers.first { $0.name == "schema-id" }?.value == schemaID)
        #expect(letter.headers.first { $0.name == "trace" }?.value == Array("t".utf8))
    }

    /// An outcome too large for a record is produced as its summary, never as an empty value (on a compacted
    /// outcome topic an empty value deletes the key's outcome).
    @Test func anOutcomeTooLargeBecomesItsSummary() throws {
        let outcome = Outcome(
            adapter: "orders", action: "start_workflow", idempotencyKey: "k-1", kind: .rejected, reason: .unknownTarget,
            message: String(repeating: "m", count: 2_000_000), workflowID: "order-1")
        let summary = try JSONParser.parse(OutcomeMessage.summary(of: outcome))
        #expect(summary["idempotency_key"] == "k-1")
        #expect(summary["outcome"] == "rejected")
        #expect(summary["reason"] == "unknown_target")
        #expect(summary["workflow_id"] == "order-1")
        #expect(summary["truncated"] == true)
    }

    /// librdkafka answers a produce to a topic it knows is missing with `_UNKNOWN_TOPIC` at once (a broker's
    /// `UNKNOWN_TOPIC_OR_PART` only the first time): sending again cannot help, and the source says so in `/readyz`.
    @Test func errorsThatRetryingCannotCureAreNotRetriable() {
        let permanent: [(Int32, String)] = [
            (-188, "_UNKNOWN_TOPIC"), (-190, "_UNKNOWN_PARTITION"), (3, "UNKNOWN_TOPIC_OR_PART"), (17, "TOPIC_EXCEPTION"),
            (10, "MSG_SIZE_TOO_LARGE"), (29, "TOPIC_AUTHORIZATION_FAILED"),
        ]
        for (code, name) in permanent {
            let error = KafkaError(kind: .client, code: code, message: "")
            #expect(error.codeName == name)
            #expect(!error.isRetriable, "\(name)")
        }
        for (code, name) in [(Int32(-195), "_TRANSPORT"), (-192, "_MSG_TIMED_OUT"), (19, "NOT_ENOUGH_REPLICAS")] {
            let error = KafkaError(kind: .client, code: code, message: "")
            #expect(error.codeName == name)
            #expect(error.isRetriable, "\(name)")
        }
    }
}
