import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceCore
import SluiceTesting
import SluiceWebhooks

enum RouteTestSupport {
    /// One route for a fixture case's configuration, with the clock pinned to the case's `now`.
    static func router(
        for testCase: VerificationFixture.Case, sink: any WebhookSink, adapter: String = "test",
        path: String = "/webhooks/test", maxBodyBytes: Int = 1 << 20, metrics: WebhookMetrics = WebhookMetrics()
    ) throws -> Router<BasicRequestContext> {
        let endpoint = WebhookEndpoint(
            adapter: adapter, path: path, verifier: try testCase.makeVerifier(), sink: sink, maxBodyBytes: maxBodyBytes)
        let now = Date(timeIntervalSince1970: Double(testCase.now))
        return try WebhookRoutes.buildRouter(
            [endpoint], options: WebhookRouteOptions(now: { now }), metrics: metrics)
    }

    static func headers(_ testCase: VerificationFixture.Case, contentType: String? = "application/json") -> HTTPFields {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        for pair in testCase.headers { fields.append(HTTPField(name: HTTPField.Name(pair[0])!, value: pair[1])) }
        return fields
    }

    static func fixtureCase(_ scheme: String, _ name: String) throws -> VerificationFixture.Case {
        guard let found = try VerificationFixture.load(scheme).cases.first(where: { $0.name == name }) else {
            throw FixtureError("no case '\(name)' in \(scheme)")
        }
        return found
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser.parse(Array(response.body.readableBytesView))
    }
}
