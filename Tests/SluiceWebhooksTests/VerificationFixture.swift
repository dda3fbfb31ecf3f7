import Foundation
import SluiceCore
import SluiceWebhooks

/// One fixture file written by `Fixtures/make_fixtures.py`.
struct VerificationFixture: Decodable {
    struct Config: Decodable {
        var scheme: String
        var secrets: [String]
        var toleranceSeconds: Int
        var header: String?
        var algorithm: String?
        var encoding: String?
        var prefix: String?
        var timestampHeader: String?
    }

    struct Case: Decodable, CustomStringConvertible {
        var name: String
        var config: Config
        var now: Int
        var headers: [[String]]
        var body: String
        var expect: String

        var description: String { name }

        var headerFields: HeaderFields {
            HeaderFields(headers.map { HeaderFields.Field(name: $0[0], value: $0[1]) })
        }

        func makeVerifier() throws -> any WebhookVerifier {
            guard let scheme = VerifySpec.Scheme(rawValue: config.scheme) else {
                throw FixtureError("unknown scheme \(config.scheme)")
            }
            return try WebhookVerifiers.make(
                scheme: scheme, secrets: config.secrets.map(Secret.init), tolerance: .seconds(config.toleranceSeconds),
                header: config.header, algorithm: config.algorithm ?? "sha256", encoding: config.encoding ?? "hex",
                prefix: config.prefix ?? "", timestampHeader: config.timestampHeader)
        }

        /// "verified" or the failure's reason.
        func run() throws -> String {
            let verifier = try makeVerifier()
            do {
                try verifier.verify(
                    headers: headerFields, body: Array(body.utf8), now: Date(timeIntervalSince1970: Double(now)))
                return "verified"
            } catch {
                return error.reason.rawValue
            }
        }
    }

    var scheme: String
    var cases: [Case]

    static let schemes = ["stripe", "github", "shopify", "slack", "standard-webhooks", "hmac", "bearer"]

    static func load(_ scheme: String) throws -> VerificationFixture {
        guard
            let url = Bundle.module.url(
                forResource: scheme, withExtension: "json", subdirectory: "Fixtures/verification")
        else { throw FixtureError("no fixture for \(scheme)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(VerificationFixture.self, from: Data(contentsOf: url))
    }

    static func allCases() throws -> [Case] {
        try schemes.flatMap { try load($0).cases }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
