public import Foundation
public import SluiceCore

/// Turns answers that are not outcomes (proxies, auth middleware, overload, size limits) into
/// classified ``EngineError``s, the same way for every engine.
public enum ResponseClassifier {
    /// The error for an answer that carries no outcome.
    ///
    /// - 401, 403 → fatal (`unauthorized`, `forbidden`): every call would fail the same way.
    /// - 408, 429, 5xx → retryable (`timeout`, `rate_limited`, `server_error`/`unavailable`), with
    ///   `Retry-After` read as seconds or an HTTP date.
    /// - 404 `namespace_not_found`, 404 without a reason (no such route) and 405 → fatal `configuration`.
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
        switch status {
        case 401: return .fatal("unauthorized", detail, statusCode: status)
        case 403: return .fatal("forbidden", detail, statusCode: status)
        case 408: return .retryable("timeout", detail, retryAfter: retryAfter, statusCode: status)
        case 429: return .retryable(bodyReason ?? "rate_limited", detail, retryAfter: retryAfter, statusCode: status)
        case 502, 503, 504:
            return .retryable(bodyReason ?? "unavailable", detail, retryAfter: retryAfter, statusCode: status)
        case 500...599: return .retryable("server_error", detail, retryAfter: retryAfter, statusCode: status)
        case 404 where bodyReason == "namespace_not_found":
            return .fatal("configuration", "namespace not found: \(detail)", statusCode: status)
        case 404 where bodyReason == nil || bodyReason == "not_found", 405:
            return .fatal("configuration", "the engine has no such route; check the engine URL: \(detail)", statusCode: status)
        case 200...299:
            return .nonRetryable("malformed_response", "an answer Sluice cannot read: \(response.bodyExcerpt)", statusCode: status)
        default:
            return .nonRetryable(bodyReason ?? "http_\(status)", detail, statusCode: status)
        }
    }
}
