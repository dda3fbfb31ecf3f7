public import Hummingbird
public import HummingbirdCore
public import Logging
import NIOCore

/// The HTTP server's limits against slow or abusive clients: idle connections closed, header count
/// and size bounded, concurrent connections capped. The body's size and deadline are per route
/// (``WebhookEndpoint/maxBodyBytes``, ``WebhookRouteOptions/bodyTimeout``).
public struct WebhookServerLimits: Sendable {
    /// A connection with no request in progress (including one whose headers trickle in) is closed after this.
    public var idleTimeout: Duration
    /// How long a request's whole body may take to arrive, from its head; a slower body is answered
    /// `408` and the connection closed.
    public var bodyTimeout: Duration
    /// The largest single header field, in bytes.
    public var maxHeaderFieldSize: Int
    /// All header fields together, in bytes.
    public var maxHeaderListSize: Int
    /// The most header fields one request may carry.
    public var maxHeaderCount: Int
    /// The most connections open at once; more wait in the listen backlog.
    public var maxConnections: Int
    /// The listen backlog.
    public var backlog: Int

    public init(
        idleTimeout: Duration = .seconds(30), bodyTimeout: Duration = .seconds(10), maxHeaderFieldSize: Int = 16 * 1024, maxHeaderListSize: Int = 64 * 1024,
        maxHeaderCount: Int = 100, maxConnections: Int = 1024, backlog: Int = 256
    ) {
        self.idleTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.maxHeaderFieldSize = maxHeaderFieldSize
        self.maxHeaderListSize = maxHeaderListSize
        self.maxHeaderCount = maxHeaderCount
        self.maxConnections = maxConnections
        self.backlog = backlog
    }

    /// The HTTP/1.1 server with these limits, for `Application(router:server:configuration:)`.
    public var server: HTTPServerBuilder {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: maxHeaderFieldSize, maxHeaderListSize: maxHeaderListSize,
            maxHeaderFieldCount: maxHeaderCount)
        let bodyTimeout = bodyTimeout
        return .http1(
            configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [BodyDeadlineHandler(timeout: bodyTimeout)],
                idleTimeout: TimeAmount(idleTimeout), httpDecoderConfiguration: decoder))
    }

    /// The application configuration (address, backlog, connection cap) with these limits.
    public func configuration(address: BindAddress, serverName: String? = nil, logger: Logger)
        -> ApplicationConfiguration
    {
        ApplicationConfiguration(
            address: address, serverName: serverName, backlog: backlog,
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections, logger: logger))
    }
}
