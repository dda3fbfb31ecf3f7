public import Foundation
public import SluiceCore
import SluiceWebhooks

/// `sluice map`: maps one sample event with one adapter and shows the engine requests it would
/// make, without any network.
public struct DryRun: Sendable {
    /// How the sample event arrives.
    public struct Delivery: Sendable {
        /// The body, as bytes.
        public var body: [UInt8]
        public var headers: HeaderFields
        /// For Kafka adapters: the topic (default: the adapter's first), partition, offset, key and timestamp (none by
        /// default: a plain record is then named by its position alone, the same id at every run).
        public var kafkaTopic: String?
        public var kafkaPartition: Int32
        public var kafkaOffset: Int64
        public var kafkaKey: String?
        public var kafkaTimestamp: Date?
        /// For webhook adapters: a query string to add to the path.
        public var query: String?
        public var receivedAt: Date

        public init(
            body: [UInt8], headers: HeaderFields = [:], kafkaTopic: String? = nil, kafkaPartition: Int32 = 0,
            kafkaOffset: Int64 = 0, kafkaKey: String? = nil, kafkaTimestamp: Date? = nil, query: String? = nil,
            receivedAt: Date = Date()
        ) {
            self.body = body
            self.headers = headers
            self.kafkaTopic = kafkaTopic
            self.kafkaPartition = kafkaPartition
            self.kafkaOffset = kafkaOffset
            self.kafkaKey = kafkaKey
            self.kafkaTimestamp = kafkaTimestamp
            self.query = query
            self.receivedAt = receivedAt
        }
    }

    /// Why a dry run could not map.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case adapter([Diagnostic])
        case event(String)

        public var description: String {
            switch self {
            case .adapter(let diagnostics): diagnostics.map(\.description).joined(separator: "\n")
            case .event(let message): message
            }
        }
    }

    /// Builds the event an adapter's source would have produced from a delivery.
    public static func event(for adapter: CompiledAdapter, delivery: Delivery) throws(Failure) -> Event {
        do {
            switch adapter.source {
            case .webhook(let route):
                let target = route.path + (delivery.query.map { "?" + $0 } ?? "")
                // The headers the route keeps: another convention's unsigned id header must not give the event an
                // id here that `sluice serve` would not.
                var headers = WebhookHandler.storedHeaders(delivery.headers, verification: route.verification)
                if headers["content-type"] == nil { headers.append(name: "Content-Type", value: "application/json") }
                // As the webhook route and the inbox's re-admission name it: the adapter.
                return try Event.webhook(
                    source: adapter.name, request: EventOrigin.WebhookRequest(target: target), headers: headers,
                    body: delivery.body, receivedAt: delivery.receivedAt)
            case .kafka(let subscription):
                let record = EventOrigin.KafkaRecord(
                    topic: delivery.kafkaTopic ?? subscription.topics[0], partition: delivery.kafkaPartition,
                    offset: delivery.kafkaOffset, key: delivery.kafkaKey.map { Array($0.utf8) }, timestamp: delivery.kafkaTimestamp)
                return try Event.kafka(record: record, headers: delivery.headers, value: delivery.body, receivedAt: delivery.receivedAt)
            }
        } catch {
            throw .event(error.description)
        }
    }

    /// The dry run's report: the decision and, for a plan, the exact Durable Workflow bridge requests.
    public static func report(adapter: CompiledAdapter, event: Event, namespace: String = "default") -> (json: JSONValue, decision: MappingDecision) {
        let decision = adapter.map(event, now: event.receivedAt)
        var report = JSONObject()
        report["adapter"] = .string(adapter.name)
        report["adapter_version"] = .int(Int64(adapter.version))
        var eventSummary = JSONObject()
        eventSummary["id"] = .string(event.id)
        eventSummary["type"] = event.type.map(JSONValue.string)
        eventSummary["convention"] = .string(event.convention.rawValue)
        eventSummary["source"] = .string(event.source)
        eventSummary["key"] = event.key.map(JSONValue.string)
        report["event"] = .object(eventSummary)
        switch decision {
        case .plan(let plan):
            report["decision"] = "plan"
            report["rule"] = .string(plan.rule)
            report["idempotency_key"] = .string(plan.idempotencyKey)
            report["ordering_key"] = plan.orderingKey.map(JSONValue.string) ?? .null
            report["steps"] = .array(plan.steps.map { step in
                var object = JSONObject()
                object["id"] = .string(step.id)
                object["needs"] = .array(step.needs.map(JSONValue.string))
                object["action"] = .string(step.command.action.rawValue)
                object["request_id"] = .string(step.command.requestID)
                object["requests"] = .array(BridgeRequest.requests(for: step.command, adapter: adapter.name).map { request in
                    [
                        "method": "POST", "path": .string(request.path),
                        "headers": [
                            "Content-Type": "application/json", "Accept": "application/json",
                            "X-Namespace": .string(namespace), "X-Durable-Workflow-Control-Plane-Version": "2",
                        ],
                        "body": .object(request.body),
                    ]
                })
                return .object(object)
            })
        case .rejected(var outcome):
            report["decision"] = "rejected"
            outcome.sluice = nil
            report["outcome"] = outcome.json
        }
        return (.object(report), decision)
    }
}
