import Foundation
import SluiceCore

extension KafkaProducer {
    /// What ``produceJSONLines(_:topic:keyMember:)`` did.
    public struct JSONLinesReport: Sendable, Hashable {
        /// Records stored.
        public var produced: Int
        /// Blank lines skipped.
        public var skipped: Int

        public init(produced: Int, skipped: Int) {
            self.produced = produced
            self.skipped = skipped
        }
    }

    /// A line of a JSON Lines file that was not produced: it is not JSON, or the broker did not store it.
    public struct JSONLinesError: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
    }

    /// Produces each non-blank line of `text` (JSON Lines) as one record's value — what `sluice produce` does.
    ///
    /// - Parameters:
    ///   - text: the file's bytes; every non-blank line must be JSON (UTF-8; lines end with LF or CRLF).
    ///   - topic: where to produce.
    ///   - keyMember: when set, a line that is an object with this top-level member is keyed by its value
    ///     (strings as they are, other JSON as written).
    /// - Throws: ``JSONLinesError`` for the first line that is not JSON (before anything is produced), or for
    ///   the first line whose record was not delivered (with its error, and how many lines were stored).
    public func produceJSONLines(_ text: some Collection<UInt8>, topic: String, keyMember: String? = nil) async throws
        -> JSONLinesReport
    {
        var messages: [Message] = []
        var lines: [Int] = []
        var skipped = 0
        // Split as bytes: read as a String first, a CRLF is one Character (never split at "\n") and a byte that is
        // not UTF-8 would be replaced, unseen, instead of refused by the parser.
        for (index, line) in Array(text).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let bytes = Array(line.drop { Self.isSpace($0) }.reversed().drop { Self.isSpace($0) }.reversed())
            guard !bytes.isEmpty else {
                skipped += 1
                continue
            }
            let value: JSONValue
            do { value = try JSONParser.parse(bytes) } catch {
                throw JSONLinesError(line: index + 1, problem: "not JSON (\(error))")
            }
            var key: [UInt8]?
            if let keyMember, let member = value.objectValue?[keyMember] {
                key = Array((member.stringValue ?? JSONWriter.string(member)).utf8)
            }
            messages.append(Message(topic: topic, key: key, value: bytes))
            lines.append(index + 1)
        }
        let results = await sendEach(messages, waitingForRoom: true)
        let failed = results.indices.filter { if case .failure = results[$0] { true } else { false } }
        if let first = failed.first, case .failure(let error) = results[first] {
            let others = failed.count > 1 ? " and \(failed.count - 1) more" : ""
            throw JSONLinesError(
                line: lines[first],
                problem: "not delivered (\(error))\(others); \(results.count - failed.count) of \(results.count) records stored")
        }
        return JSONLinesReport(produced: messages.count, skipped: skipped)
    }

    /// JSON's white space, and the CR of a CRLF line end.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }
}
