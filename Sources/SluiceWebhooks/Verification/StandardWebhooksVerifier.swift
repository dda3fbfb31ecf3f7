import Crypto
public import Foundation
public import SluiceCore

/// Standard Webhooks (and Svix): `webhook-id`, `webhook-timestamp` and `webhook-signature` holding
/// space-separated `v1,<base64>` (HMAC-SHA256) and `v1a,<base64>` (Ed25519) signatures over
/// `"<id>.<timestamp>.<body>"`. Unknown versions are ignored. Svix sends the same headers named `svix-id`,
/// `svix-timestamp` and `svix-signature` unless white-labelled: a delivery without `webhook-signature` is read
/// from those.
///
/// Secrets: `whsec_<base64>` (the HMAC key is the decoded bytes), `whpk_<base64>` (a 32-byte Ed25519
/// public key), or bare base64 (an HMAC key, as the reference libraries read it).
public struct StandardWebhooksVerifier: WebhookVerifier {
    public static let idHeader = "webhook-id"
    public static let timestampHeader = "webhook-timestamp"
    public static let signatureHeader = "webhook-signature"
    /// Svix's names for the same three headers.
    public static let svixIDHeader = "svix-id"
    public static let svixTimestampHeader = "svix-timestamp"
    public static let svixSignatureHeader = "svix-signature"

    public var scheme: VerifySpec.Scheme { .standardWebhooks }
    public var credentialHeaders: [String] { [Self.signatureHeader, Self.svixSignatureHeader] }

    /// The names of the id, timestamp and signature headers a delivery is verified with: Standard Webhooks'
    /// when it carries `webhook-signature`, else Svix's when it carries `svix-signature`.
    public static func headerNames(of headers: HeaderFields) -> (id: String, timestamp: String, signature: String) {
        if !headers.contains(signatureHeader), headers.contains(svixSignatureHeader) {
            return (svixIDHeader, svixTimestampHeader, svixSignatureHeader)
        }
        return (idHeader, timestampHeader, signatureHeader)
    }

    let keys: HMACKeys
    let publicKeys: [Curve25519.Signing.PublicKey]
    let window: TimestampWindow

    /// - Throws: ``WebhookConfigurationError`` when a secret is neither `whsec_`/base64 nor a `whpk_` key.
    public init(secrets: [Secret], tolerance: Duration = CompiledAdapter.Verification.defaultTolerance)
        throws(WebhookConfigurationError)
    {
        var symmetric: [SymmetricKey] = []
        var publicKeys: [Curve25519.Signing.PublicKey] = []
        for (index, secret) in secrets.enumerated() {
            let text = secret.text
            if text.hasPrefix("whpk_") {
                guard let raw = Base64.decode(String(text.dropFirst(5))),
                    let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
                else { throw .invalidSecret(index: index, "a whpk_ key must be the base64 of 32 bytes") }
                publicKeys.append(key)
            } else {
                let encoded = text.hasPrefix("whsec_") ? String(text.dropFirst(6)) : text
                guard let raw = Base64.decode(encoded), !raw.isEmpty else {
                    throw .invalidSecret(index: index, "a whsec_ secret must be base64 after the prefix")
                }
                symmetric.append(SymmetricKey(data: raw))
            }
        }
        self.keys = HMACKeys(keys: symmetric)
        self.publicKeys = publicKeys
        self.window = TimestampWindow(tolerance: tolerance)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        let names = Self.headerNames(of: headers)
        guard let id = headers[names.id] else { throw .missing(names.id) }
        guard let timestamp = headers[names.timestamp] else { throw .missing(names.timestamp) }
        guard let value = headers[names.signature] else { throw .missing(names.signature) }
        let seconds = try TimestampWindow.parseSeconds(Substring(timestamp), header: names.timestamp)
        var hmacSignatures: [[UInt8]] = []
        var edSignatures: [[UInt8]] = []
        let entries = value.split(separator: " ", maxSplits: 64)
        guard !entries.isEmpty else { throw .malformed(names.signature, "no signature") }
        // A malformed entry among well-formed ones is one that cannot match, as in the reference libraries.
        var malformed: String?
        for entry in entries {
            let parts = entry.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                malformed = "a signature has no version"
                continue
            }
            switch parts[0] {
            case "v1":
                guard let bytes = SignatureEncoding.base64.decode(parts[1]) else {
                    malformed = "a v1 signature is not base64"
                    continue
                }
                hmacSignatures.append(bytes)
            case "v1a":
                guard let bytes = SignatureEncoding.base64.decode(parts[1]), bytes.count == 64 else {
                    malformed = "a v1a signature is not the base64 of 64 bytes"
                    continue
                }
                edSignatures.append(bytes)
            default:
                continue
            }
        }
        if let malformed, hmacSignatures.isEmpty, edSignatures.isEmpty { throw .malformed(names.signature, malformed) }
        let signed = Array(id.utf8) + [UInt8(ascii: ".")] + Array(timestamp.utf8) + [UInt8(ascii: ".")] + body
        var matched = !hmacSignatures.isEmpty && keys.matches(any: hmacSignatures, over: [signed])
        for signature in edSignatures {
            for key in publicKeys {
                let valid = key.isValidSignature(signature, for: signed)
                matched = matched || valid
            }
        }
        guard matched else { throw .noMatch }
        try window.check(seconds, now: now)
    }
}
