import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import NIOCore
import SluiceCore
import SluiceTesting
import SluiceWebhooks
import Testing

@Suite struct WebhookRouteTests {
    let uri = "/webhooks/test"

    @Test func aGenuineStripeDeliveryIsStoredAndAnswered202() async throws {
        let ledger = InMemoryLedger()
        let sink = LedgerInboxSink(ledger: ledger)
        let genuine = try RouteTestSupport.fixtureCase("stripe", "genuine")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: sink))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri + "?source=test", method: .post, headers: RouteTestSupport.headers(genuine),
                body: ByteBuffer(string: genuine.body))
            #expect(response.status == .accepted)
            let json = try RouteTestSupport.json(response)
            #expect(json["event_id"]?.stringValue == "evt_1NG8Du2eZvKYlo2CUI79vXWy")
            #expect(json["adapter"]?.stringValue == "test")
        }
        let pending = try await ledger.pendingInbox(after: nil, limit: 10)
        #expect(pending.count == 1)
        let delivery = try #require(pending.first?.delivery)
        #expect(delivery.body == Array(genuine.body.utf8))
        #expect(delivery.target == "/webhooks/test?source=test")
        #expect(!delivery.headers.contains("Stripe-Signature"))
        #expect(delivery.headers["Content-Type"] == "application/json")
        #expect(sink.events.first?.convention == .stripe)
    }

    /// Stripe signs the body, not other providers' id headers: a replay of a genuine delivery with
    /// `webhook-id`, `X-GitHub-Delivery` or `ce-*` headers added keeps the body's id (so the idempotency
    /// check catches it) instead of taking a new id from the unsigned header.
    @Test func unsignedIDHeadersOfOtherConventionsCannotRenameASignedEvent() async throws {
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        let genuine = try RouteTestSupport.fixtureCase("stripe", "genuine")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: sink))
        try await app.test(.router) { client in
            for (index, extra) in [("webhook-id", "x1"), ("X-GitHub-Delivery", "g2"), ("ce-id", "c3")].enumerated() {
                var headers = RouteTestSupport.headers(genuine)
                headers.append(HTTPField(name: HTTPField.Name(extra.0)!, value: extra.1))
                if extra.0 == "ce-id" {
                    for (name, value) in [("ce-specversion", "1.0"), ("ce-source", "/x"), ("ce-type", "charge.refunded")] {
                        headers.append(HTTPField(name: HTTPField.Name(name)!, value: value))
                    }
                }
                let response = try await client.execute(
                    uri: uri, method: .post, headers: headers, body: ByteBuffer(string: genuine.body))
                #expect(response.status == .accepted)
                #expect(try RouteTestSupport.json(response)["event_id"]?.stringValue == "evt_1NG8Du2eZvKYlo2CUI79vXWy")
                #expect(sink.events.count == index + 1)
                #expect(sink.events.last?.convention == .stripe)
                #expect(sink.events.last?.headers.contains(extra.0) == false)
            }
        }
    }

    /// A generic `hmac` signature covers the body only: id headers of other conventions added to a genuine
    /// delivery are dropped, and every replay gets the body's own id (here its hash), which the idempotency
    /// check catches.
    @Test func aGenericHMACDeliveryCannotBeRenamedByAnUnsignedIDHeader() async throws {
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        let genuine = try RouteTestSupport.fixtureCase("hmac", "sha256 hex")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: sink))
        try await app.test(.router) { client in
            for extra in [("webhook-id", "x1"), ("webhook-id", "x2"), ("svix-id", "x3"), ("X-Shopify-Webhook-Id", "x4")] {
                var headers = RouteTestSupport.headers(genuine)
                headers.append(HTTPField(name: HTTPField.Name(extra.0)!, value: extra.1))
                let response = try await client.execute(
                    uri: uri, method: .post, headers: headers, body: ByteBuffer(string: genuine.body))
                #expect(response.status == .accepted)
            }
        }
        let ids = Set(sink.events.map(\.id))
        #expect(sink.events.count == 4)
        #expect(ids.count == 1 && ids.first?.hasPrefix("sha256:") == true, "\(ids)")
    }

    /// Svix names the Standard Webhooks headers `svix-id`, `svix-timestamp`, `svix-signature` unless it is
    /// white-labelled: those deliveries verify, take their id from `svix-id`, and are stored without the signature.
    @Test func aSvixDeliveryVerifiesUnderItsOwnHeaderNames() async throws {
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        let genuine = try RouteTestSupport.fixtureCase("standard-webhooks", "genuine v1")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: sink))
        try await app.test(.router) { client in
            var headers = HTTPFields([HTTPField(name: .contentType, value: "application/json")])
            for pair in genuine.headers {
                headers.append(HTTPField(name: HTTPField.Name(pair[0].replacingOccurrences(of: "webhook-", with: "svix-"))!, value: pair[1]))
            }
            // An unsigned webhook-id added by a replayer does not rename it.
            headers.append(HTTPField(name: HTTPField.Name("webhook-id")!, value: "x1"))
            let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: genuine.body))
            #expect(response.status == .accepted)
            #expect(try RouteTestSupport.json(response)["event_id"]?.stringValue == "msg_p5jXN8AQM9LWM0D4loKWxJek")
            var tampered = headers
            tampered[HTTPField.Name("svix-signature")!] = "v1,QJ4HCbIR3vUgTMrgxFDnEBwOUR0Rwa4E51T99rpRX2w="
            let forged = try await client.execute(uri: uri, method: .post, headers: tampered, body: ByteBuffer(string: genuine.body))
            #expect(forged.status == .unauthorized)
        }
        #expect(sink.events.count == 1)
        #expect(sink.events.first?.convention == .standardWebhooks)
        #expect(sink.events.first?.headers.contains("svix-signature") == false)
    }

    @Test func aDecidedKeyAnswers200WithTheEarlierOutcome() async throws {
        let ledger = InMemoryLedger()
        let earlier = Outcome(
            adapter: "test", action: "start_workflow", idempotencyKey: "evt_1NG8Du2eZvKYlo2CUI79vXWy", kind: .accepted,
            workflowID: "order-1001")
        _ = try await ledger.record(earlier)
        let genuine = try RouteTestSupport.fixtureCase("stripe", "genuine")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: LedgerInboxSink(ledger: ledger)))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: .post, headers: RouteTestSupport.headers(genuine), body: ByteBuffer(string: genuine.body))
            #expect(response.status == .ok)
            let outcome = try Outcome(json: try RouteTestSupport.json(response))
            #expect(outcome.workflowID == "order-1001")
            #expect(outcome.kind == .accepted)
        }
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
    }

    @Test func everyFixtureCaseThroughTheRouter() async throws {
        for testCase in try VerificationFixture.allCases() {
            let ledger = InMemoryLedger()
            let metrics = TestMetrics()
            let app = Application(
                router: try RouteTestSupport.router(
                    for: testCase, sink: LedgerInboxSink(ledger: ledger), metrics: WebhookMetrics(factory: metrics)))
            let isChallenge = testCase.name == "url_verification challenge"
            let contentType = testCase.body.hasPrefix("token=") ? "application/x-www-form-urlencoded" : "application/json"
            try await app.test(.router) { client in
                let response = try await client.execute(
                    uri: uri, method: .post, headers: RouteTestSupport.headers(testCase, contentType: contentType),
                    body: ByteBuffer(string: testCase.body))
                if testCase.expect == "verified" {
                    #expect(response.status == (isChallenge ? .ok : .accepted), "\(testCase.config.scheme): \(testCase.name)")
                } else {
                    #expect(response.status == .unauthorized, "\(testCase.config.scheme): \(testCase.name)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let problem = try RouteTestSupport.json(response)
                    #expect(problem["reason"]?.stringValue == testCase.expect)
                    #expect(problem["status"]?.intValue == 401)
                    let text = String(buffer: response.body)
                    for secret in testCase.config.secrets { #expect(!text.contains(secret)) }
                    #expect(
                        metrics.counterTotal(
                            label: "sluice_webhook_verification_failures_total",
                            dimensions: [("adapter", "test"), ("reason", testCase.expect)]) == 1)
                }
            }
            let stored = try await ledger.pendingInbox(after: nil, limit: 10).count
            #expect(stored == (testCase.expect == "verified" && !isChallenge ? 1 : 0), "\(testCase.name)")
        }
    }

    @Test func slackURLVerificationIsAnsweredWithTheChallenge() async throws {
        let challenge = try RouteTestSupport.fixtureCase("slack", "url_verification challenge")
        let app = Application(
            router: try RouteTestSupport.router(for: challenge, sink: LedgerInboxSink(ledger: InMemoryLedger())))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: .post, headers: RouteTestSupport.headers(challenge), body: ByteBuffer(string: challenge.body))
            #expect(response.status == .ok)
            #expect(try RouteTestSupport.json(response)["challenge"]?.stringValue?.hasPrefix("3eZbrw1aBm2rZgRNFdxV") == true)
        }
    }

    @Test func mediaTypeIsChecked() async throws {
        let genuine = try RouteTestSupport.fixtureCase("github", "genuine")
        let app = Application(
            router: try RouteTestSupport.router(for: genuine, sink: LedgerInboxSink(ledger: InMemoryLedger())))
        try await app.test(.router) { client in
            for contentType in ["text/plain", nil] as [String?] {
                let response = try await client.execute(
                    uri: uri, method: .post, headers: RouteTestSupport.headers(genuine, contentType: contentType),
                    body: ByteBuffer(string: genuine.body))
                #expect(response.status == .unsupportedMediaType)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            let vendor = try await client.execute(
                uri: uri, method: .post,
                headers: RouteTestSupport.headers(genuine, contentType: "application/vnd.github+json; charset=utf-8"),
                body: ByteBuffer(string: genuine.body))
            #expect(vendor.status == .accepted)
        }
    }

    @Test func anOversizedBodyIs413AndNotStored() async throws {
        let ledger = InMemoryLedger()
        let genuine = try RouteTestSupport.fixtureCase("github", "genuine")
        let app = Application(
            router: try RouteTestSupport.router(for: genuine, sink: LedgerInboxSink(ledger: ledger), maxBodyBytes: 16))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: .post, headers: RouteTestSupport.headers(genuine), body: ByteBuffer(string: genuine.body))
            #expect(response.status == .contentTooLarge)
            let problem = try RouteTestSupport.json(response)
            #expect(problem["limit"]?.intValue == 16)
            #expect(problem["type"]?.stringValue == "urn:sluice:problem:payload-too-large")
        }
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
    }

    @Test func saturationIs429WithRetryAfterAndNothingStored() async throws {
        let ledger = InMemoryLedger()
        let sink = LedgerInboxSink(ledger: ledger)
        sink.refuseAll(with: .saturated(retryAfter: .milliseconds(2500)))
        let metrics = TestMetrics()
        let genuine = try RouteTestSupport.fixtureCase("shopify", "genuine")
        let app = Application(
            router: try RouteTestSupport.router(for: genuine, sink: sink, metrics: WebhookMetrics(factory: metrics)))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: .post, headers: RouteTestSupport.headers(genuine), body: ByteBuffer(string: genuine.body))
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "3")
            #expect(try RouteTestSupport.json(response)["retry_after_seconds"]?.intValue == 3)
        }
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
        #expect(
            metrics.counterTotal(
                label: "sluice_webhook_admission_refusals_total", dimensions: [("adapter", "test"), ("reason", "saturated")])
                == 1)
        #expect(
            metrics.counterTotal(label: "sluice_webhook_requests_total", dimensions: [("adapter", "test"), ("status", "429")])
                == 1)
    }

    @Test func anInboxWriteFailureIs503() async throws {
        let ledger = InMemoryLedger()
        ledger.failWrites(with: .retryable("full", "disk full"))
        let genuine = try RouteTestSupport.fixtureCase("standard-webhooks", "genuine v1")
        let metrics = TestMetrics()
        let app = Application(
            router: try RouteTestSupport.router(
                for: genuine, sink: LedgerInboxSink(ledger: ledger), metrics: WebhookMetrics(factory: metrics)))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: .post, headers: RouteTestSupport.headers(genuine), body: ByteBuffer(string: genuine.body))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "1")
            #expect(response.headers[.contentType] == "application/problem+json")
        }
        let timer = try metrics.expectTimer("sluice_webhook_inbox_duration_seconds", [("adapter", "test")])
        #expect(timer.values.count == 1)
    }

    @Test func anInvalidCloudEventIs400() async throws {
        let config = VerificationFixture.Config(
            scheme: "bearer", secrets: ["t0ken"], toleranceSeconds: 300)
        let testCase = VerificationFixture.Case(
            name: "cloudevent", config: config, now: 1_700_000_000, headers: [["Authorization", "Bearer t0ken"]],
            body: "{}", expect: "verified")
        let app = Application(
            router: try RouteTestSupport.router(for: testCase, sink: LedgerInboxSink(ledger: InMemoryLedger())))
        try await app.test(.router) { client in
            var headers = RouteTestSupport.headers(testCase)
            headers[HTTPField.Name("ce-specversion")!] = "1.0"
            let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            #expect(response.status == .badRequest)
            #expect(try RouteTestSupport.json(response)["type"]?.stringValue == "urn:sluice:problem:invalid-event")
            #expect(!String(buffer: response.body).contains("t0ken"))
        }
    }

    @Test func routesMountOnAnApplicationsRouterBesideItsOwn() async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok" }
        let genuine = try RouteTestSupport.fixtureCase("github", "genuine")
        let endpoint = WebhookEndpoint(
            adapter: "gh", path: "/hooks/github", verifier: try genuine.makeVerifier(),
            sink: LedgerInboxSink(ledger: InMemoryLedger()))
        try WebhookRoutes.register([endpoint], on: router.group("/v1"))
        let app = Application(router: router)
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let response = try await client.execute(
                uri: "/v1/hooks/github", method: .post, headers: RouteTestSupport.headers(genuine),
                body: ByteBuffer(string: genuine.body))
            #expect(response.status == .accepted)
        }
    }

    @Test func twoAdaptersCannotShareAPath() throws {
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        let endpoints = ["a", "b"].map {
            WebhookEndpoint(adapter: $0, path: "/same", verifier: UnverifiedVerifier(), sink: sink)
        }
        #expect(throws: WebhookConfigurationError.duplicatePath("/same", adapters: ["a", "b"])) {
            _ = try WebhookRoutes.buildRouter(endpoints)
        }
    }
}
