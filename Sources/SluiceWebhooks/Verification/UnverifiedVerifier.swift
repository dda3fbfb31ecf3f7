public import Foundation
public import SluiceCore

/// `scheme: none`: every delivery passes. For trusted networks and local development only.
public struct UnverifiedVerifier: WebhookVerifier {
    public var scheme: VerifySpec.Scheme { .none }
    public var credentialHeaders: [String] { [] }

    public init() {}

    public func verify(headers: HeaderFields, body: [UInt8], now: Date) throws(VerificationFailure) {}
}
