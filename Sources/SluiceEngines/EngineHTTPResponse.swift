public import SluiceCore

/// An engine's answer: the status, the headers Sluice reads, and the body.
public struct EngineHTTPResponse: Sendable {
    public var status: Int
    /// `Retry-After`, when present.
    public var retryAfter: String?
    /// `Location`, when present (a redirect names where the engine is).
    public var location: String?
    public var body: [UInt8]

    public init(status: Int, retryAfter: String? = nil, location: String? = nil, body: [UInt8]) {
        self.status = status
        self.retryAfter = retryAfter
        self.location = location
        self.body = body
    }

    /// The body as JSON, or nil when it is empty or not JSON.
    public var json: JSONValue? {
        body.isEmpty ? nil : try? JSONParser.parse(body)
    }

    /// The start of the body as text, for error details (bounded, so that a huge answer cannot flood logs).
    public var bodyExcerpt: String {
        let limit = 300
        let text = String(decoding: body.prefix(limit), as: UTF8.self)
        return body.count > limit ? text + "…" : text
    }
}
