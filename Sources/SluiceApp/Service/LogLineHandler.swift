public import Foundation
public import Logging
import SluiceCore

/// Writes one line per log record to standard error, as text or as JSON.
///
/// - `text`: swift-log's `StreamLogHandler` layout, `time level logger : key=value… [source] message`.
/// - `json`: one object with `time`, `level`, `logger`, `message` and the metadata (event id,
///   adapter, workflow id… — never payloads or secrets, which Sluice does not log).
///
/// Metadata is rendered when a record is written, not when it is set: Hummingbird gives every
/// request's logger a request id, and `StreamLogHandler`, which renders on every set, spent about 4 %
/// of a webhook's CPU on it for records that below `debug` are never written.
public struct LogLineHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: ServiceConfiguration.Logging.Format

    public init(label: String, format: ServiceConfiguration.Logging.Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardError.write(Data(line(for: event, at: Date())))
    }

    /// The line written for `event` at `time`, with its newline.
    public func line(for event: LogEvent, at time: Date) -> [UInt8] {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let sorted = merged.sorted { $0.key < $1.key }
        let time = Timestamp.format(time)
        var line: [UInt8]
        switch format {
        case .text:
            let rendered = sorted.map { " \($0.key)=\($0.value)" }.joined()
            line = Array("\(time) \(event.level) \(label) :\(rendered) [\(event.source)] \(event.message)".utf8)
        case .json:
            var object = JSONObject()
            object["time"] = .string(time)
            object["level"] = .string(event.level.rawValue)
            object["logger"] = .string(label)
            object["message"] = .string(event.message.description)
            for (key, value) in sorted { object[key] = Self.json(value) }
            line = JSONWriter.bytes(.object(object))
        }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let members):
            .object(JSONObject(members.sorted { $0.key < $1.key }.map { JSONObject.Member(key: $0.key, value: json($0.value)) }))
        }
    }
}
