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

    /// A line of a JSON Lines file that is not JSON.
    public struct JSONLinesError: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var problem: String
        public var description: String { "line \(line): \(problem)" }
    }

    /// Produces each non-blank line of `text` (JSON Lines) as one record's value — what `sluice produce` does.
    ///
    /// - Parameters:
    ///   - text: the file's contents; every non-blank line must be JSON.
    ///   - topic: where to produce.
    ///   - keyMember: when set, a line that is an object with this top-level member is keyed by its value
    ///     (strings as they are, other JSON as written).
    /// - Throws: ``JSONLinesError`` for the first line that is not JSON (before anything is produced), or
    ///   ``KafkaError`` for the first record that is not delivered.
    public func produceJSONLines(_ text: String, topic: String, keyMember: String? = nil) async throws -> JSONLinesReport {
        var messages: [Message] = []
        var skipped = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else {
                skipped += 1
                continue
            }
            let bytes = Array(trimmed.utf8)
            let value: JSONValue
            do { value = try JSONParser.parse(bytes) } catch {
                throw JSONLinesError(line: index + 1, problem: "not JSON (\(error))")
            }
            var key: [UInt8]?
            if let keyMember, let member = value.objectValue?[keyMember] {
                key = Array((member.stringValue ?? JSONWriter.string(member)).utf8)
            }
            messages.append(Message(topic: topic, key: key, value: bytes))
        }
        if let failure = await sendAll(messages).first { throw failure }
        return JSONLinesReport(produced: messages.count, skipped: skipped)
    }
}
