import Foundation
import SluiceCore
import SluiceWebhooks
import Testing

@Suite struct VerifierConfigurationTests {
    @Test func signingSchemesNeedASecret() {
        for scheme in VerifySpec.Scheme.allCases where scheme != .none {
            #expect(throws: WebhookConfigurationError.noSecrets(scheme: scheme.rawValue)) {
                _ = try WebhookVerifiers.make(scheme: scheme, secrets: [], header: "X-Sig")
            }
        }
        #expect(throws: Never.self) { _ = try WebhookVerifiers.make(scheme: .none, secrets: []) }
    }

    @Test func genericHMACNeedsAHeaderAndKnownOptions() {
        let secrets = [Secret("k")]
        #expect(throws: WebhookConfigurationError.missingOption(name: "header", scheme: "hmac")) {
            _ = try WebhookVerifiers.make(scheme: .hmac, secrets: secrets)
        }
        #expect(throws: WebhookConfigurationError.self) {
            _ = try WebhookVerifiers.make(scheme: .hmac, secrets: secrets, header: "X-Sig", algorithm: "md5")
        }
        #expect(throws: WebhookConfigurationError.self) {
            _ = try WebhookVerifiers.make(scheme: .hmac, secrets: secrets, header: "X-Sig", encoding: "base32")
        }
    }

    @Test func standardWebhooksSecretsMustDecode() {
        #expect(throws: WebhookConfigurationError.self) {
            _ = try WebhookVerifiers.make(scheme: .standardWebhooks, secrets: [Secret("whsec_%%%")])
        }
        #expect(throws: WebhookConfigurationError.self) {
            _ = try WebhookVerifiers.make(scheme: .standardWebhooks, secrets: [Secret("whpk_AAAA")])
        }
        do {
            _ = try WebhookVerifiers.make(scheme: .standardWebhooks, secrets: [Secret("whsec_%%%")])
        } catch {
            #expect(!error.description.contains("%%%"))
        }
    }

    @Test func verifiersNameTheHeadersToStrip() throws {
        let stripe = try WebhookVerifiers.make(scheme: .stripe, secrets: [Secret("whsec_x")])
        #expect(stripe.credentialHeaders == ["Stripe-Signature"])
        let hmac = try WebhookVerifiers.make(scheme: .hmac, secrets: [Secret("x")], header: "X-Acme-Sig")
        #expect(hmac.credentialHeaders == ["X-Acme-Sig"])
        let bearer = try WebhookVerifiers.make(scheme: .bearer, secrets: [Secret("x")])
        #expect(bearer.credentialHeaders == ["Authorization"])
    }
}
