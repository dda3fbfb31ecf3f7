import SluiceCore

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
        let essence = MediaType.essence(of: contentType)
        guard let slash = essence.utf8.firstIndex(of: UInt8(ascii: "/")) else { return false }
        let type = essence[..<slash]
        let subtype = essence[essence.utf8.index(after: slash)...]
        guard !type.isEmpty, !subtype.isEmpty else { return false }
        return patterns.contains { pattern in
            guard pattern.type == "*" || pattern.type == type else { return false }
            if pattern.subtype == "*" || pattern.subtype == subtype { return true }
            if pattern.subtype.hasPrefix("*") { return subtype.hasSuffix(pattern.subtype.dropFirst()) }
            return false
        }
    }
}
