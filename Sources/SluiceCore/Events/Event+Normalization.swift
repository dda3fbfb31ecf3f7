public import Foundation

extension Event {
    /// Normalises a webhook delivery.
    ///
    /// The id and type come from the first convention that applies, in this order: CloudEvents
    /// structured mode (`Content-Type: application/cloudevents+json`), CloudEvents binary mode
    /// (`ce-*` headers), GitHub (`X-GitHub-Delivery`, `X-GitHub-Event`), Shopify
    /// (`X-Shopify-Webhook-Id`, `X-Shopify-Topic`), Standard Webhooks (`webhook-id` or Svix's `svix-id`, body `type`),
    /// a CloudEvent body sent as plain JSON (its `id` and `type`), Slack (body `event_id`, `event.type`), Stripe
    /// (body `id` and `type` of an `"object": "event"`), and otherwise a hash of the body (`sha256:<hex>`), which is
    /// stable across redeliveries.
    ///
    /// The CloudEvent body convention makes the id independent of the `Content-Type`, which no body-signing scheme
    /// (`hmac`, Stripe's, Slack's) covers: a genuine structured CloudEvent replayed as `application/json` keeps its
    /// id, and so meets its first delivery's decision. For the same reason a Standard Webhooks id (`webhook-id`,
    /// which that scheme signs) names a structured CloudEvent too, as it names the same body sent as plain JSON.
    ///
    /// - Throws: ``EventError`` when the delivery claims to be a CloudEvent but is not a valid one.
    public static func webhook(
        source: String, request: EventOrigin.WebhookRequest, headers: HeaderFields, body: [UInt8],
        receivedAt: Date, position: SourcePosition = .none
    ) throws(EventError) -> Event {
        let origin = EventOrigin.webhook(request)
        if isStructuredCloudEvent(headers) {
            var event = try structuredCloudEvent(
                source: source, headers: headers, body: body, receivedAt: receivedAt, position: position, origin: origin)
            // A Standard Webhooks id (signed by that scheme, unlike the Content-Type) names the delivery under either
            // media type: as `application/json` the header outranks the body's envelope too.
            if let webhookID = standardWebhooksID(headers) {
                event.id = webhookID
                event.convention = .standardWebhooks
            }
            return event
        }
        let payload = EventPayload(parsing: body)
        if headers.contains("ce-specversion") {
            return try binaryCloudEvent(
                prefix: "ce-", source: source, headers: headers, payload: payload, receivedAt: receivedAt,
                position: position, origin: origin, recordKey: nil)
        }
        var event = Event(
            source: source, id: "", type: nil, headers: headers, body: payload, receivedAt: receivedAt,
            position: position, origin: origin, convention: .contentHash)
        // Ids with a NUL character are passed over here too (a webhook read back from the Kafka inbox carries its
        // headers as Kafka headers, which may hold any byte): the content hash stands in.
        if let delivery = headers["X-GitHub-Delivery"], !delivery.containsNUL {
            event.id = delivery
            event.type = headers["X-GitHub-Event"]
            event.convention = .github
        } else if let webhookID = headers["X-Shopify-Webhook-Id"], !webhookID.containsNUL {
            event.id = webhookID
            event.type = headers["X-Shopify-Topic"]
            event.convention = .shopify
        } else if let webhookID = standardWebhooksID(headers) {
            event.id = webhookID
            event.type = payload.json?["type"]?.stringValue
            event.convention = .standardWebhooks
        } else if !event.applyCloudEventBodyConvention(), !event.applyBodyConventions() {
            event.id = "sha256:" + Digest.sha256Hex(body)
            event.type = payload.json?["type"]?.stringValue
        }
        return event
    }

