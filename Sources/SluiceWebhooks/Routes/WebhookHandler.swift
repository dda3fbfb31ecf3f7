public import Hummingbird
import HTTPTypes
import Foundation
public import SluiceCore

/// The work of one webhook request: read the body within limits, check the media type, verify,
/// normalise into an ``Event``, hand it to the sink, and answer.
public struct WebhookHandler: Sendable {
    public let endpoint: WebhookEndpoint
    public let options: WebhookRouteOptions
    public let metrics: WebhookMetrics
    /// The scheme's credential headers and ``alwaysStripped``: removed before an event is stored.
    private let strippedHeaders: [String]

    /// Headers that may carry credentials whatever the scheme: never stored.
    static let alwaysStripped = ["Authorization", "Proxy-Authorization", "Cookie"]

    public init(endpoint: WebhookEndpoint, options: WebhookRouteOptions, metrics: WebhookMetrics) {
        self.endpoint = endpoint
        self.options = options
        self.metrics = metrics
        self.strippedHeaders = endpoint.verifier.credentialHeaders + Self.alwaysStripped
    }

    /// Answers one request; every failure is a problem response, never a thrown error.
    public func respond(to request: Request) async -> Response {
        let response: Response
        do {
            response = try await process(request)
        } catch let problem as Problem {
            response = problem.response
        } catch {
            response = Problem(
                .internalServerError, slug: "internal-error", title: "Internal error",
                detail: "the request could not be processed").response
        }
        metrics.recordRequest(adapter: endpoint.adapter, status: response.status.code)
        return response
    }

    private func process(_ request: Request) async throws -> Response {
        guard let contentType = request.headers.firstValue(.contentType) else { throw Problems.missingContentType }
        guard endpoint.contentTypes.accepts(contentType) else { throw Problems.unsupportedMediaType }
        let body: [UInt8]
        do {
            body = try await BodyReader.read(request, limit: endpoint.maxBodyBytes, budget: options.bodyBudget)
        } catch {
            throw Problems.body(error)
        }
        let headers = Self.headerFields(request.headers)
        let now = options.now()
        do {
            try endpoint.verifier.verify(headers: headers, body: body, now: now)
        } catch {
            metrics.recordVerificationFailure(adapter: endpoint.adapter, reason: error.reason)
            throw Problems.unverified(error)
        }
        if endpoint.verifier.scheme == .slack, let challenge = SlackChallenge.answer(body) {
            return .json(.ok, challenge)
        }
        let stored = Self.storedHeaders(headers, scheme: endpoint.verifier.scheme, stripped: strippedHeaders)
        let target = request.head.path ?? request.uri.path
        let event: Event
        do {
            event = try Event.webhook(
                source: endpoint.adapter, request: EventOrigin.WebhookRequest(target: target), headers: stored,
                body: body, receivedAt: now)
        } catch {
            throw Problems.invalidEvent(error)
        }
        let delivery = Delivery(adapter: endpoint.adapter, target: target, headers: stored, body: body, receivedAt: now)
        let started = ContinuousClock.now
        let acceptance = await endpoint.sink.accept(event, delivery: delivery)
        metrics.recordInboxLatency(adapter: endpoint.adapter, duration: ContinuousClock.now - started)
        return answer(acceptance)
    }

    private func answer(_ acceptance: WebhookAcceptance) -> Response {
        switch acceptance {
        case .accepted(let eventID, _):
            return .json(.accepted, ["event_id": .string(eventID), "adapter": .string(endpoint.adapter)])
        case .known(let outcome), .decided(let outcome):
            return .json(.ok, outcome.json)
        case .saturated(let retryAfter):
            metrics.recordAdmissionRefusal(adapter: endpoint.adapter, reason: "saturated")
            return Problems.saturated(retryAfter).response
        case .unavailable(let reason, let retryAfter):
            metrics.recordAdmissionRefusal(adapter: endpoint.adapter, reason: "unavailable")
            return Problems.unavailable(reason, retryAfter: retryAfter).response
        case .tooLarge(let reason):
            metrics.recordAdmissionRefusal(adapter: endpoint.adapter, reason: "too_large")
            return Problems.tooLargeToStore(reason).response
        }
    }

