/// The context attributes of a CloudEvents 1.0 event (structured or binary mode).
public struct CloudEvent: Sendable, Hashable {
    /// How the event was carried.
    public enum Mode: String, Sendable, Hashable {
        /// The whole event is a JSON envelope (`application/cloudevents+json`).
        case structured
        /// Attributes travel as `ce-*` HTTP headers or `ce_*` Kafka headers; the body is the data.
        case binary
    }

    public var mode: Mode
    public var specVersion: String
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: String?
    public var dataContentType: String?
    public var dataSchema: String?
    /// Extension attributes (lowercase names), such as `partitionkey`.
    public var extensions: [String: String]

    public init(
        mode: Mode, specVersion: String, id: String, source: String, type: String, subject: String? = nil,
        time: String? = nil, dataContentType: String? = nil, dataSchema: String? = nil,
        extensions: [String: String] = [:]
    ) {
        self.mode = mode
        self.specVersion = specVersion
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.dataContentType = dataContentType
        self.dataSchema = dataSchema
        self.extensions = extensions
    }

    /// The attribute `name` as text (core attributes and extensions), for expressions.
    public func attribute(_ name: String) -> String? {
        switch name {
        case "specversion": specVersion
        case "id": id
        case "source": source
        case "type": type
        case "subject": subject
        case "time": time
        case "datacontenttype": dataContentType
        case "dataschema": dataSchema
        default: extensions[name]
        }
    }

    static let coreAttributes: Set<String> = [
        "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
        "data_base64",
    ]
}
