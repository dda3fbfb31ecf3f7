public import Foundation

/// The transport an event arrived on, with what expressions may read about it (`kafka.*`, `webhook.*`).
public enum EventOrigin: Sendable, Hashable {
    case webhook(WebhookRequest)
    case kafka(KafkaRecord)
    /// An event given by hand, with no transport context.
    case manual

    /// What Sluice knows about the HTTP request that carried a webhook.
    public struct WebhookRequest: Sendable, Hashable {
        /// The request path, without the query.
        public var path: String
        /// Query parameters in order.
        public var query: [QueryItem]

        public struct QueryItem: Sendable, Hashable {
            public var name: String
            public var value: String
            public init(name: String, value: String) {
                self.name = name
                self.value = value
            }
        }

        public init(path: String, query: [QueryItem] = []) {
            self.path = path
            self.query = query
        }

        /// Splits `/path?a=1&b=2` into its path and percent-decoded query items.
        public init(target: String) {
            guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else {
                self.init(path: target)
                return
            }
            let items = target[target.index(after: mark)...].split(separator: "&").map { pair -> QueryItem in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode: (Substring) -> String = {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                return QueryItem(name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : "")
            }
            self.init(path: String(target[..<mark]), query: items)
        }
    }

    /// What Sluice knows about a Kafka record.
    public struct KafkaRecord: Sendable, Hashable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        /// The record key, when it has one.
        public var key: [UInt8]?
        /// The record timestamp, when the broker gave one.
        public var timestamp: Date?

        public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]? = nil, timestamp: Date? = nil) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
            self.key = key
            self.timestamp = timestamp
        }

        /// The key as text (UTF-8), or nil when there is none or it is not text.
        public var keyText: String? {
            key.flatMap { String(validating: $0, as: UTF8.self) }
        }

        /// The id of a record that carries none of its own: see ``positionID(topic:partition:offset:timestamp:)``.
        public var positionID: String {
            Self.positionID(topic: topic, partition: partition, offset: offset, timestamp: timestamp)
        }

        /// `topic-partition-offset@timestamp` (the timestamp in Unix milliseconds), or `topic-partition-offset` for a
        /// record without one.
        ///
        /// The timestamp tells apart two records written at one offset, which the position alone would take for
        /// one (and answer the second as a duplicate of the first): a topic deleted and made again under its name,
        /// a log truncated by an unclean leader election and written again. A record read again keeps its
        /// timestamp, and so its id. A topic name cannot hold `@`.
        ///
        /// The id is the default idempotency key, at most 255 bytes: a topic name too long for that (Kafka allows 249
        /// characters) stands as `topic-sha256-` and the first 32 hex digits of its SHA-256.
        public static func positionID(topic: String, partition: Int32, offset: Int64, timestamp: Date?) -> String {
            let id = unboundedPositionID(topic: topic, partition: partition, offset: offset, timestamp: timestamp)
            guard id.utf8.count > 255 else { return id }
            let named = "topic-sha256-" + Digest.sha256Hex(topic).prefix(32)
            return unboundedPositionID(topic: named, partition: partition, offset: offset, timestamp: timestamp)
        }

        private static func unboundedPositionID(topic: String, partition: Int32, offset: Int64, timestamp: Date?) -> String {
            // Once per Kafka record, on the poll thread: the digits are written straight into the string's one buffer.
            var topic = topic
            let millis = timestamp.map { Timestamp.unixMilliseconds($0) }
            // Three integers of at most 20 characters each (a sign and 19 digits), two dashes and an at sign.
            return topic.withUTF8 { name in
                String(unsafeUninitializedCapacity: name.count + 63) { buffer in
                    var end = buffer.initialize(fromContentsOf: name)
                    buffer[end] = UInt8(ascii: "-")
                    end = writeDecimal(Int64(partition), into: buffer, at: end + 1)
                    buffer[end] = UInt8(ascii: "-")
                    end = writeDecimal(offset, into: buffer, at: end + 1)
                    guard let millis else { return end }
                    buffer[end] = UInt8(ascii: "@")
                    return writeDecimal(millis, into: buffer, at: end + 1)
                }
            }
        }

        /// Writes `value` in decimal at `start`; returns the index after its last digit.
        private static func writeDecimal(_ value: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
            var index = start
            if value < 0 {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            var magnitude = value.magnitude
            var digits = 0
            repeat {
                digits += 1
                magnitude /= 10
            } while magnitude > 0
            magnitude = value.magnitude
            var position = index + digits - 1
            repeat {
                buffer[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                position -= 1
            } while magnitude > 0
            return index + digits
        }
    }
}
