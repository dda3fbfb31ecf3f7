import Foundation
import SluiceCore
import SluiceWebhooks
import Testing

/// Every scheme against deliveries signed by the provider's own library (see `Fixtures/make_fixtures.py`).
@Suite struct VerifierFixtureTests {
    @Test(arguments: VerificationFixture.schemes)
    func fixturesGiveTheExpectedVerdict(scheme: String) throws {
        let fixture = try VerificationFixture.load(scheme)
        #expect(fixture.cases.count >= 7)
        for testCase in fixture.cases {
            let verdict = try testCase.run()
            #expect(verdict == testCase.expect, "\(scheme): \(testCase.name)")
        }
    }

    @Test func everyRejectionReasonIsCovered() throws {
        let expected = Set(try VerificationFixture.allCases().map(\.expect))
        let reasons = Set(VerificationFailure.Reason.allCases.map(\.rawValue))
        #expect(reasons.isSubset(of: expected))
        #expect(expected.contains("verified"))
    }

    @Test(arguments: VerificationFixture.schemes)
    func everyTimestampedSchemeRejectsBothDirections(scheme: String) throws {
        let cases = try VerificationFixture.load(scheme).cases
        let timestamped = cases.contains { $0.expect == "stale_timestamp" }
        #expect(timestamped == cases.contains { $0.expect == "future_timestamp" })
        if ["stripe", "slack", "standard-webhooks"].contains(scheme) { #expect(timestamped) }
    }

    /// A malformed signature beside a well-formed one that matches cannot match itself, as in the providers' own
    /// libraries: the delivery is verified. Alone, it is still `bad_format`.
    @Test(arguments: [
        ("stripe", "Stripe-Signature", ",v1=zz00"),
        ("standard-webhooks", "webhook-signature", " v1,@@@@"),
        ("standard-webhooks", "webhook-signature", " v1a,AAAA"),
        ("standard-webhooks", "webhook-signature", " noversion"),
    ])
    func aMalformedSignatureBesideAMatchingOneIsIgnored(scheme: String, header: String, extra: String) throws {
        let genuine = try #require(VerificationFixture.load(scheme).cases.first { $0.expect == "verified" })
        var withExtra = genuine
        withExtra.headers = genuine.headers.map { $0[0] == header ? [$0[0], $0[1] + extra] : $0 }
        #expect(withExtra.headers != genuine.headers)
        #expect(try withExtra.run() == "verified")
        var alone = genuine
        alone.headers = genuine.headers.map { field in
            guard field[0] == header else { return field }
            // Stripe's header keeps its timestamp; the extra entry stands alone.
            let kept = scheme == "stripe" ? String(field[1].prefix { $0 != "," }) : ""
            return [field[0], kept + (scheme == "stripe" ? extra : String(extra.dropFirst()))]
        }
        #expect(try alone.run() == "bad_format", "\(alone.headers)")
    }

    @Test func failuresNeverNameASecret() throws {
        for testCase in try VerificationFixture.allCases() {
            let verifier = try testCase.makeVerifier()
            do {
                try verifier.verify(
                    headers: testCase.headerFields, body: Array(testCase.body.utf8),
                    now: Date(timeIntervalSince1970: Double(testCase.now)))
            } catch {
                for secret in testCase.config.secrets {
                    #expect(!error.detail.contains(secret), "\(testCase.name)")
                }
                for header in testCase.headers where header[1].count > 8 {
                    #expect(!error.detail.contains(header[1]), "\(testCase.name) echoes a header value")
                }
            }
        }
    }
}
