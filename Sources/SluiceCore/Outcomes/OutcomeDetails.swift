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
        object["duration_ms"] = .double(roundedDuration)
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
///
/// The common shape (`2026-01-31T12:00:00.000Z`, years 1970–9999) is written and read by hand:
/// Foundation's ISO 8601 styles cost microseconds per call, and every outcome the ledger stores or
/// answers carries two timestamps. Anything else goes through Foundation.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        // Truncated to the millisecond, as Foundation does; just below the next millisecond counts as
        // that millisecond (a parsed `….193Z` is 0.19299999… as a Double). "Just below" is a microsecond,
        // or a few units in the last place where a Double is coarser than that (after about 2100).
        let scaled = date.timeIntervalSince1970 * 1000
        var milliseconds = scaled.rounded(.down)
        if scaled - milliseconds > 1 - max(0.001, 4 * scaled.ulp) { milliseconds += 1 }
        guard milliseconds >= 0, milliseconds < Double(endOfYear9999) else { return foundationFormat(date) }
        let total = Int64(milliseconds)
        let days = total / 86_400_000
        let ofDay = total % 86_400_000
        let (year, month, day) = civil(fromDays: days)
        var bytes = [UInt8](repeating: 0, count: 24)
        func put(_ value: Int64, at offset: Int, digits: Int) {
            var value = value
            for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, digits: 4)
        bytes[4] = UInt8(ascii: "-")
        put(month, at: 5, digits: 2)
        bytes[7] = UInt8(ascii: "-")
        put(day, at: 8, digits: 2)
        bytes[10] = UInt8(ascii: "T")
        put(ofDay / 3_600_000, at: 11, digits: 2)
        bytes[13] = UInt8(ascii: ":")
        put(ofDay / 60_000 % 60, at: 14, digits: 2)
        bytes[16] = UInt8(ascii: ":")
        put(ofDay / 1000 % 60, at: 17, digits: 2)
        bytes[19] = UInt8(ascii: ".")
        put(ofDay % 1000, at: 20, digits: 3)
        bytes[23] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The last millisecond of year 9999, plus one: timestamps Sluice takes from outside lie before it.
    static let endOfYear9999 = 253_402_300_800_000 as Int64

    /// The date of a Unix time in milliseconds given by a peer (a Kafka record's timestamp, an inbox header), or nil
    /// when it lies outside 1970 to 9999: such a value is a producer's mistake, and one near `Int64.max` would
    /// overflow when it is turned back into milliseconds.
    public static func date(unixMilliseconds milliseconds: Int64) -> Date? {
        guard milliseconds >= 0, milliseconds < endOfYear9999 else { return nil }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// A date as Unix milliseconds, rounded, saturating at the ends of `Int64` instead of trapping.
    public static func unixMilliseconds(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard !value.isNaN else { return 0 }
        if value >= 9.2e18 { return .max }
        if value <= -9.2e18 { return .min }
        return Int64(value)
    }

    public static func parse(_ text: String) -> Date? {
        // Foundation's parser rolls an impossible day over (`2026-02-30` reads as March 2nd), and so would the
        // day count below: a date that is not in the calendar is refused first.
        guard namesACalendarDay(text) else { return nil }
        if let date = fastParse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }

    static func foundationFormat(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// False when `text` starts `YYYY-MM-DD` with a day its month does not have (`2026-04-31`, `2025-02-29`); true
    /// otherwise (the parsers judge the rest).
    static func namesACalendarDay(_ text: String) -> Bool {
        let bytes = Array(text.utf8.prefix(10))
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else { return true }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), (1...12).contains(month) else {
            return true
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }

    /// `YYYY-MM-DDTHH:MM:SS.sssZ` or `YYYY-MM-DDTHH:MM:SSZ`; nil for anything else.
    static func fastParse(_ text: String) -> Date? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> Date? in
            guard bytes.count == 24 || bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                bytes[bytes.count - 1] == UInt8(ascii: "Z")
            else { return nil }
            func number(_ offset: Int, _ digits: Int) -> Int64? {
                var value: Int64 = 0
                for index in offset..<(offset + digits) {
                    let byte = bytes[index]
                    guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                    value = value * 10 + Int64(byte - UInt8(ascii: "0"))
                }
                return value
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day),
                hour < 24, minute < 60, second < 60, year >= 1970
            else { return nil }
            var milliseconds: Int64 = 0
            if bytes.count == 24 {
                guard bytes[19] == UInt8(ascii: "."), let fraction = number(20, 3) else { return nil }
                milliseconds = fraction
            }
            let days = daysFromCivil(year: year, month: month, day: day)
            let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
            return Date(timeIntervalSince1970: Double(seconds * 1000 + milliseconds) / 1000)
        } ?? nil
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
