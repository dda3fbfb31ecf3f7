import NIOCore
import NIOHTTPTypes

/// The error a request's body stream ends with when the whole body did not arrive in time.
/// ``BodyReader`` turns it into ``BodyReader/Failure/timedOut(after:)``, which the routes answer `408`.
public struct BodyDeadlineExceeded: Error, Sendable, Equatable {
    /// The deadline that passed, counted from the request's head.
    public let timeout: Duration
}

/// Bounds the time from a request's head to the end of its body on one connection, like nginx's
/// `client_body_timeout` but for the whole body: a client that trickles its body cannot hold a
/// connection, a handler or memory for long.
///
/// It costs nothing in the common case: a timer is armed only when a read ends with a body still
/// outstanding (a body that arrives in the same reads as its head never arms one), and it lives on the
/// connection's event loop, with no task or thread of its own. When it fires, the body stream ends
/// with ``BodyDeadlineExceeded``, later parts are dropped, and the connection is closed once the
/// answer to the request (the route's `408`) is written, or at once when there is none to wait for.
final class BodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: Duration
    /// When the head of the request whose body is still being read arrived; nil between bodies.
    private var bodyStartedAt: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timedOut = false
    /// Requests read whose answers are not written yet (more than one when requests are pipelined).
    private var unanswered = 0

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !timedOut else { return }
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            bodyStartedAt = context.eventLoop.now
        case .body:
            break
        case .end:
            bodyStartedAt = nil
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let started = bodyStartedAt, timer == nil, !timedOut {
            let deadline = started + TimeAmount(timeout)
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                expire(context: context)
            }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        unanswered -= 1
        guard timedOut else {
            context.write(data, promise: promise)
            return
        }
        context.writeAndFlush(data, promise: promise)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func expire(context: ChannelHandlerContext) {
        timer = nil
        guard bodyStartedAt != nil, !timedOut else { return }
        timedOut = true
        bodyStartedAt = nil
        context.fireErrorCaught(BodyDeadlineExceeded(timeout: timeout))
        if unanswered <= 0 { context.close(promise: nil) }
    }
}
