public import SluiceCore

/// Builds the verifier an adapter's `verify` block asks for.
public enum WebhookVerifiers {
    /// The verifier for a compiled adapter's verification settings.
    ///
    /// - Throws: ``WebhookConfigurationError`` for a missing or empty secret, an unknown algorithm or encoding,
    ///   or a malformed Standard Webhooks secret: a bad route fails at start-up.
    public static func make(_ verification: CompiledAdapter.Verification) throws(WebhookConfigurationError)
        -> any WebhookVerifier
    {
        try make(
            scheme: verification.scheme, secrets: verification.secrets, tolerance: verification.tolerance,
            header: verification.header, algorithm: verification.algorithm, encoding: verification.encoding,
            prefix: verification.prefix, timestampHeader: verification.timestampHeader)
    }

    /// The verifier for these settings, spelled out (the defaults are the adapter compiler's).
    ///
    /// - Throws: ``WebhookConfigurationError`` as ``make(_:)`` does.
    public static func make(
        scheme: VerifySpec.Scheme, secrets: [Secret], tolerance: Duration = CompiledAdapter.Verification.defaultTolerance,
        header: String? = nil, algorithm: String = "sha256", encoding: String = "hex", prefix: String = "",
        timestampHeader: String? = nil
    ) throws(WebhookConfigurationError) -> any WebhookVerifier {
        if scheme != .none && secrets.isEmpty { throw .noSecrets(scheme: scheme.rawValue) }
        // An HMAC key may be empty as far as the algorithm goes, and then anyone can sign: an unset or blank
        // variable or file must stop the start, not open the route.
        if scheme != .none, let empty = secrets.firstIndex(where: { $0.bytes.isEmpty }) {
            throw .invalidSecret(index: empty, "it is empty (a blank variable or file?), and anyone could sign with it")
        }
        switch scheme {
        case .stripe: return StripeVerifier(secrets: secrets, tolerance: tolerance)
        case .github: return GitHubVerifier(secrets: secrets)
        case .shopify: return ShopifyVerifier(secrets: secrets)
        case .slack: return SlackVerifier(secrets: secrets, tolerance: tolerance)
        case .standardWebhooks: return try StandardWebhooksVerifier(secrets: secrets, tolerance: tolerance)
        case .bearer: return BearerTokenVerifier(tokens: secrets)
        case .none: return UnverifiedVerifier()
        case .hmac:
            guard let header = header, !header.isEmpty else {
                throw .missingOption(name: "header", scheme: "hmac")
            }
            guard let algorithm = HMACAlgorithm(rawValue: algorithm.lowercased()) else {
                throw .invalidOption(
                    name: "algorithm", value: algorithm, expected: HMACAlgorithm.allCases.map(\.rawValue))
            }
            guard let encoding = SignatureEncoding(rawValue: encoding.lowercased()) else {
                throw .invalidOption(
                    name: "encoding", value: encoding,
                    expected: SignatureEncoding.allCases.map(\.rawValue))
            }
            return GenericHMACVerifier(
                secrets: secrets, header: header, algorithm: algorithm, encoding: encoding, prefix: prefix,
                timestampHeader: timestampHeader, tolerance: tolerance)
        }
    }
}
