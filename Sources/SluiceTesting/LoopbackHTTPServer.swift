import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on 127.0.0.1 and a free port, answering each request with a handler.
///
/// It serves the Durable Workflow fake, scripted faults (truncated bodies, dropped connections, slow
/// answers) and the benchmark's minimal endpoint. Keep-alive and pipelining as clients expect.
public final class LoopbackHTTPServer: Sendable {
    /// Handles one request.
    public typealias Handler = @Sendable (RecordedRequest) async -> ScriptedResponse

    /// The bound port.
    public let port: Int
    private let channel: any Channel
    private let task: Task<Void, Never>

    /// `http://127.0.0.1:{port}`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, channel: any Channel, task: Task<Void, Never>) {
        self.port = port
        self.channel = channel
        self.task = task
    }

    /// Starts a server.
    ///
    /// - Parameters:
    ///   - port: 0 (default) for a free port.
    ///   - recordingLimit: body bytes kept per request; longer bodies are counted, not kept.
    ///   - handler: answers each request.
    public static func start(
        port: Int = 0, recordingLimit: Int = 4 * 1024 * 1024, handler: @escaping Handler
    ) async throws -> LoopbackHTTPServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let boundPort = server.channel.localAddress?.port ?? 0
        let underlying = server.channel
        let task = Task {
            await withDiscardingTaskGroup { group in
                try? await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await serve(connection, recordingLimit: recordingLimit, handler: handler) }
                    }
                }
                group.cancelAll()
            }
        }
        return LoopbackHTTPServer(port: boundPort, channel: underlying, task: task)
    }

    /// Stops accepting, closes every connection and waits until the server is down.
    public func stop() async {
        task.cancel()
        try? await channel.close()
        await task.value
    }

    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, recordingLimit: Int,
        handler: Handler
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var length = 0
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body = []
                    length = 0
                case .body(let buffer):
                    length += buffer.readableBytes
                    if body.count < recordingLimit { body += buffer.readableBytesView.prefix(recordingLimit - body.count) }
                case .end:
                    guard let requestHead = head else { continue }
                    let request = RecordedRequest(
                        method: requestHead.method.rawValue, uri: requestHead.uri,
                        headers: requestHead.headers.map { ($0.name, $0.value) }, body: body, bodyLength: length)
                    let response = await handler(request)
                    if let delay = response.delay { try await Task.sleep(for: delay) }
                    let keepAlive = requestHead.isKeepAlive
                    switch response.delivery {
                    case .closeWithoutAnswer:
                        return
                    case .complete, .truncated, .stalled:
                        var headers = HTTPHeaders(response.headers)
                        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
                        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
                        let responseHead = HTTPResponseHead(
                            version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
                        switch response.delivery {
                        case .truncated(let bytes), .stalled(let bytes):
                            try await outbound.write(contentsOf: [
                                .head(responseHead), .body(.byteBuffer(ByteBuffer(bytes: response.body.prefix(bytes)))),
                            ])
                            // Truncated: the connection closes now. Stalled: it stays silent for a minute first.
                            if case .stalled = response.delivery { try? await Task.sleep(for: .seconds(60)) }
                            return
                        case .complete, .closeWithoutAnswer: break
                        }
                        var parts: [HTTPServerResponsePart] = [.head(responseHead)]
                        if !response.body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
                        parts.append(.end(nil))
                        try await outbound.write(contentsOf: parts)
                        if !keepAlive { return }
                    }
                }
            }
        }
    }
}
