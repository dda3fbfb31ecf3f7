import Crypto
import SluiceCore

/// The HMAC hash functions the schemes use.
public enum HMACAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha256
    case sha512

    /// The MAC of `parts` (concatenated) under `key`.
    func mac(key: SymmetricKey, _ parts: [[UInt8]]) -> [UInt8] {
        switch self {
        case .sha256: Self.authenticate(HMAC<SHA256>(key: key), parts)
        case .sha512: Self.authenticate(HMAC<SHA512>(key: key), parts)
        }
    }

    private static func authenticate<H: HashFunction>(_ start: HMAC<H>, _ parts: [[UInt8]]) -> [UInt8] {
        var hmac = start
        for part in parts { hmac.update(data: part) }
        return Array(hmac.finalize())
    }
}

/// Signing keys prepared once from the configured secrets.
struct HMACKeys: Sendable {
    let keys: [SymmetricKey]
    let algorithm: HMACAlgorithm

    /// Keys whose bytes are the secrets' UTF-8 text (Stripe, GitHub, Shopify, Slack, generic HMAC).
    init(secrets: [Secret], algorithm: HMACAlgorithm = .sha256) {
        self.keys = secrets.map { SymmetricKey(data: $0.bytes) }
        self.algorithm = algorithm
    }

    init(keys: [SymmetricKey], algorithm: HMACAlgorithm = .sha256) {
        self.keys = keys
        self.algorithm = algorithm
    }

    /// The expected MAC under every key, in configuration order.
    func macs(_ parts: [[UInt8]]) -> [[UInt8]] {
        keys.map { algorithm.mac(key: $0, parts) }
    }

    /// Whether any candidate signature is the MAC of `parts` under any key.
    func matches(any candidates: [[UInt8]], over parts: [[UInt8]]) -> Bool {
        ConstantTime.anyEqual(candidates, macs(parts))
    }
}
