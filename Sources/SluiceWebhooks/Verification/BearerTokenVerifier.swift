public import Foundation
public import SluiceCore

/// A static bearer token: `Authorization: Bearer <token>`, equal to one of the configured secrets.
public struct BearerTokenVerifier: WebhookVerifier {
    public static let header = "Authorization"

    public var scheme: VerifySpec.Scheme { .bearer }
    public var credentialHeaders: [String] { [Self.header] }

    let tokens: [[UInt8]]

    public init(tokens: [Secret]) {
        self.tokens = tokens.map(\.bytes)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[Self.header] else { throw .missing(Self.header) }
        guard let token = Self.bearerToken(value) else {
            throw .malformed(Self.header, "it is not a Bearer token")
        }
        guard ConstantTime.anyEqual([Array(token.utf8)], tokens) else {
            throw VerificationFailure(.noMatchingSignature, "the token matches no configured token")
        }
    }

    /// The token of `Bearer <token>` (scheme compared without case), or nil.
    static func bearerToken(_ value: String) -> Substring? {
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].drop { $0 == " " }
        return token.isEmpty ? nil : token
    }
}
