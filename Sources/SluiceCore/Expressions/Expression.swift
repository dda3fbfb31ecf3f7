/// A parsed `${...}` expression: a field path followed by filters, such as
/// `${body.data.object.currency | upper}`.
///
/// Expressions are parsed once, when an adapter is compiled; evaluating one walks the parsed form.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// Where the path starts.
    public enum Root: String, Sendable, Hashable, CaseIterable {
        /// `event.id`, `event.type`, `event.source`, `event.key`, CloudEvents attributes…
        case event
        /// The body (JSON), or its text when it is not JSON.
        case body
        /// Headers, by name without regard to case.
        case headers
        /// `kafka.topic`, `kafka.partition`, `kafka.offset`, `kafka.key`, `kafka.timestamp`.
        case kafka
        /// `webhook.path`, `webhook.query.NAME`.
        case webhook
        /// `adapter.name`, `adapter.version`.
        case adapter
    }

    /// One step of a path: a member name or an array index.
    public enum Segment: Sendable, Hashable {
        case member(String)
        case index(Int)
    }

    /// A filter applied with `|`.
    public enum Filter: Sendable, Hashable {
        case lower
        case upper
        case trim
        case sha256
        case json
        case string
        case `default`(JSONValue)

        /// The filter's name, as written.
        public var name: String {
            switch self {
            case .lower: "lower"
            case .upper: "upper"
            case .trim: "trim"
            case .sha256: "sha256"
            case .json: "json"
            case .string: "string"
            case .default: "default"
            }
        }

        /// Every filter name, for error messages.
        public static let names = ["lower", "upper", "trim", "sha256", "json", "string", "default"]
    }

    public var root: Root
    public var segments: [Segment]
    public var filters: [Filter]

    public init(root: Root, segments: [Segment], filters: [Filter] = []) {
        self.root = root
        self.segments = segments
        self.filters = filters
    }

    /// The path as written, for error messages: `body.items[0].id`.
    public var path: String {
        var text = root.rawValue
        for segment in segments {
            switch segment {
            case .member(let name): text += "." + name
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// Whether a `default(...)` filter makes a missing value acceptable.
    public var hasDefault: Bool {
        filters.contains { if case .default = $0 { true } else { false } }
    }

    public var description: String {
        var text = "${" + path
        for filter in filters {
            if case .default(let value) = filter {
                text += " | default(\(JSONWriter.string(value)))"
            } else {
                text += " | " + filter.name
            }
        }
        return text + "}"
    }
}
