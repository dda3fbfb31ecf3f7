public import SluiceCore

/// A request as a test server received it.
public struct RecordedRequest: Sendable {
    public var method: String
    /// The request target as sent: path and query, still percent-escaped.
    public var uri: String
    /// Headers in the order they came.
    public var headers: [(name: String, value: String)]
    /// The body (at most the server's recording limit).
    public var body: [UInt8]
    /// The body's full length, also when it was longer than what was kept.
    public var bodyLength: Int

    public init(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8], bodyLength: Int) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.bodyLength = bodyLength
    }

    /// The path without the query.
    public var path: String { String(uri.prefix { $0 != "?" }) }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The body as text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON, or nil.
    public var json: JSONValue? { try? JSONParser.parse(body) }
}
