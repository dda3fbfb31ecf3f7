import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
@testable import SluiceWebhooks
import Testing

/// The server's body deadline, on an embedded channel whose clock the tests move.
@Suite struct BodyDeadlineHandlerTests {
    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: "x", path: "/hooks"))

    static func channel(timeout: Duration = .seconds(10)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(BodyDeadlineHandler(timeout: timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    /// Parts delivered in one read, as a small request arrives.
    static func read(_ parts: [HTTPRequestPart], into channel: EmbeddedChannel) throws {
        for part in parts { channel.pipeline.syncOperations.fireChannelRead(NIOAny(part)) }
        channel.pipeline.syncOperations.fireChannelReadComplete()
        try channel.throwIfErrorCaught()
    }

    static func inbound(_ channel: EmbeddedChannel) throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    @Test func aBodyThatArrivesWithItsHeadPassesAndArmsNoTimer() throws {
        let channel = try Self.channel()
        try Self.read([Self.head, .body(ByteBuffer(string: "{}")), .end(nil)], into: channel)
        #expect(try Self.inbound(channel).count == 3)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.throwIfErrorCaught()
        #expect(channel.isActive)
    }

    @Test func aBodyThatCompletesBeforeTheDeadlineIsNotCut() throws {
        let channel = try Self.channel()
        try Self.read([Self.head, .body(ByteBuffer(string: "{\"a\":"))], into: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        try Self.read([.body(ByteBuffer(string: "1}")), .end(nil)], into: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.throwIfErrorCaught()
        #expect(try Self.inbound(channel).count == 4)
        #expect(channel.isActive)
    }

    @Test func aLateBodyEndsItsStreamAndTheConnectionClosesAfterTheAnswer() throws {
        let channel = try Self.channel()
        try Self.read([Self.head, .body(ByteBuffer(string: "{\"a\":"))], into: channel)
        // Trickling does not extend the deadline: it counts from the head.
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        try Self.read([.body(ByteBuffer(string: " "))], into: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(throws: BodyDeadlineExceeded(timeout: .seconds(10))) { try channel.throwIfErrorCaught() }
        // Later parts are dropped; the connection stays open until the route's 408 is written.
        _ = try Self.inbound(channel)
        try Self.read([.body(ByteBuffer(string: "1}")), .end(nil)], into: channel)
        #expect(try Self.inbound(channel).isEmpty)
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .requestTimeout)))
        #expect(channel.isActive)
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(!channel.isActive)
        #expect(try channel.readOutbound(as: HTTPResponsePart.self) != nil)
    }

    @Test func aLateBodyAfterTheAnswerClosesAtOnce() throws {
        let channel = try Self.channel(timeout: .seconds(2))
        try Self.read([Self.head], into: channel)
        // The route answered early (say 415) and Hummingbird is draining the body.
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unsupportedMediaType)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func eachPipelinedRequestHasItsOwnDeadline() throws {
        let channel = try Self.channel(timeout: .seconds(5))
        try Self.read([Self.head, .end(nil), Self.head], into: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        try Self.read([.end(nil)], into: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        try channel.throwIfErrorCaught()
        #expect(channel.isActive)
    }
}
