import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import SluiceCore
import SluiceTesting
import SluiceWebhooks
import Testing

/// The limits against slow and abusive clients, over a real socket.
@Suite(.timeLimit(.minutes(1))) struct ServerLimitsTests {
    static let path = "/hooks/open"

    /// A server with one unverified route (1 KiB limit) and the given limits, and its port.
    static func withServer<T: Sendable>(
        limits: WebhookServerLimits = WebhookServerLimits(bodyTimeout: .milliseconds(500)), budget: BodyBudget? = nil,
        _ body: @Sendable (Int, LedgerInboxSink) async throws -> T
    ) async throws -> T {
        let ledger = InMemoryLedger()
        let sink = LedgerInboxSink(ledger: ledger)
        let endpoint = WebhookEndpoint(
            adapter: "open", path: path, verifier: UnverifiedVerifier(), sink: sink, maxBodyBytes: 1024)
        let router = try WebhookRoutes.buildRouter([endpoint], options: WebhookRouteOptions(bodyBudget: budget))
        let logger = Logger(label: "limits-test")
        // Run the application itself: HummingbirdTesting's `.live` rebuilds the configuration without
        // its connection cap.
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, server: limits.server,
            configuration: limits.configuration(address: .hostname("127.0.0.1", port: 0), logger: logger),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let value = try await body(port, sink)
            group.cancelAll()
            return value
        }
    }

    static func head(contentLength: Int?, extra: String = "") -> String {
        var text = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        if let contentLength { text += "Content-Length: \(contentLength)\r\n" } else { text += "Transfer-Encoding: chunked\r\n" }
        return text + extra + "\r\n"
    }

    @Test func aCompleteRequestIsAccepted() async throws {
        try await Self.withServer { port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            await socket.send(Self.head(contentLength: 2) + "{}")
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(answer.text.hasPrefix("HTTP/1.1 202"))
            #expect(sink.events.count == 1)
        }
    }

    @Test func aSlowBodyTimesOutWith408() async throws {
        try await Self.withServer(limits: WebhookServerLimits(bodyTimeout: .milliseconds(300))) { port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            let started = ContinuousClock.now
            await socket.send(Self.head(contentLength: 100) + "{\"a\":")
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(answer.text.hasPrefix("HTTP/1.1 408"), "\(answer.text.prefix(200))")
            // Generous: the suites run in parallel on two cores. Without the deadline there would be no 408 at all.
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect(sink.events.isEmpty)
        }
    }

    /// A JSON body of exactly `bytes` bytes.
    static func body(bytes: Int) -> String {
        "{\"a\":\"" + String(repeating: "x", count: bytes - 8) + "\"}"
    }

    /// Stalled uploads hold at most the server's body budget together: past it, another body is answered 503 at once
    /// (each alone is bounded by its route's limit, but 512 connections each stalled one byte short of it added up).
    @Test func bodiesBeingReadShareTheServersBudget() async throws {
        let budget = BodyBudget(limit: 1_500)
        try await Self.withServer(limits: WebhookServerLimits(bodyTimeout: .seconds(20)), budget: budget) { port, sink in
            let stalled = try await RawSocket.connect(port: port)
            defer { stalled.close() }
            let full = Self.body(bytes: 1_000)
            await stalled.send(Self.head(contentLength: 1_000) + String(full.prefix(900)))
            let deadline = ContinuousClock.now + .seconds(5)
            while budget.inUse < 900, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(budget.inUse == 900)
            let second = try await RawSocket.connect(port: port)
            defer { second.close() }
            await second.send(Self.head(contentLength: 800) + Self.body(bytes: 800))
            let refused = await second.read(timeout: .seconds(1), stopAfterHead: false)  // the head and the problem
            #expect(refused.text.hasPrefix("HTTP/1.1 503"), "\(refused.text.prefix(200))")
            #expect(refused.text.contains("Retry-After: 1") || refused.text.contains("retry-after: 1"))
            #expect(refused.text.contains("busy-reading"))
            await stalled.send(String(full.dropFirst(900)))
            let accepted = await stalled.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(accepted.text.hasPrefix("HTTP/1.1 202"), "\(accepted.text.prefix(200))")
            #expect(budget.inUse == 0, "a finished body gave its bytes back")
            // Alone, a body is always read.
            let third = try await RawSocket.connect(port: port)
            defer { third.close() }
            await third.send(Self.head(contentLength: 1_000) + Self.body(bytes: 1_000))
            #expect(await third.read(timeout: .seconds(5), stopAfterHead: true).text.hasPrefix("HTTP/1.1 202"))
            #expect(sink.events.count == 2)
        }
    }

    @Test func aDeclaredOversizedBodyIs413BeforeItIsSent() async throws {
        try await Self.withServer { port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            await socket.send(Self.head(contentLength: 10 << 20))
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(answer.text.hasPrefix("HTTP/1.1 413"))
            #expect(answer.text.contains("application/problem+json"))
            #expect(sink.events.isEmpty)
        }
    }

    @Test func aChunkedBodyIsCutOffAtTheLimit() async throws {
        try await Self.withServer { port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            await socket.send(Self.head(contentLength: nil))
            let chunk = String(repeating: "x", count: 512)
            var sent = 0
            // Up to 4 MiB offered; the server answers after about 1 KiB and stops reading.
            for _ in 0..<8192 {
                guard await socket.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") else { break }
                sent += chunk.utf8.count
                if sent >= 8 * 1024 { break }
            }
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(answer.text.hasPrefix("HTTP/1.1 413"))
            #expect(sink.events.isEmpty)
        }
    }

    @Test func tooManyHeadersAreRefused() async throws {
        try await Self.withServer(limits: WebhookServerLimits(maxHeaderCount: 20)) { port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            let extra = (0..<50).map { "X-Filler-\($0): y\r\n" }.joined()
            await socket.send(Self.head(contentLength: 2, extra: extra) + "{}")
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(!answer.text.hasPrefix("HTTP/1.1 2"))
            #expect(answer.closed || answer.text.hasPrefix("HTTP/1.1 4"))
            #expect(sink.events.isEmpty)
        }
    }

    @Test func anOversizedHeaderIsRefused() async throws {
        try await Self.withServer(limits: WebhookServerLimits(maxHeaderFieldSize: 1024, maxHeaderListSize: 4096)) {
            port, sink in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            let extra = "X-Big: " + String(repeating: "z", count: 8192) + "\r\n"
            await socket.send(Self.head(contentLength: 2, extra: extra) + "{}")
            let answer = await socket.read(timeout: .seconds(5), stopAfterHead: true)
            #expect(!answer.text.hasPrefix("HTTP/1.1 2"))
            #expect(answer.closed || answer.text.hasPrefix("HTTP/1.1 4"))
            #expect(sink.events.isEmpty)
        }
    }

    @Test func anIdleConnectionIsClosed() async throws {
        try await Self.withServer(limits: WebhookServerLimits(idleTimeout: .milliseconds(300))) { port, _ in
            let socket = try await RawSocket.connect(port: port)
            defer { socket.close() }
            // Half a request line, then nothing: the headers never complete.
            await socket.send("POST /hooks/op")
            let answer = await socket.read(timeout: .seconds(5))
            #expect(answer.closed)
        }
    }

    @Test func connectionsAboveTheCapWait() async throws {
        try await Self.withServer(limits: WebhookServerLimits(idleTimeout: .seconds(30), maxConnections: 2)) {
            port, _ in
            var open: [RawSocket] = []
            defer { for socket in open { socket.close() } }
            for index in 0..<4 {
                let socket = try await RawSocket.connect(port: port)
                open.append(socket)
                await socket.send(Self.head(contentLength: 2) + "{}")
                // The first two are served; the others wait in the backlog while two are open.
                let answer = await socket.read(timeout: index < 2 ? .seconds(15) : .milliseconds(700), stopAfterHead: true)
                #expect(answer.text.hasPrefix("HTTP/1.1 202") == (index < 2), "connection \(index)")
            }
            open[0].close()
            open.removeFirst()
            let late = await open[1].read(timeout: .seconds(15), stopAfterHead: true)
            #expect(late.text.hasPrefix("HTTP/1.1 202"), "a waiting connection is served once one closes")
        }
    }
}
