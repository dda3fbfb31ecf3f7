public import Foundation

/// Sluice's own fields of an outcome, written under its `sluice` key: which event, where it came from,
/// which adapter version mapped it, and how each step went.
public struct OutcomeDetails: Sendable, Hashable {
    public var eventID: String
    public var eventType: String?
    public var sourcePosition: SourcePosition
    public var adapterVersion: Int
    /// The rule that matched, when one did.
    public var rule: String?
    /// Engine calls made for the whole event, retries included.
    public var attempts: Int
    /// The execution report: one entry per plan step.
    public var steps: [StepReport]
    public var receivedAt: Date
    public var decidedAt: Date

    public init(
        eventID: String, eventType: String?, sourcePosition: SourcePosition, adapterVersion: Int, rule: String?,
        attempts: Int, steps: [StepReport], receivedAt: Date, decidedAt: Date
    ) {
        self.eventID = eventID
        self.eventType = eventType
        self.sourcePosition = sourcePosition
        self.adapterVersion = adapterVersion
        self.rule = rule
        self.attempts = attempts
        self.steps = steps
        self.receivedAt = receivedAt
        self.decidedAt = decidedAt
    }

    /// The details as JSON.
    public var json: JSONValue {
        var object = JSONObject()
        object["event_id"] = .string(eventID)
        object["event_type"] = eventType.map(JSONValue.string)
        object["source_position"] = sourcePosition.json
        object["adapter_version"] = .int(Int64(adapterVersion))
        object["rule"] = rule.map(JSONValue.string)
        object["attempts"] = .int(Int64(attempts))
        object["steps"] = .array(steps.map(\.json))
        object["received_at"] = .string(Timestamp.format(receivedAt))
        object["decided_at"] = .string(Timestamp.format(decidedAt))
        return .object(object)
    }

    /// Reads the details back; nil when the JSON is not their shape.
    public init?(json: JSONValue) {
        guard let eventID = json["event_id"]?.stringValue,
            let position = json["source_position"].flatMap(SourcePosition.init(json:)),
            let version = json["adapter_version"]?.intValue, let attempts = json["attempts"]?.intValue,
            let stepValues = json["steps"]?.arrayValue,
            let received = json["received_at"]?.stringValue.flatMap(Timestamp.parse),
            let decided = json["decided_at"]?.stringValue.flatMap(Timestamp.parse)
        else { return nil }
        var steps: [StepReport] = []
        for value in stepValues {
            guard let step = StepReport(json: value) else { return nil }
            steps.append(step)
        }
        self.init(
            eventID: eventID, eventType: json["event_type"]?.stringValue, sourcePosition: position,
            adapterVersion: Int(version), rule: json["rule"]?.stringValue, attempts: Int(attempts), steps: steps,
            receivedAt: received, decidedAt: decided)
    }
}

/// How one plan step went.
public struct StepReport: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// The engine answered accepted or duplicate.
        case succeeded
        /// The engine rejected it, or retries ran out.
        case failed
        /// A step it needs failed, so it never ran.
        case skipped
        /// Cancelled (shutdown, rebalance, deadline) before it finished.
        case cancelled
    }

    public var id: String
    public var action: String
    public var requestID: String
    public var status: Status
    public var attempts: Int
    /// Time from the first attempt to the last answer, in milliseconds.
    public var durationMilliseconds: Double
    /// The outcome kind the engine gave, when it gave one.
    public var outcome: Outcome.Kind?
    public var reason: OutcomeReason?
    /// The last error, when the step failed or was retried.
    public var lastError: String?

    public init(
        id: String, action: String, requestID: String, status: Status, attempts: Int, durationMilliseconds: Double,
        outcome: Outcome.Kind? = nil, reason: OutcomeReason? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.action = action
        self.requestID = requestID
        self.status = status
        self.attempts = attempts
        self.durationMilliseconds = durationMilliseconds
        self.outcome = outcome
        self.reason = reason
        self.lastError = lastError
    }

    public var json: JSONValue {
        var object = JSONObject()
        object["id"] = .string(id)
        object["action"] = .string(action)
        object["request_id"] = .string(requestID)
        object["status"] = .string(status.rawValue)
        object["attempts"] = .int(Int64(attempts))
        object["duration_ms"] = .double((durationMilliseconds * 1000).rounded() / 1000)
        object["outcome"] = outcome.map { .string($0.rawValue) }
        object["reason"] = reason.map { .string($0.rawValue) }
        object["last_error"] = lastError.map(JSONValue.string)
        return .object(object)
    }

    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let action = json["action"]?.stringValue,
            let requestID = json["request_id"]?.stringValue,
            let status = json["status"]?.stringValue.flatMap(Status.init(rawValue:)),
            let attempts = json["attempts"]?.intValue
        else { return nil }
        let duration: Double
        switch json["duration_ms"] {
        case .double(let value)?: duration = value
        case .int(let value)?: duration = Double(value)
        default: return nil
        }
        self.init(
            id: id, action: action, requestID: requestID, status: status, attempts: Int(attempts),
            durationMilliseconds: duration, outcome: json["outcome"]?.stringValue.flatMap(Outcome.Kind.init(rawValue:)),
            reason: json["reason"]?.stringValue.map(OutcomeReason.init(rawValue:)),
            lastError: json["last_error"]?.stringValue)
    }
}

extension SourcePosition {
    /// Reads a position written by ``json``.
    public init?(json: JSONValue) {
        switch json["kind"]?.stringValue {
        case "kafka":
            guard let topic = json["topic"]?.stringValue, let partition = json["partition"]?.intValue,
                let offset = json["offset"]?.intValue, let partition32 = Int32(exactly: partition)
            else { return nil }
            self = .kafka(topic: topic, partition: partition32, offset: offset)
        case "inbox":
            guard let id = json["id"]?.intValue else { return nil }
            self = .inbox(id: id)
        case "none": self = .none
        default: return nil
        }
    }
}

/// RFC 3339 timestamps with milliseconds, in UTC.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    public static func parse(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
