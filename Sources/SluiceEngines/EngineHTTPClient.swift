public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import SluiceCore

/// The one HTTP client all engines share: a pooled AsyncHTTPClient with a per-call deadline, that turns
/// every transport failure into a classified ``EngineError``.
///
/// Create one per process, hand it to every engine, and call ``shutdown()`` once at the end.
public final class EngineHTTPClient: Sendable {
    /// The largest answer read; a bigger body is an error rather than a memory spike.
    public static let maximumResponseBytes = 4 * 1024 * 1024

    let client: HTTPClient

    /// Creates the shared client.
    ///
    /// - Parameters:
    ///   - maximumConnectionsPerHost: the pool's soft limit of HTTP/1.1 connections per engine host.
    ///   - connectTimeout: how long opening a connection may take.
    ///   - idleTimeout: how long an unused pooled connection stays open.
    public init(
        maximumConnectionsPerHost: Int = 64, connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(60)
    ) {
        let configuration = Self.configuration(
            maximumConnectionsPerHost: maximumConnectionsPerHost, connectTimeout: connectTimeout, idleTimeout: idleTimeout)
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The AsyncHTTPClient configuration of the shared client: HTTP/1.1, pooled, no decompression, no redirects.
    /// Also what the engine benchmark's bare-client mode uses, so that both measure the same client.
    @_spi(Benchmarks)
    public static func configuration(
        maximumConnectionsPerHost: Int = 64, connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(60)
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.timeout = .init(connect: timeAmount(connectTimeout))
        configuration.connectionPool = .init(
            idleTimeout: timeAmount(idleTimeout), concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnectionsPerHost)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        return configuration
    }

    /// Closes every pooled connection. Call once, after the last request.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends one request and reads the whole answer.
    ///
    /// - Parameters:
    ///   - request: what to send.
    ///   - timeout: the deadline for the whole exchange, answer body included.
    ///   - logger: receives a debug line per exchange (method, URL path, status, time); never headers.
    /// - Returns: the answer, whatever its status.
    /// - Throws: ``EngineError``: `timeout` and `transport` (retryable), `configuration` (fatal, a bad
    ///   URL), `malformed_response` (non-retryable, an answer too large to read; retryable, a 2xx whose body was
    ///   cut off or stalled).
    public func send(_ request: EngineHTTPRequest, timeout: Duration, logger: Logger) async throws(EngineError)
        -> EngineHTTPResponse
    {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let deadline = NIODeadline.now() + Self.timeAmount(timeout)
        let started = ContinuousClock.now
        do {
            let response = try await client.execute(outgoing, deadline: deadline)
            let buffer: ByteBuffer
            do {
                buffer = try await Self.collect(response.body, by: deadline)
            } catch where (200...299).contains(response.status.code) && !(error is NIOTooManyBytesError) {
                // The status line says the engine acted; only its answer was cut off (a reset, a stall). Like an
                // unreadable 2xx body, not a transport error: a call the server does not deduplicate (a control-plane
                // signal) must not be sent again.
                throw EngineError.retryable(
                    "malformed_response",
                    "the answer was cut off after HTTP \(response.status.code): \(Self.classify(error, timeout: timeout).detail)",
                    statusCode: Int(response.status.code))
            }
            let answer = EngineHTTPResponse(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"),
                location: response.headers.first(name: "Location"),
                body: Array(buffer.readableBytesView))
            logger.debug(
                "engine answered",
                metadata: [
                    "http.method": "\(request.method.rawValue)", "http.path": "\(Self.path(of: request.url))",
                    "http.status": "\(answer.status)", "duration": "\(ContinuousClock.now - started)",
                ])
            return answer
        } catch {
            let classified = error as? EngineError ?? Self.classify(error, timeout: timeout)
            logger.debug(
                "engine call failed",
                metadata: [
                    "http.method": "\(request.method.rawValue)", "http.path": "\(Self.path(of: request.url))",
                    "error": "\(classified)",
                ])
            throw classified
        }
    }

    /// Reads the whole answer body by `deadline`, or fails with `deadlineExceeded`: AsyncHTTPClient's own deadline
    /// ends with the answer's head, and a peer that stalls in the middle of the body (a half-open connection, a
    /// stuck proxy) would otherwise hold the call for ever.
    static func collect(_ body: HTTPClientResponse.Body, by deadline: NIODeadline) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: maximumResponseBytes) }
            group.addTask {
                let remaining = max(0, (deadline - .now()).nanoseconds)
                try await Task.sleep(nanoseconds: UInt64(remaining))
                return nil
            }
            defer { group.cancelAll() }
            guard case let buffer?? = try await group.next() else { throw HTTPClientError.deadlineExceeded }
            return buffer
        }
    }

    /// Maps a transport error onto an ``EngineError``.
    static func classify(_ error: any Error, timeout: Duration) -> EngineError {
        if error is NIOTooManyBytesError {
            return .nonRetryable(
                "malformed_response", "the answer is larger than \(maximumResponseBytes) bytes")
        }
        if let httpError = error as? HTTPClientError {
            let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout]
            // `shortDescription`, never `description`: the latter quotes associated values, such as the header
            // values of a refused request (the bearer token among them).
            if timeouts.contains(httpError) {
                return .retryable(
                    "timeout", "no complete answer within \(DurationText.format(timeout)) (\(httpError.shortDescription))")
            }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(httpError) {
                return .fatal("configuration", "the engine URL is not usable (\(httpError.shortDescription))")
            }
            let refusedHeaders = [HTTPClientError.invalidHeaderFieldNames([]), .invalidHeaderFieldValues([])]
            if refusedHeaders.contains(where: { $0.shortDescription == httpError.shortDescription }) {
                // Sluice's own headers (the token, the namespace) cannot be sent: no retry can change that.
                return .fatal("configuration", "a request header cannot be sent (\(httpError.shortDescription))")
            }
            if httpError == .cancelled {
                return .retryable("cancelled", "the call was cancelled before the engine answered")
            }
            return .retryable("transport", httpError.shortDescription)
        }
        if error is CancellationError {
            return .retryable("cancelled", "the call was cancelled before the engine answered")
        }
        return .retryable("transport", String(describing: error))
    }

    /// The URL's path, for logs (no query, no credentials).
    static func path(of url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        let path = rest[slash...]
        return String(path.prefix { $0 != "?" })
    }

    /// The duration as NIO's time amount, saturating (a wait of billions of seconds asked by a bridge caller must
    /// not overflow).
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(seconds < 0 ? .min : .max) }
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        return .nanoseconds(overflowAgain ? (seconds < 0 ? .min : .max) : total)
    }
}
