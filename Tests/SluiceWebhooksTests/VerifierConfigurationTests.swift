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

    /// `STRIPE_WEBHOOK_SECRET=` left blank resolves to an empty secret: with an empty HMAC key anyone can
    /// sign, so every signing scheme refuses it at start-up, naming the secret by position only.
    @Test func anEmptySecretIsRefusedForEverySigningScheme() {
        for scheme in VerifySpec.Scheme.allCases where scheme != .none {
            #expect(throws: WebhookConfigurationError.self) {
                _ = try WebhookVerifiers.make(scheme: scheme, secrets: [Secret("whsec_c2VjcmV0"), Secret("")], header: "X-Sig")
            }
            do {
                _ = try WebhookVerifiers.make(scheme: scheme, secrets: [Secret("")], header: "X-Sig")
                Issue.record("\(scheme) accepted an empty secret")
            } catch {
                guard case .invalidSecret(let index, let why) = error else {
                    Issue.record("\(scheme): \(error)")
                    continue
                }
                #expect(index == 0)
                #expect(why.contains("empty"))
            }
        }
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
