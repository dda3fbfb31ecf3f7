import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SluiceCore
@testable import SluiceEngines
import SluiceTesting
import Testing

@Suite("Engine faults become classified errors, never crashes")
struct EngineFaultTests {
    let command = Commands.start(key: "fault-1")

    @Test("503 and 5xx storms are retryable, with the detail kept")
    func serverErrors() async throws {
        try await withFake { fake, engine in
            fake.inject(.status(503), .status(500), .status(502), .status(504))
            for expected in [503, 500, 502, 504] {
                let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
                #expect(error?.kind == .retryable)
                #expect(error?.statusCode == expected, "\(String(describing: error))")
                #expect(error?.detail.contains("injected fault") == true)
            }
            // The storm is over: the same command goes through.
            let recovered = try await engine.execute(command, adapter: "a")
            #expect(recovered.kind == .accepted)
        }
    }

    @Test("429 with Retry-After in seconds, as an HTTP date, and without")
    func rateLimited() async throws {
        try await withFake { fake, engine in
            let date = Date().addingTimeInterval(30)
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            fake.inject(.status(429, retryAfter: "7"), .status(429, retryAfter: formatter.string(from: date)), .status(429))
            let seconds = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(seconds?.kind == .retryable)
            #expect(seconds?.reason == "rate_limited")
            #expect(seconds?.retryAfter == .seconds(7))
            let dated = await engineError { _ = try await engine.execute(command, adapter: "a") }
            let wait = try #require(dated?.retryAfter)
            #expect(wait > .seconds(25) && wait <= .seconds(31))
            let bare = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(bare?.kind == .retryable)
            #expect(bare?.retryAfter == nil)
        }
    }

    @Test("truncated, non-JSON and half-JSON answers, and dropped connections")
    func badBodies() async throws {
        try await withFake { fake, engine in
            fake.inject(.truncated, .nonJSON(status: 502), .nonJSON(status: 200), .partialJSON, .closeConnection)
            // A 2xx whose body was cut off: the engine acted, as for an unreadable 2xx.
            let truncated = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(truncated?.kind == .retryable)
            #expect(truncated?.reason == "malformed_response")
            #expect(truncated?.statusCode != nil)
            let proxy = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(proxy?.kind == .retryable)
            #expect(proxy?.detail.contains("Bad Gateway") == true)
            // A 2xx that cannot be read: the engine may have acted, and a retry under the same key reads the true answer.
            let html = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(html?.kind == .retryable)
            #expect(html?.reason == "malformed_response")
            let half = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(half?.kind == .retryable)
            #expect(half?.reason == "malformed_response")
            #expect(half?.detail.contains("durable-workflow.v2") == true)
            let dropped = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(dropped?.kind == .retryable)
            // The half-read answer's start took effect: the retry finds it, one workflow.
            let retried = try await engine.execute(command, adapter: "a")
            #expect(retried.kind == .duplicate)
            #expect(fake.workflows.count == 1)
        }
    }

