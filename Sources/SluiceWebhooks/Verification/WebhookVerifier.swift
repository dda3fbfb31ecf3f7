public import Foundation
public import SluiceCore

/// Checks that a webhook delivery was sent by who the adapter trusts: one type per scheme.
///
/// A verifier sees the headers and the raw body exactly as they arrived, and the current time (so
/// that tests pin it). It never says which of several secrets came close, and compares in constant time.
public protocol WebhookVerifier: Sendable {
    /// The scheme, for metrics and logs.
    var scheme: VerifySpec.Scheme { get }

    /// Headers that carry a signature or a token: the route strips them before the delivery is stored.
    var credentialHeaders: [String] { get }

    /// Verifies one delivery.
    ///
    /// - Throws: ``VerificationFailure`` naming what is wrong (never which secret was tried).
    func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure)
}

/// Why a delivery failed verification. Answered as `401`, counted by ``reason``.
public struct VerificationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reasons, low-cardinality, used as the metric dimension.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case missingHeader = "missing_header"
        case badFormat = "bad_format"
        case staleTimestamp = "stale_timestamp"
        case futureTimestamp = "future_timestamp"
        case noMatchingSignature = "no_matching_signature"
    }

    public var reason: Reason
    /// A sentence for the problem body; names headers, never secrets or signature values.
    public var detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }

    static func missing(_ header: String) -> Self { .init(.missingHeader, "the \(header) header is missing") }
    static func malformed(_ header: String, _ why: String) -> Self {
        .init(.badFormat, "the \(header) header is malformed: \(why)")
    }
    static let noMatch = Self(.noMatchingSignature, "no signature matches a configured secret")
}
