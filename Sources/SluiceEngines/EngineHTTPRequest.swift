public import NIOHTTP1

/// One HTTP request to an engine, built by an engine and sent by ``EngineHTTPClient``.
public struct EngineHTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The absolute URL.
    public var url: String
    /// Headers in the order they are sent.
    public var headers: [(name: String, value: String)]
    /// The body, when there is one.
    public var body: [UInt8]?

    public init(method: HTTPMethod, url: String, headers: [(name: String, value: String)], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}
