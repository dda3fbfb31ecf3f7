import Foundation
public import Logging
import SluiceCore

/// Writes one readable line per log record to standard error, in the layout of swift-log's
/// `StreamLogHandler`: `time level logger : key=value… [source] message`.
///
/// Unlike `StreamLogHandler`, it renders metadata when a record is written, not when metadata is
/// set: Hummingbird gives every request's logger a request id, and rendering it there, for records
/// that below the `debug` level are never written, cost about 4 % of a webhook's CPU.
public struct TextLogHandler: LogHandler {
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
        let merged = LogRecordMetadata.merged(metadata, provider: metadataProvider, event: event)
        let rendered = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "\(Timestamp.format(Date())) \(event.level) \(label) :\(rendered) [\(event.source)] \(event.message)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// The metadata of one record: the handler's, then the provider's, then the call's, later ones winning.
enum LogRecordMetadata {
    static func merged(_ own: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> Logger.Metadata {
        var merged = own
        if let provided = provider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        return merged
    }
}