    @Test("an outcome with an unknown contract version is a classified error")
    func unknownVersion() async throws {
        try await withFake { fake, engine in
            fake.inject(.outcomeVersion(2))
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .nonRetryable)
            #expect(error?.reason == "unsupported_version")
            #expect(error?.detail.contains("\"version\":2") == true)
        }
    }

    @Test("a slow engine times out (retryable)")
    func timeout() async throws {
        try await withFake(timeout: .milliseconds(200)) { fake, engine in
            fake.inject(.delay(.seconds(2)))
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .retryable)
            #expect(error?.reason == "timeout")
        }
    }

    @Test("an answer whose body stalls after its 2xx head is given up (retryable) at the call's deadline")
    func stalledBody() async throws {
        try await withFake(timeout: .milliseconds(300)) { fake, engine in
            fake.inject(.stalledBody)
            let started = ContinuousClock.now
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .retryable)
            #expect(error?.reason == "malformed_response")
            #expect(error?.detail.contains("no complete answer within") == true, "\(String(describing: error))")
            #expect(ContinuousClock.now - started < .seconds(5), "the stalled body held the call")
        }
    }

    @Test("a wait of billions of seconds saturates instead of overflowing")
    func hugeTimeoutsSaturate() {
        #expect(EngineHTTPClient.timeAmount(.seconds(10_000_000_000)) == .nanoseconds(.max))
        #expect(EngineHTTPClient.timeAmount(.seconds(-10_000_000_000)) == .nanoseconds(.min))
        #expect(EngineHTTPClient.timeAmount(.milliseconds(1_500)) == .milliseconds(1_500))
    }

    @Test("connection refused and engine down are retryable transport errors")
    func engineDown() async throws {
        let fake = try await DurableWorkflowFake.start()
        let url = fake.baseURL
        await fake.stop()
        let engine = DurableWorkflowEngine(endpoint: EngineEndpoint(baseURL: url, token: Secret("t")), http: sharedHTTP)
        let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
        #expect(error?.kind == .retryable)
        #expect(error?.reason == "transport")
        let readiness = await engineError { try await engine.checkReadiness() }
        #expect(readiness?.kind == .retryable)
    }

    @Test("401, 403 and an unknown namespace are fatal; 413 over 2 MiB is non-retryable")
    func refusals() async throws {
        try await withFake(token: "wrong-token-123") { _, engine in
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .fatal)
            #expect(error?.reason == "unauthorized")
        }
        try await withFake(token: "worker-token") { _, engine in
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .fatal)
            #expect(error?.reason == "forbidden")
        }
        try await withFake(namespace: "elsewhere") { _, engine in
            let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
            #expect(error?.kind == .fatal)
            #expect(error?.reason == "configuration")
        }
        try await withFake { fake, engine in
            let big = Commands.start(key: "big", input: [.string(String(repeating: "x", count: 2 * 1024 * 1024 + 1))])
            let error = await engineError { _ = try await engine.execute(big, adapter: "a") }
            #expect(error?.kind == .nonRetryable)
            #expect(error?.reason == "payload_too_large")
            #expect(error?.statusCode == 413)
            #expect(fake.workflows.isEmpty)
        }
    }

    @Test("the fake refuses requests without the version header, with 400")
    func versionHeader() async throws {
        let fake = try await DurableWorkflowFake.start()
        let request = EngineHTTPRequest(
            method: .POST, url: fake.baseURL + "/api/bridge-adapters/webhook/a",
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer operator-token")], body: Array("{}".utf8))
        let response = try await sharedHTTP.send(request, timeout: .seconds(5), logger: Logger(label: "test"))
        await fake.stop()
        #expect(response.status == 400)
        #expect(response.json?["reason"] == "missing_control_plane_version")
        // Every call would be refused alike (a proxy stripping the header): the run stops instead of dead-lettering.
        #expect(ResponseClassifier.error(for: response).kind == .fatal)
        #expect(ResponseClassifier.error(for: response).reason == "configuration")
    }

    /// Sluice follows no redirect: an `http://` engine URL answered with a redirect to `https://` fails every call alike.
    @Test("a redirect is a fatal configuration error naming where it points")
    func redirect() async throws {
        let server = try await LoopbackHTTPServer.start { _ in
            .json(308, [:], headers: [("Location", "https://engine.example/api/bridge-adapters/webhook/a")])
        }
        let engine = DurableWorkflowEngine(
            endpoint: EngineEndpoint(baseURL: "http://127.0.0.1:\(server.port)", token: Secret("t")), http: sharedHTTP)
        let error = await engineError { _ = try await engine.execute(command, adapter: "a") }
        await server.stop()
        #expect(error?.kind == .fatal)
        #expect(error?.reason == "configuration")
        #expect(error?.statusCode == 308)
        #expect(error?.detail.contains("https://engine.example/") == true, "\(String(describing: error))")
    }

    @Test("tokens never appear in logs or errors")
    func tokenRedaction() async throws {
        let (logger, store) = CapturingLogHandler.logger()
        var errors: [EngineError] = []
        try await withFake(logger: logger) { fake, engine in
            _ = try await engine.execute(command, adapter: "a")
            fake.inject(.status(503), .nonJSON(status: 200), .truncated)
            for _ in 0..<3 {
                if let error = await engineError({ _ = try await engine.execute(command, adapter: "a") }) { errors.append(error) }
            }
        }
        try await withFake(token: "leaky-token-991", logger: logger) { _, engine in
            if let error = await engineError({ _ = try await engine.execute(command, adapter: "a") }) { errors.append(error) }
        }
        #expect(errors.count == 4)
        #expect(!store.all.isEmpty)
        for text in store.all + errors.map(\.description) {
            #expect(!text.contains(operatorToken) && !text.contains("leaky-token-991"), "\(text)")
        }
    }
}
