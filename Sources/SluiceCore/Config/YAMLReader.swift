import Yams

/// Reads a YAML document node by node and collects every problem, with its line, column and key,
/// instead of stopping at the first one.
struct YAMLReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    /// Where each key's value starts, by key path, for problems found after reading.
    private(set) var locations: [String: SourceLocation] = [:]

    /// How many YAML nodes ``json(_:key:)`` has converted in this file: aliases share nodes, so a few hundred bytes
    /// of anchors repeated inside anchors expand to billions of values.
    private var convertedNodes = 0
    /// The most nodes one file's values may expand to: at least ``convertedNodeLimit``, and the file's size in bytes
    /// (a node written out takes a byte at least, so only aliases can reach it).
    private var nodeLimit = Self.convertedNodeLimit
    static let convertedNodeLimit = 100_000

    init(file: String) {
        self.file = file
    }

    /// The members of a mapping node, in order.
    struct Members {
        var entries: [(name: String, keyNode: Node, value: Node)]

        subscript(name: String) -> Node? {
            entries.first { $0.name == name }?.value
        }
    }

    /// Parses a YAML text into its root node, reporting a syntax error precisely.
    mutating func root(of text: String) -> Node? {
        nodeLimit = max(Self.convertedNodeLimit, text.utf8.count)
        do {
            guard let node = try Yams.compose(yaml: text) else {
                report("the file is empty", line: 1, column: 1, key: "")
                return nil
            }
            return node
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                report("invalid YAML: \(problem)", line: mark.line, column: mark.column, key: "")
            case .duplicatedKeysInMapping(let duplicates, let context):
                report(
                    "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in mapping",
                    line: context.mark.line, column: context.mark.column, key: "")
            default:
                report("invalid YAML: \(error)", line: 1, column: 1, key: "")
            }
            return nil
        } catch {
            report("invalid YAML: \(error)", line: 1, column: 1, key: "")
            return nil
        }
    }

    mutating func report(_ message: String, line: Int, column: Int, key: String, severity: Diagnostic.Severity = .error) {
        diagnostics.append(
            Diagnostic(severity: severity, file: file, line: line, column: column, key: key, message: message))
    }

    mutating func report(_ message: String, at node: Node?, key: String, severity: Diagnostic.Severity = .error) {
        let mark = node?.mark
        report(message, line: mark?.line ?? 1, column: mark?.column ?? 1, key: key, severity: severity)
    }

    /// Records where a node starts, under its key path.
    mutating func remember(_ node: Node, key: String) {
        if let mark = node.mark { locations[key] = SourceLocation(line: mark.line, column: mark.column) }
    }

    static func path(_ base: String, _ member: String) -> String {
        base.isEmpty ? member : base + "." + member
    }

    static func path(_ base: String, index: Int) -> String {
        base + "[\(index)]"
    }

    /// The members of a mapping, after checking that it is one, that its keys are known (with a
    /// "did you mean" for near misses) and that required keys are present.
    mutating func members(_ node: Node, key: String, allowed: [String], required: [String] = []) -> Members? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping with keys \(allowed.joined(separator: ", ")), found \(describe(node))", at: node, key: key)
            return nil
        }
        var entries: [(name: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                report("keys must be plain text", at: keyNode, key: key)
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                report(
                    "unknown key '\(name)'" + Suggestions.didYouMean(name, in: allowed)
                        + " (known keys: \(allowed.joined(separator: ", ")))",
                    at: keyNode, key: Self.path(key, name))
                continue
            }
            entries.append((name, keyNode, value))
            remember(value, key: Self.path(key, name))
        }
        for name in required where !mapping.keys.contains(where: { $0.string == name }) {
            report("missing required key '\(name)'", at: node, key: Self.path(key, name))
        }
        return Members(entries: entries)
    }

    /// The members of a mapping whose keys are free-form (names of engines, headers…).
    mutating func freeMembers(_ node: Node, key: String) -> Members? {
        guard case .mapping(let mapping) = node else {
            report("expected a mapping, found \(describe(node))", at: node, key: key)
            return nil
        }
        var entries: [(name: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                report("keys must be plain text", at: keyNode, key: key)
                continue
            }
            entries.append((scalar.string, keyNode, value))
            remember(value, key: Self.path(key, scalar.string))
        }
        return Members(entries: entries)
    }

    mutating func string(_ node: Node, key: String) -> String? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report("expected text, found \(describe(node))", at: node, key: key)
            return nil
        }
        return scalar.string
    }

    mutating func nonEmptyString(_ node: Node, key: String) -> String? {
        guard let text = string(node, key: key) else { return nil }
        guard !text.isEmpty else {
            report("must not be empty", at: node, key: key)
            return nil
        }
        return text
    }

    mutating func int(_ node: Node, key: String, range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any, let value = Int(scalar.string)
        else {
            report("expected a whole number, found \(describe(node))", at: node, key: key)
            return nil
        }
        guard range.contains(value) else {
            report("must be between \(range.lowerBound) and \(range.upperBound), found \(value)", at: node, key: key)
            return nil
        }
        return value
    }

    mutating func double(_ node: Node, key: String, range: ClosedRange<Double>) -> Double? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any,
            let value = Double(scalar.string), value.isFinite
        else {
            report("expected a number, found \(describe(node))", at: node, key: key)
            return nil
        }
        guard range.contains(value) else {
            report("must be between \(range.lowerBound) and \(range.upperBound), found \(scalar.string)", at: node, key: key)
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, key: String) -> Bool? {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any, let value = node.bool
        else {
            report("expected true or false, found \(describe(node))", at: node, key: key)
            return nil
        }
        return value
    }

    mutating func duration(_ node: Node, key: String, minimum: Duration = .zero) -> Duration? {
        guard case .scalar(let scalar) = node, !isNull(node) else {
            report("expected a duration such as 200ms, 2s, 5m or 1h, found \(describe(node))", at: node, key: key)
            return nil
        }
        guard let duration = DurationText.parse(scalar.string) else {
            report(
                "'\(scalar.string)' is not a duration: write a number and a unit (ms, s, m, h), such as 200ms, 2s, 5m",
                at: node, key: key)
            return nil
        }
        guard duration >= minimum else {
            report("must be at least \(DurationText.format(minimum))", at: node, key: key)
            return nil
        }
        return duration
    }

    /// A list of strings; a single string counts as a list of one.
    mutating func stringList(_ node: Node, key: String) -> [String]? {
        switch node {
        case .scalar:
            return string(node, key: key).map { [$0] }
        case .sequence(let sequence):
            var values: [String] = []
            for (index, element) in sequence.enumerated() {
                if let value = string(element, key: Self.path(key, index: index)) { values.append(value) }
            }
            return values
        default:
            report("expected a list of text, found \(describe(node))", at: node, key: key)
            return nil
        }
    }

    /// One of a fixed set of words.
    mutating func choice<T: RawRepresentable>(_ node: Node, key: String, as type: T.Type) -> T?
    where T.RawValue == String, T: CaseIterable {
        guard let text = string(node, key: key) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        report(
            "'\(text)' is not one of \(names.joined(separator: ", "))" + Suggestions.didYouMean(text, in: names),
            at: node, key: key)
        return nil
    }

    /// Converts a YAML node to JSON: plain scalars become numbers, booleans and null as YAML 1.2's
    /// core schema reads them; quoted scalars are always text.
    mutating func json(_ node: Node, key: String) -> JSONValue? {
        json(node, key: key, depth: 0)
    }

    /// ``json(_:key:)`` at `depth` levels inside the value: deeper than JSON's own limit is refused (aliases nested in
    /// aliases reach any depth in a small file, and would exhaust the stack here and wherever the value goes).
    private mutating func json(_ node: Node, key: String, depth: Int) -> JSONValue? {
        guard depth <= JSONParser.maximumDepth else {
            report("the value is nested more than \(JSONParser.maximumDepth) levels deep", at: node, key: key)
            return nil
        }
        convertedNodes += 1
        guard convertedNodes <= nodeLimit else {
            if convertedNodes == nodeLimit + 1 {
                report(
                    "the values of this file expand to more than \(nodeLimit) YAML nodes; are aliases (*name) repeated inside aliases?",
                    at: node, key: key)
            }
            return nil
        }
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
            if isNull(node) { return .null }
            if let bool = node.bool, ["true", "false", "True", "False", "TRUE", "FALSE"].contains(scalar.string) {
                return .bool(bool)
            }
            if let number = JSONValue.number(text: scalar.string) { return number }
            if node.float != nil, let double = Double(scalar.string), double.isFinite { return .double(double) }
            return .string(scalar.string)
        case .sequence(let sequence):
            var values: [JSONValue] = []
            for (index, element) in sequence.enumerated() {
                guard let value = json(element, key: Self.path(key, index: index), depth: depth + 1) else { return nil }
                values.append(value)
            }
            return .array(values)
        case .mapping(let mapping):
            var members: [JSONObject.Member] = []
            for (keyNode, value) in mapping {
                guard case .scalar(let keyScalar) = keyNode else {
                    report("keys must be plain text", at: keyNode, key: key)
                    return nil
                }
                guard let converted = json(value, key: Self.path(key, keyScalar.string), depth: depth + 1) else { return nil }
                members.append(JSONObject.Member(key: keyScalar.string, value: converted))
            }
            return .object(JSONObject(members))
        case .alias:
            report("YAML aliases are not supported here", at: node, key: key)
            return nil
        }
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return "nothing" }
            let text = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
            return "'\(text)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