    /// Normalises a Kafka record.
    ///
    /// The id and type come from CloudEvents (binary mode with `ce_*` headers, or structured mode with
    /// `content-type: application/cloudevents+json`), then from a Slack or Stripe event in the value,
    /// and otherwise the id is its position (``EventOrigin/KafkaRecord/positionID``). The record key is the event's ordering key.
    ///
    /// - Throws: ``EventError`` when the record claims to be a CloudEvent but is not a valid one.
    public static func kafka(
        record: EventOrigin.KafkaRecord, headers: HeaderFields, value: [UInt8], receivedAt: Date
    ) throws(EventError) -> Event {
        let origin = EventOrigin.kafka(record)
        let position = SourcePosition.kafka(topic: record.topic, partition: record.partition, offset: record.offset)
        if isStructuredCloudEvent(headers) {
            var event = try structuredCloudEvent(
                source: record.topic, headers: headers, body: value, receivedAt: receivedAt, position: position,
                origin: origin)
            event.key = event.key ?? record.keyText
            return event
        }
        let payload = EventPayload(parsing: value)
        if headers.contains("ce_specversion") {
            return try binaryCloudEvent(
                prefix: "ce_", source: record.topic, headers: headers, payload: payload, receivedAt: receivedAt,
                position: position, origin: origin, recordKey: record.keyText)
        }
        // The identity first, then the event built once with it (built first and then changed, the event was
        // copied whole once per record).
        let identity =
            bodyConvention(of: payload)
            ?? (id: record.positionID, type: payload.json?["type"]?.stringValue, convention: .kafkaPosition)
        return Event(
            source: record.topic, id: identity.id, type: identity.type, key: record.keyText, headers: headers,
            body: payload, receivedAt: receivedAt, position: position, origin: origin, convention: identity.convention)
    }

    /// The Standard Webhooks id (`webhook-id`, Svix's `svix-id`), unless it holds a NUL.
    private static func standardWebhooksID(_ headers: HeaderFields) -> String? {
        guard let id = headers["webhook-id"] ?? headers["svix-id"], !id.containsNUL else { return nil }
        return id
    }

    /// Takes the id and type from a JSON body that is a valid CloudEvent envelope (`specversion` 1.0 and non-empty
    /// text `id`, `source` and `type`, none holding a NUL); false otherwise.
    private mutating func applyCloudEventBodyConvention() -> Bool {
        guard case .json(let json) = body, json["specversion"]?.stringValue == "1.0" else { return false }
        func text(_ name: String) -> String? {
            guard let value = json[name]?.stringValue, !value.isEmpty, !value.containsNUL else { return nil }
            return value
        }
        guard let eventID = text("id"), text("source") != nil, let eventType = text("type") else { return false }
        id = eventID
        type = eventType
        convention = .cloudEventsBody
        return true
    }

    /// Takes the id and type from a Slack or Stripe body; false when neither applies.
    private mutating func applyBodyConventions() -> Bool {
        guard let identity = Self.bodyConvention(of: body) else { return false }
        (id, type, convention) = identity
        return true
    }

    /// The id, type and convention of a Slack or Stripe body; nil when neither applies.
    private static func bodyConvention(of body: EventPayload) -> (id: String, type: String?, convention: Convention)? {
        guard case .json(let json) = body else { return nil }
        // An id with a NUL character is not taken (no ledger key may hold one): the event keeps its fallback id.
        if let eventID = json["event_id"]?.stringValue, !eventID.containsNUL, let inner = json["event"]?.objectValue {
            return (eventID, inner["type"]?.stringValue ?? json["type"]?.stringValue, .slack)
        }
        if json["object"]?.stringValue == "event", let eventID = json["id"]?.stringValue, !eventID.containsNUL,
            let eventType = json["type"]?.stringValue
        {
            return (eventID, eventType, .stripe)
        }
        return nil
    }

    private static func isStructuredCloudEvent(_ headers: HeaderFields) -> Bool {
        guard let contentType = headers["content-type"] else { return false }
        return MediaType.essence(of: contentType) == "application/cloudevents+json"
    }

