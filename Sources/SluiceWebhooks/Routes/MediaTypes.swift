import Foundation

/// The media types a route accepts: exact (`application/json`) or with a wildcard subtype prefix
/// (`application/*+json` accepts `application/vnd.acme+json`).
public struct MediaTypes: Sendable, Hashable {
    let patterns: [(type: String, subtype: String)]

    public init(_ patterns: [String]) {
        self.patterns = patterns.compactMap { pattern in
            let parts = pattern.lowercased().split(separator: "/", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }

    public static func == (lhs: MediaTypes, rhs: MediaTypes) -> Bool {
        lhs.patterns.elementsEqual(rhs.patterns) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for pattern in patterns {
            hasher.combine(pattern.type)
            hasher.combine(pattern.subtype)
        }
    }

    /// Whether a `Content-Type` value (parameters such as `charset` ignored) is accepted.
    public func accepts(_ contentType: String) -> Bool {
        let essence = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        let parts = essence.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return false }
        let type = parts[0]
        let subtype = parts[1]
        return patterns.contains { pattern in
            guard pattern.type == "*" || pattern.type == type else { return false }
            if pattern.subtype == "*" || pattern.subtype == subtype { return true }
            if pattern.subtype.hasPrefix("*") { return subtype.hasSuffix(pattern.subtype.dropFirst()) }
            return false
        }
    }
}
