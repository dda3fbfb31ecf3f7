import Foundation
import SluiceCore

/// Seeded random requests and mutations for the fuzz tests.
struct Fuzzer {
    var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }

    /// Header names a verifier might look at, plus noise.
    static let headerNames = [
        "Stripe-Signature", "X-Hub-Signature-256", "X-Hub-Signature", "X-Shopify-Hmac-Sha256", "X-Slack-Signature",
        "X-Slack-Request-Timestamp", "webhook-id", "webhook-timestamp", "webhook-signature", "Authorization",
        "X-Signature", "X-Acme-Signature", "X-Acme-Timestamp", "X-GitHub-Delivery", "ce-specversion", "ce-id",
        "ce-source", "ce-type", "Content-Type", "X-Noise",
    ]

    /// Values that look like signatures, timestamps and tokens, and plain garbage.
    mutating func headerValue() -> String {
        switch int(0..<12) {
        case 0: return "t=\(int(0..<2_000_000_000)),v1=" + hex(int(0..<70))
        case 1: return "sha256=" + hex(int(60..<68))
        case 2: return "v0=" + hex(64)
        case 3: return "v1," + base64(int(0..<48)) + (chance(30) ? " v1a," + base64(64) : "")
        case 4: return String(int(0..<2_000_000_000))
        case 5: return "Bearer " + text(int(0..<40))
        case 6: return base64(32)
        case 7: return hex(int(0..<130))
        case 8: return ""
        case 9: return String(repeating: ",", count: int(0..<20)) + "=" + text(5)
        case 10: return "1.0"
        default: return text(int(0..<64))
        }
    }

    mutating func hex(_ count: Int) -> String {
        String((0..<count).map { _ in pick(Array("0123456789abcdefABCDEFg")) })
    }

    mutating func base64(_ bytes: Int) -> String {
        Base64.encode((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &random) })
    }

    mutating func text(_ count: Int) -> String {
        String((0..<count).map { _ in Character(Unicode.Scalar(UInt8(int(32..<127)))) })
    }

    mutating func body() -> [UInt8] {
        switch int(0..<5) {
        case 0: return []
        case 1: return Array(#"{"type":"order.created","data":{"id":"o-1","amount":42}}"#.utf8)
        case 2: return Array(#"{"type":"url_verification","challenge":"c"}"#.utf8)
        case 3: return (0..<int(0..<512)).map { _ in UInt8.random(in: 0...255, using: &random) }
        default: return Array(text(int(0..<256)).utf8)
        }
    }

    /// Random headers with no valid signature (values are random, so a match would be a forgery).
    mutating func unsignedHeaders() -> HeaderFields {
        var fields = HeaderFields()
        for _ in 0..<int(0..<8) { fields.append(name: pick(Self.headerNames), value: headerValue()) }
        return fields
    }

    /// A genuine request with one change: a byte of the body, a byte of a header value, a header
    /// removed, duplicated or replaced.
    mutating func mutate(headers: HeaderFields, body: [UInt8]) -> (HeaderFields, [UInt8], bodyChanged: Bool) {
        var fields = headers.fields
        var bytes = body
        switch int(0..<6) {
        case 0 where !bytes.isEmpty:
            let index = int(0..<bytes.count)
            bytes[index] ^= UInt8(int(1..<256))
        case 1 where !fields.isEmpty:
            let index = int(0..<fields.count)
            var value = Array(fields[index].value.utf8)
            if !value.isEmpty {
                value[int(0..<value.count)] = UInt8(int(32..<127))
                fields[index].value = String(decoding: value, as: UTF8.self)
            }
        case 2 where !fields.isEmpty:
            fields.remove(at: int(0..<fields.count))
        case 3 where !fields.isEmpty:
            fields[int(0..<fields.count)].value = headerValue()
        case 4:
            bytes.append(contentsOf: Array(text(int(1..<8)).utf8))
        default:
            fields.insert(HeaderFields.Field(name: pick(Self.headerNames), value: headerValue()), at: 0)
        }
        return (HeaderFields(fields), bytes, bytes != body)
    }
}
