public import Foundation
public import SluiceCore

/// Slack: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 over `"v0:<X-Slack-Request-Timestamp>:<body>"`.
public struct SlackVerifier: WebhookVerifier {
    public static let signatureHeader = "X-Slack-Signature"
    public static let timestampHeader = "X-Slack-Request-Timestamp"

    public var scheme: VerifySpec.Scheme { .slack }
    public var credentialHeaders: [String] { [Self.signatureHeader] }

    let keys: HMACKeys
    let window: TimestampWindow

    public init(secrets: [Secret], tolerance: Duration = CompiledAdapter.Verification.defaultTolerance) {
        self.keys = HMACKeys(secrets: secrets)
        self.window = TimestampWindow(tolerance: tolerance)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[Self.signatureHeader] else { throw .missing(Self.signatureHeader) }
        guard let timestamp = headers[Self.timestampHeader] else { throw .missing(Self.timestampHeader) }
        let seconds = try TimestampWindow.parseSeconds(Substring(timestamp), header: Self.timestampHeader)
        guard value.hasPrefix("v0=") else { throw .malformed(Self.signatureHeader, "it does not start with v0=") }
        guard let signature = Hex.decode(value.dropFirst(3)), signature.count == 32 else {
            throw .malformed(Self.signatureHeader, "the signature is not 64 hex digits")
        }
        let signed: [[UInt8]] = [Array("v0:".utf8), Array(timestamp.utf8), [UInt8(ascii: ":")], body]
        guard keys.matches(any: [signature], over: signed) else { throw .noMatch }
        try window.check(seconds, now: now)
    }
}
