public import Foundation
public import SluiceCore

/// Any HMAC scheme: a signature header holding `<prefix><hex or base64>` of HMAC-SHA256 or -SHA512
/// over the raw body, or over `"<timestamp>.<body>"` when a timestamp header is configured (then the
/// timestamp must be inside the tolerance).
public struct GenericHMACVerifier: WebhookVerifier {
    public var scheme: VerifySpec.Scheme { .hmac }
    public var credentialHeaders: [String] { [header] }

    let header: String
    let prefix: String
    let encoding: SignatureEncoding
    let timestampHeader: String?
    let keys: HMACKeys
    let window: TimestampWindow

    public init(
        secrets: [Secret], header: String, algorithm: HMACAlgorithm = .sha256, encoding: SignatureEncoding = .hex,
        prefix: String = "", timestampHeader: String? = nil,
        tolerance: Duration = CompiledAdapter.Verification.defaultTolerance
    ) {
        self.header = header
        self.prefix = prefix
        self.encoding = encoding
        self.timestampHeader = timestampHeader
        self.keys = HMACKeys(secrets: secrets, algorithm: algorithm)
        self.window = TimestampWindow(tolerance: tolerance)
    }

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {
        guard let value = headers[header] else { throw .missing(header) }
        var seconds: Int64?
        var timestamp: String?
        if let timestampHeader {
            guard let text = headers[timestampHeader] else { throw .missing(timestampHeader) }
            seconds = try TimestampWindow.parseSeconds(Substring(text), header: timestampHeader)
            timestamp = text
        }
        guard value.hasPrefix(prefix) else { throw .malformed(header, "it does not start with the configured prefix") }
        guard let signature = encoding.decode(value.dropFirst(prefix.count)) else {
            throw .malformed(header, "the signature is not \(encoding.rawValue)")
        }
        var signed: [[UInt8]] = [body]
        if let timestamp { signed = [Array(timestamp.utf8), [UInt8(ascii: ".")], body] }
        guard keys.matches(any: [signature], over: signed) else { throw .noMatch }
        if let seconds { try window.check(seconds, now: now) }
    }
}
