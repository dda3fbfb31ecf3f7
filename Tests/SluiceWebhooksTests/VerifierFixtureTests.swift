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
