public import Foundation
public import SluiceCore

/// Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 over the raw body keyed by the app's
/// client secret. No timestamp; replays are caught by the idempotency key (`X-Shopify-Webhook-Id`).
public struct ShopifyVerifier: WebhookVerifier {
    public static let header = "X-Shopify-Hmac-Sha256"

    public var scheme: VerifySpec.Scheme { .shopify }
    public var credentialHeaders: [String] { [Self.header] }

    let keys: HMACKeys

    public init(secrets: [Secret]) {
        self.keys = HMACKeys(secrets: secrets)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[Self.header] else { throw .missing(Self.header) }
        guard let signature = SignatureEncoding.base64.decode(Substring(value)), signature.count == 32 else {
            throw .malformed(Self.header, "the signature is not the base64 of 32 bytes")
        }
        guard keys.matches(any: [signature], over: [body]) else { throw .noMatch }
    }
}