    /// Hummingbird's fields as Sluice's ordered, case-insensitive header list.
    static func headerFields(_ fields: HTTPFields) -> HeaderFields {
        HeaderFields(fields.map { HeaderFields.Field(name: $0.name.rawName, value: $0.value) })
    }

    /// Headers that give an event its id by another provider's convention (GitHub's and Shopify's delivery ids,
    /// Standard Webhooks' `webhook-id`, CloudEvents' `ce-*`), which outrank the body's.
    static let conventionIDHeaders = ["X-GitHub-Delivery", "X-Shopify-Webhook-Id", "webhook-id", "svix-id"]

    /// `headers` without the id headers of other conventions, for the schemes whose signature covers the
    /// event's own id or nothing but the body: Stripe and Slack sign the body (its `id`, `event_id`), Standard
    /// Webhooks signs the `webhook-id` (or Svix's `svix-id`) it was verified with, and a generic `hmac` signs
    /// the body (and a timestamp). None of those signatures covers a header of another convention, so a replay
    /// of a genuine delivery with `webhook-id: x1`, then `x2`, … would otherwise get a new idempotency key each
    /// time and pass the idempotency check inside the tolerance window. (GitHub's and Shopify's own delivery
    /// ids are unsigned by those providers' design, and are kept: they are how their redeliveries are told apart.)
    static func withoutForeignIDs(_ headers: HeaderFields, scheme: VerifySpec.Scheme) -> HeaderFields {
        let foreign: [String]
        switch scheme {
        case .stripe, .slack, .hmac: foreign = conventionIDHeaders
        case .standardWebhooks:
            let signedID = StandardWebhooksVerifier.headerNames(of: headers).id
            foreign = conventionIDHeaders.filter { $0 != signedID }
        default: return headers
        }
        return HeaderFields(
            headers.fields.filter { field in
                !field.name.lowercased().hasPrefix("ce-")
                    && !foreign.contains { HeaderFields.equalIgnoringCase($0, field.name) }
            })
    }

    /// A verified delivery's headers as its event and the inbox keep them: without other conventions' id headers
    /// (``withoutForeignIDs(_:scheme:)``), then without `stripped` (the scheme's credential headers and
    /// ``alwaysStripped``). Foreign ids first: which id header is signed depends on the credential headers.
    static func storedHeaders(_ headers: HeaderFields, scheme: VerifySpec.Scheme, stripped: [String]) -> HeaderFields {
        stripping(stripped, from: withoutForeignIDs(headers, scheme: scheme))
    }

    /// ``storedHeaders(_:scheme:stripped:)`` for a route's verification settings, without a verifier (its secrets
    /// may be unknown): what `sluice map` shows, so that its event is the one `sluice serve` would make.
    public static func storedHeaders(_ headers: HeaderFields, verification: CompiledAdapter.Verification) -> HeaderFields {
        // The credential headers are the scheme's, whatever the secret: a stand-in makes the verifier that names them.
        let standIn = [Secret("sluice-map")]
        let credentials =
            (try? WebhookVerifiers.make(
                scheme: verification.scheme, secrets: standIn, tolerance: verification.tolerance,
                header: verification.header, algorithm: verification.algorithm, encoding: verification.encoding,
                prefix: verification.prefix, timestampHeader: verification.timestampHeader))?.credentialHeaders ?? []
        return storedHeaders(headers, scheme: verification.scheme, stripped: credentials + alwaysStripped)
    }

    /// `headers` without any field named in `names`.
    static func stripping(_ names: [String], from headers: HeaderFields) -> HeaderFields {
        HeaderFields(
            headers.fields.filter { field in !names.contains { HeaderFields.equalIgnoringCase($0, field.name) } })
    }
}
