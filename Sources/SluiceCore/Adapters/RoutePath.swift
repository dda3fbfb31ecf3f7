/// An HTTP route's path as Sluice's router matches it: a webhook's `path`, `metrics.path`.
///
/// The router leaves empty segments out (`/webhooks//stripe/` is `/webhooks/stripe`), and reads some segments as
/// patterns (`:name`, `{name}`, `*`, `**`). Two paths that read alike would be one route, and the router stops the
/// process when a route is registered twice; a pattern would take requests meant for other routes. So a route's
/// path is compared in its normal form, and patterns are refused.
public enum RoutePath {
    /// The characters a segment may hold: RFC 3986's unreserved and sub-delimiters, `:` and `@`, and `%` when it
    /// starts a percent-encoded byte (the router matches the path as sent, still encoded); no pattern braces or
    /// stars.
    static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()+,;=:@%")

    /// The operations routes (`GET`): the status page, liveness and readiness.
    public static let operations: Set<String> = ["/", "/healthz", "/readyz"]

    /// Whether every `%` of `segment` is followed by two hex digits.
    private static func isPercentEncodedWhole(_ segment: Substring) -> Bool {
        var rest = segment[...]
        while let percent = rest.firstIndex(of: "%") {
            let digits = rest[rest.index(after: percent)...].prefix(2)
            guard digits.count == 2, digits.allSatisfy(\.isHexDigit) else { return false }
            rest = rest[digits.endIndex...]
        }
        return true
    }

    /// `text` with its empty segments left out, or why it cannot be a route's path.
    ///
    /// - Throws: a message for people, such as "a path segment cannot start with ':' (a route pattern)".
    public static func normalised(_ text: String) throws(ValueProblem) -> String {
        guard text.hasPrefix("/") else { throw ValueProblem("a path starts with '/'") }
        let segments = text.split(separator: "/")
        for segment in segments {
            if let bad = segment.first(where: { !allowed.contains($0) }) {
                throw ValueProblem("'\(bad)' is not allowed in a path (letters, digits, %XX and - . _ ~ ! $ & ' ( ) + , ; = : @)")
            }
            if segment.hasPrefix(":") { throw ValueProblem("a path segment cannot start with ':' (a route pattern)") }
            if !isPercentEncodedWhole(segment) { throw ValueProblem("'%' starts a percent-encoded byte (%XX, two hex digits)") }
        }
        return "/" + segments.joined(separator: "/")
    }
}