    private static func structuredCloudEvent(
        source: String, headers: HeaderFields, body: [UInt8], receivedAt: Date, position: SourcePosition,
        origin: EventOrigin
    ) throws(EventError) -> Event {
        let fail = { (problem: String) in EventError.invalidCloudEvent(mode: .structured, problem: problem) }
        guard let envelope = try? JSONParser.parse(body) else { throw fail("the body is not JSON") }
        guard let object = envelope.objectValue else { throw fail("the body is not a JSON object") }
        func required(_ name: String) throws(EventError) -> String {
            guard let value = object[name] else { throw fail("missing required attribute '\(name)'") }
            guard let text = value.stringValue, !text.isEmpty else {
                throw fail("attribute '\(name)' must be a non-empty string")
            }
            // CloudEvents strings exclude control characters; a NUL could not be a ledger key either.
            guard !text.containsNUL else { throw fail("attribute '\(name)' contains a NUL character (U+0000)") }
            return text
        }
        let specVersion = try required("specversion")
        guard specVersion == "1.0" else { throw fail("unsupported specversion '\(specVersion)' (expected 1.0)") }
        var extensions: [String: String] = [:]
        // An attribute set to null is unset (CloudEvents' JSON format), not the text "null".
        for member in object where !CloudEvent.coreAttributes.contains(member.key) && member.value != .null {
            extensions[member.key] = member.value.interpolatedText
        }
        let cloudEvent = CloudEvent(
            mode: .structured, specVersion: specVersion, id: try required("id"), source: try required("source"),
            type: try required("type"), subject: object["subject"]?.stringValue, time: object["time"]?.stringValue,
            dataContentType: object["datacontenttype"]?.stringValue, dataSchema: object["dataschema"]?.stringValue,
            extensions: extensions)
        let payload: EventPayload
        if let data = object["data"] {
            payload = .json(data)
        } else if let encoded = object["data_base64"] {
            guard let text = encoded.stringValue, let bytes = Base64.decode(text) else {
                throw fail("data_base64 is not base64")
            }
            payload = EventPayload(parsing: bytes)
        } else {
            payload = .json(.null)
        }
        return Event(
            source: source, id: cloudEvent.id, type: cloudEvent.type, key: extensions["partitionkey"],
            headers: headers, body: payload, receivedAt: receivedAt, position: position, origin: origin,
            cloudEvent: cloudEvent, convention: .cloudEventsStructured)
    }

    private static func binaryCloudEvent(
        prefix: String, source: String, headers: HeaderFields, payload: EventPayload, receivedAt: Date,
        position: SourcePosition, origin: EventOrigin, recordKey: String?
    ) throws(EventError) -> Event {
        var attributes: [String: String] = [:]
        for (name, value) in headers.withPrefix(prefix) where attributes[name] == nil {
            attributes[name] = prefix == "ce-" ? (value.removingPercentEncoding ?? value) : value
        }
        func required(_ name: String) throws(EventError) -> String {
            guard let value = attributes[name], !value.isEmpty else {
                throw .invalidCloudEvent(mode: .binary, problem: "missing required header '\(prefix)\(name)'")
            }
            guard !value.containsNUL else {
                throw .invalidCloudEvent(mode: .binary, problem: "header '\(prefix)\(name)' contains a NUL character (U+0000)")
            }
            return value
        }
        let specVersion = try required("specversion")
        guard specVersion == "1.0" else {
            throw .invalidCloudEvent(mode: .binary, problem: "unsupported specversion '\(specVersion)' (expected 1.0)")
        }
        let cloudEvent = CloudEvent(
            mode: .binary, specVersion: specVersion, id: try required("id"), source: try required("source"),
            type: try required("type"), subject: attributes["subject"], time: attributes["time"],
            dataContentType: headers["content-type"], dataSchema: attributes["dataschema"],
            extensions: attributes.filter { !CloudEvent.coreAttributes.contains($0.key) })
        return Event(
            source: source, id: cloudEvent.id, type: cloudEvent.type,
            key: cloudEvent.extensions["partitionkey"] ?? recordKey, headers: headers, body: payload,
            receivedAt: receivedAt, position: position, origin: origin, cloudEvent: cloudEvent,
            convention: .cloudEventsBinary)
    }
}
