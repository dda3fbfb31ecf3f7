/// An event's body: JSON when it parses, the raw bytes otherwise.
public enum EventPayload: Sendable, Hashable {
    case json(JSONValue)
    case bytes([UInt8])

    /// Parses `bytes` as JSON, keeping the bytes when they are not JSON (or are empty).
    public init(parsing bytes: [UInt8]) {
        if !bytes.isEmpty, let value = try? JSONParser.parse(bytes) {
            self = .json(value)
        } else {
            self = .bytes(bytes)
        }
    }

    /// The JSON value, when the body is JSON.
    public var json: JSONValue? {
        if case .json(let value) = self { return value }
        return nil
    }

    /// The body as it appears to expressions: the JSON value, or the bytes as text when they are
    /// UTF-8, or base64 when they are not.
    public var expressionValue: JSONValue {
        switch self {
        case .json(let value): return value
        case .bytes(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { return .string(text) }
            return .string(Base64.encode(bytes))
        }
    }
}
