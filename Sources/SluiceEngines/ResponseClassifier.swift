public import Foundation
public import SluiceCore

/// Turns answers that are not outcomes (proxies, auth middleware, overload, size limits) into
/// classified ``EngineError``s, the same way for every engine.
public enum ResponseClassifier {
    /// The error for an answer that carries no outcome.
    ///
    /// - 401, 403 → fatal (`unauthorized`, `forbidden`): every call would fail the same way.
    /// - 408, 429, 5xx → retryable (`timeout`, `rate_limited`, `server_error`/`unavailable`), with
    ///   `Retry-After` read as seconds or an HTTP date; a 429 or 5xx whose body says `retryable: false` →
    ///   non-retryable, with the body's `reason`.
    /// - Answers that every call would get alike, because of how Sluice is set up rather than what it sends → fatal
    ///   `configuration`: a redirect (301, 302, 303, 307, 308: Sluice follows none, so an `http://` URL answered
    ///   with a redirect to `https://` fails every call), 404 `namespace_not_found`, 404 without a reason (no such
    ///   route), 405, 400 `missing_control_plane_version` / `unsupported_control_plane_version` (a proxy that
    ///   strips or rewrites Sluice's headers) and 415 (a proxy that rewrites the content type).
    /// - a 2xx whose body is not what the engine sends (not JSON, cut, a proxy's page) → retryable
    ///   `malformed_response`: the engine may have acted, and the retry reads its real answer.
    /// - other statuses → non-retryable, with the body's `reason` when it has one.
    ///
    /// - Parameters:
    ///   - response: the answer.
    ///   - now: the current time, for `Retry-After` dates.
    public static func error(for response: EngineHTTPResponse, now: Date = Date()) -> EngineError {
        let status = response.status
        let body = response.json
        let bodyReason = body?["reason"]?.stringValue
        let message = body?["message"]?.stringValue ?? response.bodyExcerpt
        let detail = message.isEmpty ? "HTTP \(status) with an empty body" : message
        let retryAfter = RetryAfter.parse(response.retryAfter, now: now)
            ?? body?["retry_after_seconds"]?.intValue.flatMap(RetryAfter.seconds)
        // The server says when waiting cannot help (`database_storage_exhausted`, a namespace quota): a 429 or 5xx
        // it marks `retryable: false` is not retried, which would only hold the event's place until retries ran out.
        if status == 429 || (500...599).contains(status), body?["retryable"]?.boolValue == false {
            return .nonRetryable(bodyReason ?? "http_\(status)", detail, statusCode: status)
        }
        switch status {
        case 401: return .fatal("unauthorized", detail, statusCode: status)
        case 403: return .fatal("forbidden", detail, statusCode: status)
        case 408: return .retryable("timeout", detail, retryAfter: retryAfter, statusCode: status)
        case 429: return .retryable(bodyReason ?? "rate_limited", detail, retryAfter: retryAfter, statusCode: status)
        case 502, 503, 504:
            return .retryable(bodyReason ?? "unavailable", detail, retryAfter: retryAfter, statusCode: status)
        case 500...599: return .retryable("server_error", detail, retryAfter: retryAfter, statusCode: status)
        case 301, 302, 303, 307, 308:
            let target = response.location.map { " to \($0)" } ?? ""
            return .fatal(
                "configuration", "the engine redirected\(target), and Sluice follows no redirect; set the engine URL to where it points",
                statusCode: status)
        case 400 where bodyReason == "missing_control_plane_version" || bodyReason == "unsupported_control_plane_version":
            return .fatal(
                "configuration",
                "the server did not get Sluice's X-Durable-Workflow-Control-Plane-Version header (a proxy in between may strip it): \(detail)",
                statusCode: status)
        case 415:
            return .fatal(
                "configuration",
                "the server refused the content type Sluice sends, application/json (a proxy in between may rewrite it): \(detail)",
                statusCode: status)
        case 404 where bodyReason == "namespace_not_found":
            return .fatal("configuration", "namespace not found: \(detail)", statusCode: status)
        case 404 where bodyReason == nil || bodyReason == "not_found", 405:
            return .fatal("configuration", "the engine has no such route; check the engine URL: \(detail)", statusCode: status)
        case 200...299:
            // The engine may have acted: a retry under the same idempotency key reads its true answer (often `duplicate`)
            // instead of recording a rejection for an effect that took place.
            return .retryable("malformed_response", "an answer Sluice cannot read: \(response.bodyExcerpt)", statusCode: status)
        default:
            return .nonRetryable(bodyReason ?? "http_\(status)", detail, statusCode: status)
        }
    }
}
