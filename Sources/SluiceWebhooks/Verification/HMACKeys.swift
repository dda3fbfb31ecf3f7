import Crypto
import SluiceCore

/// The HMAC hash functions the schemes use.
public enum HMACAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha256
    case sha512
}

/// Signing keys prepared once from the configured secrets.
///
/// Each key is kept as an HMAC already keyed (its inner and outer pads hashed), and every request
/// starts from a copy of it: swift-crypto's digest state is copy-on-write, so the copy is cheap and the
/// key schedule runs once per secret, not once per request.
struct HMACKeys: Sendable {
    private enum Keyed: Sendable {
        case sha256(HMAC<SHA256>)
        case sha512(HMAC<SHA512>)

        init(key: SymmetricKey, algorithm: HMACAlgorithm) {
            switch algorithm {
            case .sha256: self = .sha256(HMAC(key: key))
            case .sha512: self = .sha512(HMAC(key: key))
            }
        }

        func mac(_ parts: [[UInt8]]) -> [UInt8] {
            switch self {
            case .sha256(let start): Self.authenticate(start, parts)
            case .sha512(let start): Self.authenticate(start, parts)
            }
        }

        private static func authenticate<H: HashFunction>(_ start: HMAC<H>, _ parts: [[UInt8]]) -> [UInt8] {
            var hmac = start
            for part in parts { hmac.update(data: part) }
            return Array(hmac.finalize())
        }
    }

    private let keyed: [Keyed]

    /// Keys whose bytes are the secrets' UTF-8 text (Stripe, GitHub, Shopify, Slack, generic HMAC).
    init(secrets: [Secret], algorithm: HMACAlgorithm = .sha256) {
        self.init(keys: secrets.map { SymmetricKey(data: $0.bytes) }, algorithm: algorithm)
    }

    init(keys: [SymmetricKey], algorithm: HMACAlgorithm = .sha256) {
        self.keyed = keys.map { Keyed(key: $0, algorithm: algorithm) }
    }

    /// The expected MAC under every key, in configuration order.
    func macs(_ parts: [[UInt8]]) -> [[UInt8]] {
        keyed.map { $0.mac(parts) }
    }

    /// Whether any candidate signature is the MAC of `parts` under any key.
    func matches(any candidates: [[UInt8]], over parts: [[UInt8]]) -> Bool {
        ConstantTime.anyEqual(candidates, macs(parts))
    }
}
