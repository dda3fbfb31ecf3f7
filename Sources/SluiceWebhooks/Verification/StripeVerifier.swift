public import Foundation
public import SluiceCore

/// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 over `"<t>.<body>"`, keyed by
/// the UTF-8 of the whole `whsec_…` secret (not base64-decoded). `v0` and unknown elements are ignored.
public struct StripeVerifier: WebhookVerifier {
    public static let header = "Stripe-Signature"

    public var scheme: VerifySpec.Scheme { .stripe }
    public var credentialHeaders: [String] { [Self.header] }

    let keys: HMACKeys
    let window: TimestampWindow

    public init(secrets: [Secret], tolerance: Duration = CompiledAdapter.Verification.defaultTolerance) {
        self.keys = HMACKeys(secrets: secrets)
        self.window = TimestampWindow(tolerance: tolerance)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[Self.header] else { throw .missing(Self.header) }
        var timestamp: Substring?
        var signatures: [[UInt8]] = []
        // A malformed v1 among well-formed ones is one that cannot match, as in Stripe's own libraries.
        var malformed: String?
        for element in value.split(separator: ",", maxSplits: 64) {
            let pair = element.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces)
            if name == "t" {
                timestamp = pair[1]
            } else if name == "v1" {
                guard let bytes = Hex.decode(pair[1]), bytes.count == 32 else {
                    malformed = "a v1 signature is not 64 hex digits"
                    continue
                }
                signatures.append(bytes)
            }
        }
        guard let timestamp else { throw .malformed(Self.header, "no t= element") }
        let seconds = try TimestampWindow.parseSeconds(timestamp, header: Self.header)
        guard !signatures.isEmpty else { throw .malformed(Self.header, malformed ?? "no v1 signature") }
        guard keys.matches(any: signatures, over: [Array(timestamp.utf8), [UInt8(ascii: ".")], body]) else {
            throw .noMatch
        }
        try window.check(seconds, now: now)
    }
}
