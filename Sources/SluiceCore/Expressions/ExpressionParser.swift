/// Parses the inside of `${...}`: `root.member[0]["odd key"] | filter | default("x")`.
struct ExpressionParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private let baseOffset: Int

    /// - Parameters:
    ///   - text: the text between `${` and `}`.
    ///   - baseOffset: where `text` starts in the template, for error offsets.
    init(_ text: String, baseOffset: Int = 0) {
        self.scalars = Array(text.unicodeScalars)
        self.baseOffset = baseOffset
    }

    static func parse(_ text: String, baseOffset: Int = 0) throws(ExpressionError) -> Expression {
        var parser = ExpressionParser(text, baseOffset: baseOffset)
        return try parser.parseExpression()
    }

    private func error(_ message: String) -> ExpressionError {
        ExpressionError(message, offset: baseOffset + index)
    }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private mutating func skipSpaces() {
        while let scalar = current, scalar == " " || scalar == "\t" { index += 1 }
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: false
        }
    }

    private mutating func parseName() -> String {
        var name = ""
        while let scalar = current, Self.isNameScalar(scalar) {
            name.unicodeScalars.append(scalar)
            index += 1
        }
        return name
    }

    mutating func parseExpression() throws(ExpressionError) -> Expression {
        skipSpaces()
        guard current != nil else { throw error("empty expression") }
        let rootName = parseName()
        guard !rootName.isEmpty else { throw error("expected a path such as body.id or event.type") }
        guard let root = Expression.Root(rawValue: rootName) else {
            let roots = Expression.Root.allCases.map(\.rawValue)
            throw ExpressionError(
                "unknown root '\(rootName)'" + Suggestions.didYouMean(rootName, in: roots)
                    + " (roots: \(roots.joined(separator: ", ")))",
                offset: baseOffset)
        }
        var segments: [Expression.Segment] = []
        while let scalar = current {
            if scalar == "." {
                index += 1
                let name = parseName()
                guard !name.isEmpty else { throw error("expected a name after '.'") }
                segments.append(.member(name))
            } else if scalar == "[" {
                index += 1
                skipSpaces()
                if current == "\"" || current == "'" {
                    segments.append(.member(try parseQuoted()))
                } else {
                    let digits = parseName()
                    guard let number = Int(digits), number >= 0, digits.allSatisfy(\.isNumber) else {
                        throw error("expected an array index or a quoted name inside [ ]")
                    }
                    segments.append(.index(number))
                }
                skipSpaces()
                guard current == "]" else { throw error("expected ']'") }
                index += 1
            } else {
                break
            }
        }
        try Self.checkFields(root: root, segments: segments, offset: baseOffset)
        var filters: [Expression.Filter] = []
        skipSpaces()
        while current == "|" {
            index += 1
            skipSpaces()
            filters.append(try parseFilter())
            skipSpaces()
        }
        guard current == nil else { throw error("unexpected '\(current!)' in expression") }
        return Expression(root: root, segments: segments, filters: filters)
    }

    private static let knownFields: [Expression.Root: [String]] = [
        .kafka: ["topic", "partition", "offset", "key", "timestamp"],
        .webhook: ["path", "query"],
        .adapter: ["name", "version"],
        .event: [
            "id", "type", "source", "subject", "time", "key", "convention", "received_at", "position", "specversion",
            "datacontenttype", "dataschema", "extensions",
        ],
    ]

    /// Rejects fields that can never exist, such as `kafka.topik`, when the adapter is compiled.
    private static func checkFields(
        root: Expression.Root, segments: [Expression.Segment], offset: Int
    ) throws(ExpressionError) {
        guard let known = knownFields[root] else {
            if root == .headers, segments.count > 1 {
                throw ExpressionError("a header has no members: write headers.NAME", offset: offset)
            }
            if root == .headers, case .index? = segments.first {
                throw ExpressionError("headers are found by name, not position: write headers.NAME", offset: offset)
            }
            return
        }
        guard case .member(let field)? = segments.first else {
            throw ExpressionError(
                "\(root.rawValue) needs a field: \(known.map { root.rawValue + "." + $0 }.joined(separator: ", "))",
                offset: offset)
        }
        guard known.contains(field) else {
            throw ExpressionError(
                "unknown field '\(root.rawValue).\(field)'" + Suggestions.didYouMean(field, in: known)
                    + " (fields: \(known.joined(separator: ", ")))",
                offset: offset)
        }
        let allowsMore = (root == .webhook && field == "query") || (root == .event && field == "extensions")
        if segments.count > (allowsMore ? 2 : 1) {
            throw ExpressionError("'\(root.rawValue).\(field)' has no members", offset: offset)
        }
    }

    private mutating func parseQuoted() throws(ExpressionError) -> String {
        let quote = current!
        index += 1
        var text = ""
        while let scalar = current {
            index += 1
            if scalar == quote { return text }
            if scalar == "\\" {
                guard let escaped = current else { break }
                index += 1
                text.unicodeScalars.append(escaped)
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        throw error("unterminated quoted text")
    }

    private mutating func parseFilter() throws(ExpressionError) -> Expression.Filter {
        let start = index
        let name = parseName()
        switch name {
        case "lower": return .lower
        case "upper": return .upper
        case "trim": return .trim
        case "sha256": return .sha256
        case "json": return .json
        case "string": return .string
        case "default":
            skipSpaces()
            guard current == "(" else { throw error("default needs a value: default(\"text\"), default(0), default(null)") }
            index += 1
            skipSpaces()
            let value = try parseLiteral()
            skipSpaces()
            guard current == ")" else { throw error("expected ')' after the default value") }
            index += 1
            return .default(value)
        case "":
            throw error("expected a filter name after '|'")
        default:
            index = start
            throw error(
                "unknown filter '\(name)'" + Suggestions.didYouMean(name, in: Expression.Filter.names)
                    + " (filters: \(Expression.Filter.names.joined(separator: ", ")))")
        }
    }

    private mutating func parseLiteral() throws(ExpressionError) -> JSONValue {
        guard let scalar = current else { throw error("expected a value") }
        if scalar == "\"" || scalar == "'" { return .string(try parseQuoted()) }
        var text = ""
        while let next = current, next != ")", next != " " {
            text.unicodeScalars.append(next)
            index += 1
        }
        switch text {
        case "null": return .null
        case "true": return .bool(true)
        case "false": return .bool(false)
        default:
            if let number = JSONValue.number(text: text) { return number }
            if let double = Double(text), double.isFinite { return .double(double) }
            throw error("expected a quoted string, a number, true, false or null, not '\(text)'")
        }
    }
}
