public import Foundation
public import SluiceCore

/// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the raw body. GitHub signs no
/// timestamp; replays are caught by the idempotency key (`X-GitHub-Delivery`).
public struct GitHubVerifier: WebhookVerifier {
    public static let header = "X-Hub-Signature-256"

    public var scheme: VerifySpec.Scheme { .github }
    /// Also the legacy SHA-1 header, which must not be stored either.
    public var credentialHeaders: [String] { [Self.header, "X-Hub-Signature"] }

    let keys: HMACKeys

    public init(secrets: [Secret]) {
        self.keys = HMACKeys(secrets: secrets)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[Self.header] else { throw .missing(Self.header) }
        guard value.hasPrefix("sha256=") else { throw .malformed(Self.header, "it does not start with sha256=") }
        guard let signature = Hex.decode(value.dropFirst(7)), signature.count == 32 else {
            throw .malformed(Self.header, "the signature is not 64 hex digits")
        }
        guard keys.matches(any: [signature], over: [body]) else { throw .noMatch }
    }
}
