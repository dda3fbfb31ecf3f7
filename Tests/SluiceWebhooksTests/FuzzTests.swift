import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceCore
import SluiceTesting
import SluiceWebhooks
import Testing

/// Random and mutated requests at the verifiers and the routes: no crash, and no `2xx` (or
/// `verified`) for a request that is not genuinely signed.
@Suite(.serialized) struct FuzzTests {
    /// The genuine cases the mutations start from, one verifier each.
    static func genuine() throws -> [(VerificationFixture.Case, any WebhookVerifier)] {
        try VerificationFixture.allCases()
            .filter { $0.expect == "verified" && $0.config.scheme != "bearer" }
            .map { ($0, try $0.makeVerifier()) }
    }

    @Test func mutatedGenuineDeliveriesNeverVerifyWithAChangedBody() async throws {
        var fuzzer = Fuzzer(seed: 0x5EED_0001)
        let cases = try Self.genuine()
        var verified = 0
        var refused = 0
        let total = 70_000
        for iteration in 0..<total {
            let (testCase, verifier) = cases[iteration % cases.count]
            let (headers, body, bodyChanged) = fuzzer.mutate(
                headers: testCase.headerFields, body: Array(testCase.body.utf8))
            do {
                try verifier.verify(headers: headers, body: body, now: Date(timeIntervalSince1970: Double(testCase.now)))
                verified += 1
                #expect(!bodyChanged, "\(testCase.config.scheme) \(testCase.name): a changed body verified")
            } catch {
                refused += 1
            }
            if iteration % 500 == 0 { await Task.yield() }
        }
        #expect(verified + refused == total)
        #expect(refused > total / 2)
    }

    @Test func randomUnsignedRequestsNeverVerify() async throws {
        var fuzzer = Fuzzer(seed: 0x5EED_0002)
        let verifiers = try Self.genuine().map(\.1)
        let total = 35_000
        for iteration in 0..<total {
            let verifier = verifiers[iteration % verifiers.count]
            let headers = fuzzer.unsignedHeaders()
            let body = fuzzer.body()
            var passed = false
            do {
                try verifier.verify(headers: headers, body: body, now: Date(timeIntervalSince1970: 1_700_000_010))
                passed = true
            } catch {}
            #expect(!passed, "\(verifier.scheme): random headers verified")
            if iteration % 500 == 0 { await Task.yield() }
        }
    }

    @Test func randomRequestsThroughTheRouterGetNo2xx() async throws {
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        let endpoints = try Self.genuine().enumerated().map { index, pair in
            WebhookEndpoint(adapter: "a\(index)", path: "/f/\(index)", verifier: pair.1, sink: sink, maxBodyBytes: 256)
        }
        let router = try WebhookRoutes.buildRouter(endpoints, options: WebhookRouteOptions(now: { Date(timeIntervalSince1970: 1_700_000_010) }))
        let contentTypes = ["application/json", "application/x-www-form-urlencoded", "text/plain", "application/cloudevents+json", ""]
        let total = 30_000
        let statuses = try await Application(router: router).test(.router) { client in
            var fuzzer = Fuzzer(seed: 0x5EED_0003)
            var counts: [Int: Int] = [:]
            for iteration in 0..<total {
                var headers = HTTPFields()
                let contentType = fuzzer.pick(contentTypes)
                if !contentType.isEmpty { headers[.contentType] = contentType }
                for field in fuzzer.unsignedHeaders() {
                    guard let name = HTTPField.Name(field.name), HTTPField.isValidValue(field.value) else { continue }
                    headers.append(HTTPField(name: name, value: field.value))
                }
                let response = try await client.execute(
                    uri: "/f/\(iteration % endpoints.count)", method: .post, headers: headers,
                    body: ByteBuffer(bytes: fuzzer.body()))
                counts[response.status.code, default: 0] += 1
                if iteration % 200 == 0 { await Task.yield() }
            }
            return counts
        }
        #expect(statuses.keys.allSatisfy { !(200..<300).contains($0) }, "\(statuses)")
        #expect(statuses.values.reduce(0, +) == total)
        #expect(sink.events.isEmpty)
    }

    @Test func mutatedRequestsOverARealSocketGetNo2xxWithAChangedBody() async throws {
        let cases = try Self.genuine().filter { $0.0.config.scheme != "slack" || !$0.0.body.hasPrefix("token=") }
        let sink = LedgerInboxSink(ledger: InMemoryLedger())
        var endpoints: [WebhookEndpoint] = []
        for (index, pair) in cases.enumerated() {
            endpoints.append(WebhookEndpoint(adapter: "s\(index)", path: "/s/\(index)", verifier: pair.1, sink: sink))
        }
        // Each case's clock: the route pins `now` per adapter through its own options.
        let router = Router()
        for (index, pair) in cases.enumerated() {
            let now = Date(timeIntervalSince1970: Double(pair.0.now))
            try WebhookRoutes.register([endpoints[index]], on: router, options: WebhookRouteOptions(now: { now }))
        }
        let total = 2_000
        try await Application(router: router).test(.live) { client in
            var fuzzer = Fuzzer(seed: 0x5EED_0004)
            for iteration in 0..<total {
                let index = iteration % cases.count
                let (headers, body, bodyChanged) = fuzzer.mutate(
                    headers: cases[index].0.headerFields, body: Array(cases[index].0.body.utf8))
                var fields = HTTPFields()
                fields[.contentType] = "application/json"
                for field in headers {
                    guard let name = HTTPField.Name(field.name), HTTPField.isValidValue(field.value) else { continue }
                    fields.append(HTTPField(name: name, value: field.value))
                }
                let response = try await client.execute(
                    uri: "/s/\(index)", method: .post, headers: fields, body: ByteBuffer(bytes: body))
                if bodyChanged { #expect(!(200..<300).contains(response.status.code), "\(cases[index].0.name)") }
                if iteration % 100 == 0 { await Task.yield() }
            }
        }
    }
}
