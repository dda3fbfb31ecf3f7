import Crypto
import Foundation
import SluiceCore

/// Signs `sluice dev`'s sample webhooks the way each provider does, with the secrets `sluice dev`
/// generated, so that the feed goes through the same verification as real deliveries.
struct DevSigner: Sendable {
    let scheme: VerifySpec.Scheme
    let secret: String

    /// The headers that sign `body` at `now` (replacing the sample's own signature headers).
    func headers(body: [UInt8], id: String, now: Date) -> [(String, String)] {
        let timestamp = String(Int64(now.timeIntervalSince1970))
        switch scheme {
        case .stripe:
            let mac = hmac(key: Array(secret.utf8), Array("\(timestamp).".utf8) + body)
            return [("Stripe-Signature", "t=\(timestamp),v1=\(hex(mac))")]
        case .github:
            return [("X-Hub-Signature-256", "sha256=" + hex(hmac(key: Array(secret.utf8), body)))]
        case .shopify:
            return [("X-Shopify-Hmac-Sha256", Data(hmac(key: Array(secret.utf8), body)).base64EncodedString())]
        case .slack:
            let mac = hmac(key: Array(secret.utf8), Array("v0:\(timestamp):".utf8) + body)
            return [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", "v0=" + hex(mac))]
        case .standardWebhooks:
            let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))).map(Array.init) ?? []
            let mac = hmac(key: key, Array("\(id).\(timestamp).".utf8) + body)
            return [
                ("webhook-id", id), ("webhook-timestamp", timestamp),
                ("webhook-signature", "v1," + Data(mac).base64EncodedString()),
            ]
        case .bearer:
            return [("Authorization", "Bearer " + secret)]
        case .hmac, .none:
            return []
        }
    }

    /// A fresh secret in the provider's format.
    static func makeSecret(for scheme: VerifySpec.Scheme) -> String {
        let bytes = (0..<24).map { _ in UInt8.random(in: .min ... .max) }
        switch scheme {
        case .stripe: return "whsec_" + hex(bytes)
        case .standardWebhooks: return "whsec_" + Data(bytes).base64EncodedString()
        default: return hex(bytes)
        }
    }

    private func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    private func hex(_ bytes: [UInt8]) -> String { Digest.hex(bytes) }

    private static func hex(_ bytes: [UInt8]) -> String { Digest.hex(bytes) }
}
