import Foundation
import SluiceCore

/// How outcomes, commands and deliveries are written to and read from the ledgers' text columns.
enum LedgerCoding {
    /// An outcome flattened into the indexed columns plus its JSON, computed by the caller so that the
    /// writer thread only binds.
    struct Row: Sendable {
        var adapter: String
        var idempotencyKey: String
        var kind: String
        var reason: String?
        var workflowID: String?
        var sourcePosition: String
        var body: String

        init(_ outcome: Outcome) {
            adapter = outcome.adapter
            idempotencyKey = outcome.idempotencyKey
            kind = outcome.kind.rawValue
            reason = outcome.reason?.rawValue
            workflowID = outcome.workflowID
            sourcePosition = outcome.sluice?.sourcePosition.description ?? SourcePosition.none.description
            body = outcome.jsonText
        }
    }

    /// A dead letter's columns.
    struct DeadLetterRow: Sendable {
        var reason: String?
        var commands: String
        var delivery: String?
        var deliveryBody: [UInt8]?

        init(outcome: Outcome, content: DeadLetterContent) {
            reason = outcome.reason?.rawValue
            commands = JSONWriter.string(.array(content.commands.map(\.json)))
            delivery = content.delivery.map { JSONWriter.string(LedgerCoding.deliveryJSON($0)) }
            deliveryBody = content.delivery?.body
        }
    }

    static func outcome(_ text: String) throws(LedgerError) -> Outcome {
        do {
            return try Outcome(json: JSONParser.parse(text, maximumDepth: JSONParser.storedDepth))
        } catch {
            throw .fatal("corrupt", "a stored outcome cannot be read: \(error)")
        }
    }

    static func commands(_ text: String) throws(LedgerError) -> [EngineCommand] {
        guard let values = (try? JSONParser.parse(text, maximumDepth: JSONParser.storedDepth))?.arrayValue else {
            throw .fatal("corrupt", "a dead letter's commands cannot be read")
        }
        var commands: [EngineCommand] = []
        for value in values {
            guard let command = EngineCommand(json: value) else {
                throw .fatal("corrupt", "a dead letter's commands cannot be read")
            }
            commands.append(command)
        }
        return commands
    }

    /// A delivery's metadata (everything but the body).
    static func deliveryJSON(_ delivery: Delivery) -> JSONValue {
        [
            "adapter": .string(delivery.adapter), "target": .string(delivery.target), "headers": delivery.headersJSON,
            "received_at_ms": .int(milliseconds(delivery.receivedAt)),
        ]
    }

    static func delivery(_ text: String, body: [UInt8]) throws(LedgerError) -> Delivery {
        guard let json = try? JSONParser.parse(text, maximumDepth: JSONParser.storedDepth), let adapter = json["adapter"]?.stringValue,
            let target = json["target"]?.stringValue, let headers = json["headers"].flatMap(Delivery.headers(json:)),
            let received = json["received_at_ms"]?.intValue
        else { throw .fatal("corrupt", "a dead letter's delivery cannot be read") }
        return Delivery(adapter: adapter, target: target, headers: headers, body: body, receivedAt: date(received))
    }

    static func headersText(_ delivery: Delivery) -> String { JSONWriter.string(delivery.headersJSON) }

    static func headers(_ text: String) throws(LedgerError) -> HeaderFields {
        guard let json = try? JSONParser.parse(text, maximumDepth: JSONParser.storedDepth), let headers = Delivery.headers(json: json) else {
            throw .fatal("corrupt", "an inbox row's headers cannot be read")
        }
        return headers
    }

    /// Saturates instead of trapping: a date from outside (a record's timestamp) can lie far beyond `Int64`'s range.
    static func milliseconds(_ date: Date) -> Int64 {
        Timestamp.unixMilliseconds(date)
    }

    /// Milliseconds from `recordedAt` to `now`, saturating: a stored time far in the past (a row edited by hand) reads
    /// as long ago instead of trapping.
    static func elapsed(since recordedAt: Int64, now: Int64) -> Int64 {
        let (age, overflow) = now.subtractingReportingOverflow(recordedAt)
        return overflow ? (recordedAt < 0 ? .max : .min) : age
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
