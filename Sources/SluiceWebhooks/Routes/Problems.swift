import HTTPTypes
import SluiceCore

/// The problems the webhook routes answer with.
enum Problems {
    static let missingContentType = Problem(
        .unsupportedMediaType, slug: "missing-content-type", title: "Missing Content-Type",
        detail: "the request has no Content-Type header")

    static let unsupportedMediaType = Problem(
        .unsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
        detail: "this route does not accept the request's Content-Type")

    static func body(_ failure: BodyReader.Failure) -> Problem {
        switch failure {
        case .tooLarge(let limit):
            Problem(
                .contentTooLarge, slug: "payload-too-large", title: "Payload too large",
                detail: "the body is larger than \(limit) bytes", extra: .of(["limit": .int(Int64(limit))]))
        case .timedOut(let after):
            Problem(
                .requestTimeout, slug: "body-timeout", title: "Request body timed out",
                detail: "the body did not arrive within \(Problem.seconds(after)) s")
        case .broken:
            Problem(.badRequest, slug: "body-unreadable", title: "Unreadable body", detail: "the body could not be read")
        case .busy(let budget):
            Problem(
                .serviceUnavailable, slug: "busy-reading", title: "Service unavailable",
                detail: "other request bodies being read hold the server's \(budget) bytes for them; nothing was stored, retry",
                retryAfter: .seconds(1))
        }
    }

    static func unverified(_ failure: VerificationFailure) -> Problem {
        Problem(
            .unauthorized, slug: "verification-failed", title: "Verification failed", detail: failure.detail,
            extra: .of(["reason": .string(failure.reason.rawValue)]))
    }

    static func invalidEvent(_ error: EventError) -> Problem {
        Problem(.badRequest, slug: "invalid-event", title: "Invalid event", detail: String(describing: error))
    }

    static func saturated(_ retryAfter: Duration) -> Problem {
        Problem(
            .tooManyRequests, slug: "saturated", title: "Too many requests",
            detail: "the adapter's boundary is full; nothing was stored, retry later", retryAfter: retryAfter)
    }

    static func tooLargeToStore(_ reason: String) -> Problem {
        Problem(
            .contentTooLarge, slug: "payload-too-large", title: "Payload too large",
            detail: "the delivery is too large to store: \(reason); nothing was acknowledged")
    }

    static func unavailable(_ reason: String, retryAfter: Duration?) -> Problem {
        Problem(
            .serviceUnavailable, slug: "unavailable", title: "Service unavailable",
            detail: "the delivery could not be stored: \(reason); nothing was acknowledged", retryAfter: retryAfter)
    }
}
