import Foundation
import Testing

@testable import SluiceCore

private let now = CoreTestSupport.receivedAt
private let hookRequest = EventOrigin.WebhookRequest(path: "/webhooks/test")

private func webhook(
    headers: HeaderFields, body: String, request: EventOrigin.WebhookRequest = hookRequest,
    position: SourcePosition = .inbox(id: 9)
) throws(EventError) -> Event {
    try Event.webhook(
        source: "/webhooks/test", request: request, headers: headers, body: Array(body.utf8), receivedAt: now,
        position: position)
}

private func kafka(
    headers: HeaderFields = [:], value: String, topic: String = "orders", partition: Int32 = 3, offset: Int64 = 1042,
    key: [UInt8]? = nil, timestamp: Date? = nil
) throws(EventError) -> Event {
    try Event.kafka(
        record: .init(topic: topic, partition: partition, offset: offset, key: key, timestamp: timestamp), headers: headers,
        value: Array(value.utf8), receivedAt: now)
}

private func cloudEventError(_ body: () throws(EventError) -> Event) -> EventError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite("CloudEvents")
struct CloudEventTests {
    static let structuredBody = """
        {"specversion":"1.0","id":"A234-1234","source":"/orders/service","type":"com.example.order.created",
         "subject":"order-1001","time":"2024-05-01T10:00:00Z","datacontenttype":"application/json",
         "dataschema":"https://example.com/schema","partitionkey":"order-1001","traceparent":"00-abc","retries":3,
         "data":{"order_id":"order-1001","total":4200}}
        """

    @Test("structured mode over HTTP: attributes, extensions, data and key")
    func structuredWebhook() throws {
        let event = try webhook(
            headers: ["Content-Type": "application/cloudevents+json; charset=utf-8"], body: Self.structuredBody)
        #expect(event.id == "A234-1234")
        #expect(event.type == "com.example.order.created")
        #expect(event.key == "order-1001")
        #expect(event.convention == .cloudEventsStructured)
        #expect(event.body == .json(["order_id": "order-1001", "total": 4200]))
        #expect(event.position == .inbox(id: 9))
        #expect(event.receivedAt == now)
        #expect(event.source == "/webhooks/test")
        let cloudEvent = try #require(event.cloudEvent)
        #expect(cloudEvent.mode == .structured)
        #expect(cloudEvent.specVersion == "1.0")
        #expect(cloudEvent.source == "/orders/service")
        #expect(cloudEvent.subject == "order-1001")
        #expect(cloudEvent.time == "2024-05-01T10:00:00Z")
        #expect(cloudEvent.dataContentType == "application/json")
        #expect(cloudEvent.dataSchema == "https://example.com/schema")
        #expect(cloudEvent.extensions == ["partitionkey": "order-1001", "traceparent": "00-abc", "retries": "3"])
        #expect(cloudEvent.attribute("traceparent") == "00-abc")
        #expect(cloudEvent.attribute("id") == "A234-1234")
        #expect(cloudEvent.attribute("nope") == nil)
    }

    @Test("structured mode is recognised whatever the header's case and parameters")
    func structuredContentTypeVariants() throws {
        for headers: HeaderFields in [
            ["content-type": "application/cloudevents+json"],
            ["CONTENT-TYPE": "Application/CloudEvents+JSON"],
            ["Content-Type": "  application/cloudevents+json ;charset=utf-8"],
        ] {
            let event = try webhook(headers: headers, body: Self.structuredBody)
            #expect(event.convention == .cloudEventsStructured)
            #expect(event.id == "A234-1234")
        }
        // A JSON body with the attributes but an ordinary content type is not a CloudEvent (its body stays whole), but
        // it keeps the envelope's id.
        let plain = try webhook(headers: ["Content-Type": "application/json"], body: Self.structuredBody)
        #expect(plain.cloudEvent == nil)
        #expect(plain.convention == .cloudEventsBody)
        #expect(plain.id == "A234-1234")
    }

