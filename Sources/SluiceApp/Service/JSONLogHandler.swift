import Foundation
public import Logging
import SluiceCore

/// Writes one JSON object per log record to standard error: `time`, `level`, `logger`, `message`
/// and the metadata (event id, adapter, workflow id… — never payloads or secrets, which Sluice
/// does not log).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject()
        object["time"] = .string(Timestamp.format(Date()))
        object["level"] = .string(event.level.rawValue)
        object["logger"] = .string(label)
        object["message"] = .string(event.message.description)
        let merged = LogRecordMetadata.merged(metadata, provider: metadataProvider, event: event)
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) { object[key] = Self.json(value) }
        var line = JSONWriter.bytes(.object(object))
        line.append(UInt8(ascii: "\n"))
        FileHandle.standardError.write(Data(line))
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