    @Test("structured mode: data_base64 is decoded, and parsed when it is JSON")
    func structuredBase64() throws {
        let headers: HeaderFields = ["Content-Type": "application/cloudevents+json"]
        let text = try webhook(
            headers: headers,
            body: #"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"aGVsbG8gd29ybGQ="}"#)
        #expect(text.body == .bytes(Array("hello world".utf8)))
        let json = try webhook(
            headers: headers, body: #"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"eyJhIjoxfQ=="}"#)
        #expect(json.body == .json(["a": 1]))
        // Padding is optional.
        let unpadded = try webhook(
            headers: headers, body: #"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"eyJhIjoxfQ"}"#)
        #expect(unpadded.body == .json(["a": 1]))
        let none = try webhook(headers: headers, body: #"{"specversion":"1.0","id":"1","source":"s","type":"t"}"#)
        #expect(none.body == .json(.null))
    }

    @Test("structured mode: invalid envelopes are EventErrors naming the problem", arguments: [
        (#"{"id":"1","source":"s","type":"t"}"#, "missing required attribute 'specversion'"),
        (#"{"specversion":"1.0","source":"s","type":"t"}"#, "missing required attribute 'id'"),
        (#"{"specversion":"1.0","id":"1","type":"t"}"#, "missing required attribute 'source'"),
        (#"{"specversion":"1.0","id":"1","source":"s"}"#, "missing required attribute 'type'"),
        (#"{"specversion":"1.0","id":"","source":"s","type":"t"}"#, "attribute 'id' must be a non-empty string"),
        (#"{"specversion":"1.0","id":7,"source":"s","type":"t"}"#, "attribute 'id' must be a non-empty string"),
        (#"{"specversion":"1.0","id":"a\u0000b","source":"s","type":"t"}"#, "attribute 'id' contains a NUL character (U+0000)"),
        (#"{"specversion":"0.3","id":"1","source":"s","type":"t"}"#, "unsupported specversion '0.3' (expected 1.0)"),
        (#"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"!!!"}"#, "data_base64 is not base64"),
        (#"{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":5}"#, "data_base64 is not base64"),
        ("not json", "the body is not JSON"),
        ("[1,2]", "the body is not a JSON object"),
    ])
    func structuredInvalid(body: String, problem: String) {
        let error = cloudEventError { () throws(EventError) in
            try webhook(headers: ["Content-Type": "application/cloudevents+json"], body: body)
        }
        #expect(error == .invalidCloudEvent(mode: .structured, problem: problem))
        #expect(error?.description == "invalid structured CloudEvent: \(problem)")
        // The same holds over Kafka.
        let overKafka = cloudEventError { () throws(EventError) in
            try kafka(headers: ["content-type": "application/cloudevents+json"], value: body)
        }
        #expect(overKafka == .invalidCloudEvent(mode: .structured, problem: problem))
    }

    @Test("binary mode over HTTP: ce- headers, percent-decoded, case-insensitive")
    func binaryHTTP() throws {
        let headers: HeaderFields = [
            "CE-SpecVersion": "1.0", "ce-id": "id%20with%20spaces", "Ce-Source": "%2Forders%2Fservice",
            "ce-type": "com.example.order.paid", "ce-subject": "order-1%2F2", "ce-time": "2024-05-01T10:00:00Z",
            "ce-partitionkey": "pk-1", "ce-traceparent": "00-%41", "Content-Type": "application/json",
        ]
        let event = try webhook(headers: headers, body: #"{"amount":10}"#)
        #expect(event.convention == .cloudEventsBinary)
        #expect(event.id == "id with spaces")
        #expect(event.type == "com.example.order.paid")
        #expect(event.key == "pk-1")
        #expect(event.body == .json(["amount": 10]))
        let cloudEvent = try #require(event.cloudEvent)
        #expect(cloudEvent.mode == .binary)
        #expect(cloudEvent.source == "/orders/service")
        #expect(cloudEvent.subject == "order-1/2")
        #expect(cloudEvent.dataContentType == "application/json")
        #expect(cloudEvent.extensions == ["partitionkey": "pk-1", "traceparent": "00-A"])
    }

    @Test("binary mode: an id with a NUL character (percent-encoded over HTTP, raw in a Kafka header) is an EventError")
    func binaryNULInvalid() {
        let problem = "header 'ce-id' contains a NUL character (U+0000)"
        #expect(
            cloudEventError { () throws(EventError) in
                try webhook(headers: ["ce-specversion": "1.0", "ce-id": "a%00b", "ce-source": "s", "ce-type": "t"], body: "{}")
            } == .invalidCloudEvent(mode: .binary, problem: problem))
        #expect(
            cloudEventError { () throws(EventError) in
                try kafka(headers: ["ce_specversion": "1.0", "ce_id": "a\u{0}b", "ce_source": "s", "ce_type": "t"], value: "{}")
            } == .invalidCloudEvent(mode: .binary, problem: "header 'ce_id' contains a NUL character (U+0000)"))
    }

    @Test("binary mode over HTTP with a non-JSON body keeps the bytes")
    func binaryHTTPBytes() throws {
        let event = try webhook(
            headers: ["ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t", "content-type": "text/plain"],
            body: "just text")
        #expect(event.body == .bytes(Array("just text".utf8)))
        #expect(event.cloudEvent?.dataContentType == "text/plain")
    }

    @Test("binary mode: a missing or empty required header, or another specversion, is an EventError", arguments: [
        ("ce-id", "missing required header 'ce-id'"),
        ("ce-source", "missing required header 'ce-source'"),
        ("ce-type", "missing required header 'ce-type'"),
    ])
    func binaryHTTPInvalid(dropped: String, problem: String) {
        var headers = HeaderFields()
        for (name, value) in [("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "s"), ("ce-type", "t")]
        where name != dropped {
            headers.append(name: name, value: value)
        }
        #expect(
            cloudEventError { () throws(EventError) in try webhook(headers: headers, body: "{}") }
                == .invalidCloudEvent(mode: .binary, problem: problem))
        headers.append(name: dropped, value: "")
        #expect(
            cloudEventError { () throws(EventError) in try webhook(headers: headers, body: "{}") }
                == .invalidCloudEvent(mode: .binary, problem: problem))
    }

    @Test("binary mode: specversion other than 1.0 is refused")
    func binarySpecVersion() {
        let headers: HeaderFields = ["ce-specversion": "0.3", "ce-id": "1", "ce-source": "s", "ce-type": "t"]
        #expect(
            cloudEventError { () throws(EventError) in try webhook(headers: headers, body: "{}") }
                == .invalidCloudEvent(mode: .binary, problem: "unsupported specversion '0.3' (expected 1.0)"))
        let kafkaHeaders: HeaderFields = ["ce_specversion": "2.0", "ce_id": "1", "ce_source": "s", "ce_type": "t"]
        #expect(
            cloudEventError { () throws(EventError) in try kafka(headers: kafkaHeaders, value: "{}") }
                == .invalidCloudEvent(mode: .binary, problem: "unsupported specversion '2.0' (expected 1.0)"))
    }

    @Test("binary mode over Kafka: ce_ headers, not percent-decoded; key from partitionkey, else the record key")
    func binaryKafka() throws {
        let headers: HeaderFields = [
            "ce_specversion": "1.0", "ce_id": "ship%2001", "ce_source": "/warehouse", "ce_type": "com.example.order.shipped",
            "ce_subject": "order-7",
        ]
        let event = try kafka(headers: headers, value: #"{"carrier":"ups"}"#, key: Array("record-key".utf8))
        #expect(event.convention == .cloudEventsBinary)
        #expect(event.id == "ship%2001")
        #expect(event.type == "com.example.order.shipped")
        #expect(event.key == "record-key")
        #expect(event.source == "orders")
        #expect(event.position == .kafka(topic: "orders", partition: 3, offset: 1042))
        #expect(event.cloudEvent?.subject == "order-7")
        #expect(event.body == .json(["carrier": "ups"]))

        var withPartitionKey = headers
        withPartitionKey.append(name: "ce_partitionkey", value: "pk-9")
        let keyed = try kafka(headers: withPartitionKey, value: "{}", key: Array("record-key".utf8))
        #expect(keyed.key == "pk-9")

        // ce- headers are not CloudEvents on Kafka, and ce_ headers are not on HTTP.
        let dashed = try kafka(headers: ["ce-specversion": "1.0", "ce-id": "x"], value: "{}")
        #expect(dashed.cloudEvent == nil)
        #expect(dashed.id == "orders-3-1042")
        let underscored = try webhook(headers: ["ce_specversion": "1.0", "ce_id": "x"], body: "{}")
        #expect(underscored.cloudEvent == nil)
    }

    /// CloudEvents' JSON format: an attribute set to null is unset. A null `partitionkey` leaves the record key.
    @Test("structured mode: an extension set to null is absent, not the text null")
    func nullExtension() throws {
        let value = #"{"specversion":"1.0","id":"e1","source":"s","type":"t","partitionkey":null,"traceparent":"00-a"}"#
        let event = try kafka(headers: ["content-type": "application/cloudevents+json"], value: value, key: Array("order-1".utf8))
        #expect(event.convention == .cloudEventsStructured)
        #expect(event.key == "order-1")
        #expect(event.cloudEvent?.extensions == ["traceparent": "00-a"])
    }

    @Test("binary mode over Kafka: missing attributes name the ce_ header")
    func binaryKafkaInvalid() {
        let headers: HeaderFields = ["ce_specversion": "1.0", "ce_id": "1", "ce_source": "s"]
        #expect(
            cloudEventError { () throws(EventError) in try kafka(headers: headers, value: "{}") }
                == .invalidCloudEvent(mode: .binary, problem: "missing required header 'ce_type'"))
    }

    @Test("structured mode over Kafka: partitionkey, else the record key")
    func structuredKafka() throws {
        let headers: HeaderFields = ["content-type": "application/cloudevents+json"]
        let keyed = try kafka(headers: headers, value: CloudEventTests.structuredBody, key: Array("rk".utf8))
        #expect(keyed.convention == .cloudEventsStructured)
        #expect(keyed.key == "order-1001")
        #expect(keyed.position == .kafka(topic: "orders", partition: 3, offset: 1042))
        #expect(keyed.source == "orders")
        let unkeyed = try kafka(
            headers: headers, value: #"{"specversion":"1.0","id":"9","source":"s","type":"t","data":[1]}"#,
            key: Array("rk".utf8))
        #expect(unkeyed.key == "rk")
        #expect(unkeyed.body == .json([1]))
    }
}

@Suite("Provider conventions")
struct ProviderConventionTests {
    @Test("Stripe: the body's id and type when object is event")
    func stripe() throws {
        let body = #"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}}"#
        let event = try webhook(headers: ["Stripe-Signature": "t=1,v1=abc", "Content-Type": "application/json"], body: body)
        #expect(event.convention == .stripe)
        #expect(event.id == "evt_1NG8Du2eZvKYlo2CUI79vXWy")
        #expect(event.type == "checkout.session.completed")
        #expect(event.body.json?["data"]?["object"]?["id"] == "cs_1")

        // Not an event object: falls back to the content hash.
        let notEvent = try webhook(headers: [:], body: #"{"id":"cs_1","object":"checkout.session","type":"x"}"#)
        #expect(notEvent.convention == .contentHash)
        #expect(notEvent.type == "x")
        // A Stripe event over Kafka is recognised too.
        let overKafka = try kafka(value: body)
        #expect(overKafka.convention == .stripe)
        #expect(overKafka.id == "evt_1NG8Du2eZvKYlo2CUI79vXWy")
        // An id with a NUL character is not taken: no ledger key may hold one (PostgreSQL's text cannot).
        #expect(try webhook(headers: ["X-GitHub-Delivery": "d\u{0}1", "X-GitHub-Event": "push"], body: "{}").convention == .contentHash)
        #expect(try webhook(headers: ["webhook-id": "msg\u{0}"], body: "{}").convention == .contentHash)
        let nul = #"{"id":"evt_\u0000","object":"event","type":"x"}"#
        #expect(try webhook(headers: [:], body: nul).convention == .contentHash)
        #expect(try kafka(value: nul).convention == .kafkaPosition)
        #expect(try kafka(value: #"{"event_id":"Ev\u0000","event":{"type":"message"}}"#).convention == .kafkaPosition)
    }

    @Test("GitHub: X-GitHub-Delivery and X-GitHub-Event, in any case")
    func github() throws {
        for (delivery, eventName) in [("X-GitHub-Delivery", "X-GitHub-Event"), ("x-github-delivery", "x-github-event")] {
            let event = try webhook(
                headers: [delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958", eventName: "deployment_status"],
                body: #"{"action":"created","deployment_status":{"state":"success"}}"#)
            #expect(event.convention == .github)
            #expect(event.id == "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            #expect(event.type == "deployment_status")
        }
    }

    @Test("Shopify: X-Shopify-Webhook-Id and X-Shopify-Topic")
    func shopify() throws {
        let event = try webhook(
            headers: [
                "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                "X-Shopify-Shop-Domain": "example.myshopify.com",
            ],
            body: #"{"id":820982911946154508,"email":"jon@example.com"}"#)
        #expect(event.convention == .shopify)
        #expect(event.id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        #expect(event.type == "orders/create")
        #expect(event.body.json?["id"] == .int(820_982_911_946_154_508))
    }

    @Test("Slack: event_id and event.type, else the outer type")
    func slack() throws {
        let event = try webhook(
            headers: ["X-Slack-Signature": "v0=abc"],
            body: #"{"token":"x","team_id":"T1","event":{"type":"app_mention","text":"hi"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1}"#)
        #expect(event.convention == .slack)
        #expect(event.id == "Ev08MFMKH6")
        #expect(event.type == "app_mention")
        let untyped = try webhook(
            headers: [:], body: #"{"event":{"text":"hi"},"type":"event_callback","event_id":"Ev2"}"#)
        #expect(untyped.type == "event_callback")
        #expect(untyped.id == "Ev2")
    }

    @Test("Standard Webhooks: webhook-id, and the body's type")
    func standardWebhooks() throws {
        let event = try webhook(
            headers: ["Webhook-Id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "webhook-timestamp": "1", "webhook-signature": "v1,x"],
            body: #"{"type":"invoice.paid","data":{"id":"in_1"}}"#)
        #expect(event.convention == .standardWebhooks)
        #expect(event.id == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        #expect(event.type == "invoice.paid")
    }

    /// A structured CloudEvent has one id whatever its `Content-Type`: sent as plain JSON, its envelope still names
    /// it (the body stays whole), so a replay under another media type meets the first delivery's decision.
    @Test("a CloudEvent body sent as plain JSON keeps its id")
    func cloudEventBody() throws {
        let envelope = #"{"specversion":"1.0","id":"ce-7","source":"/orders","type":"order.created","data":{"n":1}}"#
        let structured = try webhook(headers: ["Content-Type": "application/cloudevents+json"], body: envelope)
        let plain = try webhook(headers: ["Content-Type": "application/json"], body: envelope)
        #expect(structured.id == "ce-7" && structured.convention == .cloudEventsStructured)
        #expect(plain.id == structured.id)
        #expect(plain.type == "order.created")
        #expect(plain.convention == .cloudEventsBody)
        #expect(plain.body.json?["data"]?["n"] == .int(1), "the body stays the whole envelope")
        // Not a valid envelope (no source, another specversion, an empty id, a NUL): the content hash, as before.
        for body in [
            #"{"specversion":"1.0","id":"ce-7","type":"t"}"#, #"{"specversion":"0.3","id":"ce-7","source":"s","type":"t"}"#,
            #"{"specversion":"1.0","id":"","source":"s","type":"t"}"#, #"{"specversion":"1.0","id":"c\u0000","source":"s","type":"t"}"#,
        ] {
            let event = try webhook(headers: ["Content-Type": "application/json"], body: body)
            #expect(event.convention == .contentHash, "\(body)")
            #expect(event.id.hasPrefix("sha256:"))
        }
        // Under Standard Webhooks, the signed webhook-id names the delivery under either media type.
        let signedStructured = try webhook(
            headers: ["Content-Type": "application/cloudevents+json", "webhook-id": "msg_1"], body: envelope)
        let signedPlain = try webhook(headers: ["Content-Type": "application/json", "webhook-id": "msg_1"], body: envelope)
        #expect(signedStructured.id == "msg_1" && signedPlain.id == "msg_1")
        #expect(signedStructured.convention == .standardWebhooks && signedStructured.cloudEvent?.id == "ce-7")
        #expect(signedStructured.body.json?["n"] == .int(1), "still a structured CloudEvent: the body is its data")
        // A provider's header still outranks the body; Kafka records do not take the body's id.
        let github = try webhook(headers: ["X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"], body: envelope)
        #expect(github.id == "d-1")
        #expect(try kafka(value: envelope).convention == .kafkaPosition)
    }

    @Test("headers win over body conventions; CloudEvents win over headers")
    func precedence() throws {
        let stripeBody = #"{"id":"evt_1","object":"event","type":"charge.refunded"}"#
        let github = try webhook(headers: ["X-GitHub-Delivery": "d-1", "X-GitHub-Event": "push"], body: stripeBody)
        #expect(github.convention == .github)
        #expect(github.id == "d-1")
        let binary = try webhook(
            headers: [
                "X-GitHub-Delivery": "d-1", "ce-specversion": "1.0", "ce-id": "ce-1", "ce-source": "s", "ce-type": "t",
            ], body: stripeBody)
        #expect(binary.convention == .cloudEventsBinary)
        #expect(binary.id == "ce-1")
    }

    /// A record's position alone names it only until the offset is written again (a topic deleted and made again,
    /// a log truncated and written again): with its timestamp, the second record is not the first one's duplicate,
    /// while the same record read again keeps its id.
    @Test("Kafka fallback: a record with a timestamp is named by its position and timestamp")
    func kafkaFallbackWithTimestamp() throws {
        let stamp = Date(timeIntervalSince1970: 1_765_094_400.123)
        let first = try kafka(value: #"{"type":"order.created"}"#, timestamp: stamp)
        #expect(first.id == "orders-3-1042@1765094400123")
        #expect(first.convention == .kafkaPosition)
        let readAgain = try kafka(value: #"{"type":"order.created"}"#, timestamp: stamp)
        #expect(readAgain.id == first.id)
        let writtenAgain = try kafka(value: #"{"type":"order.created"}"#, timestamp: stamp.addingTimeInterval(3_600))
        #expect(writtenAgain.id == "orders-3-1042@1765098000123")
        // An id of the record's own still wins over its position.
        let stripe = try kafka(value: #"{"id":"evt_1","object":"event","type":"charge.refunded"}"#, timestamp: stamp)
        #expect(stripe.id == "evt_1")
        #expect(EventOrigin.KafkaRecord.positionID(topic: "a.b", partition: 0, offset: 7, timestamp: Date(timeIntervalSince1970: 0)) == "a.b-0-7@0")
        // The digits are written by hand: every width and sign reads as Swift prints it.
        for (partition, offset, millis) in [
            (Int32(9), Int64(10), Int64(-1)), (.max, .max, .min), (.min, .min, .max), (-1, 99, 1_000),
        ] {
            let stamp = Date(timeIntervalSince1970: Double(millis) / 1_000)
            let id = EventOrigin.KafkaRecord.positionID(topic: "ü.t", partition: partition, offset: offset, timestamp: stamp)
            #expect(id == "ü.t-\(partition)-\(offset)@\(Timestamp.unixMilliseconds(stamp))")
            #expect(EventOrigin.KafkaRecord.positionID(topic: "t", partition: partition, offset: offset, timestamp: nil) == "t-\(partition)-\(offset)")
        }
        // A topic name too long for a 255-byte key stands as its hash (Kafka allows 249 characters).
        let long = String(repeating: "t", count: 249)
        let longID = try kafka(value: "{}", topic: long, partition: 2_147_483_647, offset: .max, timestamp: stamp).id
        #expect(longID.utf8.count <= 255)
        #expect(longID.hasPrefix("topic-sha256-") && longID.hasSuffix("-2147483647-9223372036854775807@1765094400123"))
        #expect(try kafka(value: "{}", topic: long, partition: 2_147_483_647, offset: .max, timestamp: stamp).id == longID)
        let otherLong = String(repeating: "u", count: 249)
        #expect(try kafka(value: "{}", topic: otherLong, partition: 2_147_483_647, offset: .max, timestamp: stamp).id != longID)
        // A short enough long name keeps its name.
        let fits = String(repeating: "t", count: 200)
        #expect(try kafka(value: "{}", topic: fits, offset: 5, timestamp: stamp).id == fits + "-3-5@1765094400123")
    }

    @Test("Kafka fallback: topic-partition-offset, the record key, the body's type")
    func kafkaFallback() throws {
        let event = try kafka(value: #"{"type":"order.created","order_id":"o-1"}"#, key: Array("o-1".utf8))
        #expect(event.convention == .kafkaPosition)
        #expect(event.id == "orders-3-1042")
        #expect(event.type == "order.created")
        #expect(event.key == "o-1")
        #expect(event.source == "orders")
        guard case .kafka(let record) = event.origin else {
            Issue.record("origin is \(event.origin)")
            return
        }
        #expect(record.topic == "orders" && record.partition == 3 && record.offset == 1042)

        let other = try kafka(value: "{}", topic: "billing.events", partition: 0, offset: 0)
        #expect(other.id == "billing.events-0-0")
        #expect(other.convention == .kafkaPosition)
        #expect(other.type == nil)
        #expect(other.key == nil)
        // A binary (non-UTF-8) key is not a text key.
        let binaryKey = try kafka(value: "{}", key: [0xFF, 0xFE])
        #expect(binaryKey.key == nil)
    }

    @Test("webhook fallback: sha256 of the body, stable across calls and distinct per body")
    func contentHash() throws {
        let body = #"{"hello":"world","n":1}"#
        let first = try webhook(headers: ["Content-Type": "application/json"], body: body)
        let second = try webhook(headers: ["X-Other": "1"], body: body, position: .inbox(id: 77))
        #expect(first.convention == .contentHash)
        #expect(first.id == "sha256:" + independentSHA256Hex(body))
        #expect(first.id == second.id)
        let other = try webhook(headers: [:], body: #"{"hello":"world","n":2}"#)
        #expect(other.id != first.id)
        #expect(other.id.hasPrefix("sha256:"))
        #expect(other.id.count == "sha256:".count + 64)
        // The empty body hashes too.
        let empty = try webhook(headers: [:], body: "")
        #expect(empty.id == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(empty.body == .bytes([]))
    }

    @Test("non-JSON bodies are kept as bytes")
    func nonJSONBodies() throws {
        let form = "payload=%7B%22a%22%3A1%7D&token=x"
        let event = try webhook(headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form)
        #expect(event.body == .bytes(Array(form.utf8)))
        #expect(event.body.json == nil)
        #expect(event.body.expressionValue == .string(form))
        let binary = EventPayload(parsing: [0xFF, 0x00, 0x01])
        #expect(binary == .bytes([0xFF, 0x00, 0x01]))
        #expect(binary.expressionValue == .string("/wAB"))
        #expect(EventPayload(parsing: Array("  [1] ".utf8)) == .json([1]))
        #expect(EventPayload(parsing: Array("{\"a\":".utf8)) == .bytes(Array("{\"a\":".utf8)))
    }

    @Test("header lookups ignore ASCII case and keep order and repeats")
    func headerFields() {
        var headers: HeaderFields = ["X-Thing": "1", "x-thing": "2", "Other": "3"]
        #expect(headers["x-THING"] == "1")
        #expect(headers.values("X-THING") == ["1", "2"])
        #expect(headers.contains("other"))
        #expect(!headers.contains("othe"))
        #expect(!headers.contains("otherr"))
        headers.append(name: "CE-ID", value: "a")
        #expect(headers.count == 4)
        #expect(headers.withPrefix("ce-").map(\.name) == ["id"])
        #expect(headers.withPrefix("x-").map(\.value) == ["1", "2"])
        #expect(HeaderFields.equalIgnoringCase("ABC-def", "abc-DEF"))
        #expect(!HeaderFields.equalIgnoringCase("abc", "abd"))
        #expect(!HeaderFields.equalIgnoringCase("abc", "ab"))
        // Only ASCII letters fold: '[' (0x5B) is not '{' (0x7B).
        #expect(!HeaderFields.equalIgnoringCase("[", "{"))
        // A field named exactly the prefix has no attribute name.
        let bare: HeaderFields = ["ce-": "x"]
        #expect(bare.withPrefix("ce-").isEmpty)
    }

    @Test("webhook request targets split into path and decoded query")
    func webhookTarget() {
        let request = EventOrigin.WebhookRequest(target: "/hooks/x?a=1&b=two%20words&c=x+y&flag&e=%3D%26")
        #expect(request.path == "/hooks/x")
        #expect(
            request.query == [
                .init(name: "a", value: "1"), .init(name: "b", value: "two words"), .init(name: "c", value: "x y"),
                .init(name: "flag", value: ""), .init(name: "e", value: "=&"),
            ])
        #expect(EventOrigin.WebhookRequest(target: "/plain").query.isEmpty)
        #expect(EventOrigin.WebhookRequest(target: "/plain").path == "/plain")
    }

    @Test("source positions describe themselves and round-trip through JSON")
    func sourcePositions() {
        let positions: [SourcePosition] = [.kafka(topic: "t", partition: 2, offset: 99), .inbox(id: 5), .none]
        #expect(positions.map(\.description) == ["t-2-99", "inbox-5", "none"])
        for position in positions {
            #expect(SourcePosition(json: position.json) == position)
        }
        #expect(SourcePosition(json: ["kind": "mars"]) == nil)
        #expect(SourcePosition(json: ["kind": "kafka", "topic": "t", "partition": 9_999_999_999, "offset": 1]) == nil)
    }
}
