/// A value from an adapter file with its `${...}` expressions parsed: the compiled form of a target
/// field, an input or a key.
///
/// A string that is exactly one `${...}` yields the expression's JSON value itself (an object, an
/// array, a number); any other string with expressions is interpolated text. `$${` writes a literal
/// `${`. Arrays and objects are templates member by member.
public indirect enum Template: Sendable, Hashable {
    case literal(JSONValue)
    case expression(Expression)
    case interpolation([Part])
    case array([Template])
    case object([Member])

    /// A piece of interpolated text.
    public enum Part: Sendable, Hashable {
        case text(String)
        case expression(Expression)
    }

    /// A member of an object template.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: Template
    }

    /// Compiles a value whose strings may hold expressions.
    public static func compile(_ value: JSONValue) throws(ExpressionError) -> Template {
        switch value {
        case .string(let text): return try compile(text)
        case .array(let elements):
            var templates: [Template] = []
            for element in elements { templates.append(try compile(element)) }
            // Rebuilt from the compiled literals, not `value`: an escaped `$${` inside is `${` once compiled.
            let literals = templates.compactMap { if case .literal(let literal) = $0 { literal } else { nil } }
            if literals.count == templates.count { return .literal(.array(literals)) }
            return .array(templates)
        case .object(let object):
            var members: [Member] = []
            for member in object { members.append(Member(key: member.key, value: try compile(member.value))) }
            let literals = members.compactMap { member -> JSONObject.Member? in
                if case .literal(let literal) = member.value { .init(key: member.key, value: literal) } else { nil }
            }
            if literals.count == members.count { return .literal(.object(JSONObject(literals))) }
            return .object(members)
        default: return .literal(value)
        }
    }

    /// Compiles one string.
    public static func compile(_ text: String) throws(ExpressionError) -> Template {
        guard text.contains("${") else { return .literal(.string(text)) }
        let scalars = Array(text.unicodeScalars)
        var parts: [Part] = []
        var literal = ""
        var index = 0
        while index < scalars.count {
            if scalars[index] == "$", index + 2 < scalars.count, scalars[index + 1] == "$", scalars[index + 2] == "{" {
                literal += "${"
                index += 3
                continue
            }
            guard scalars[index] == "$", index + 1 < scalars.count, scalars[index + 1] == "{" else {
                literal.unicodeScalars.append(scalars[index])
                index += 1
                continue
            }
            let bodyStart = index + 2
            guard let end = closingBrace(in: scalars, from: bodyStart) else {
                throw ExpressionError("unterminated '${': add the closing '}'", offset: index)
            }
            var body = ""
            body.unicodeScalars.append(contentsOf: scalars[bodyStart..<end])
            if !literal.isEmpty {
                parts.append(.text(literal))
                literal = ""
            }
            parts.append(.expression(try ExpressionParser.parse(body, baseOffset: bodyStart)))
            index = end + 1
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        if parts.count == 1, case .expression(let expression) = parts[0] { return .expression(expression) }
        if parts.allSatisfy({ if case .text = $0 { true } else { false } }) {
            return .literal(.string(parts.map { if case .text(let t) = $0 { t } else { "" } }.joined()))
        }
        return .interpolation(parts)
    }

    /// The index of the `}` closing an expression, skipping quoted text.
    private static func closingBrace(in scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var quote: Unicode.Scalar?
        var index = start
        while index < scalars.count {
            let scalar = scalars[index]
            if let open = quote {
                if scalar == "\\" { index += 1 } else if scalar == open { quote = nil }
            } else if scalar == "\"" || scalar == "'" {
                quote = scalar
            } else if scalar == "}" {
                return index
            }
            index += 1
        }
        return nil
    }

    /// Every expression in the template, in order.
    public var expressions: [Expression] {
        switch self {
        case .literal: []
        case .expression(let expression): [expression]
        case .interpolation(let parts): parts.compactMap { if case .expression(let e) = $0 { e } else { nil } }
        case .array(let elements): elements.flatMap(\.expressions)
        case .object(let members): members.flatMap(\.value.expressions)
        }
    }

    /// Whether the template is a constant.
    public var isLiteral: Bool {
        if case .literal = self { true } else { false }
    }
}

extension Template {
    /// Evaluates the template against an event.
    ///
    /// - Throws: ``MappingError`` when a path is missing (and has no default) or a filter cannot apply.
    public func evaluate(in context: EvaluationContext) throws(MappingError) -> JSONValue {
        switch self {
        case .literal(let value): return value
        case .expression(let expression): return try context.value(of: expression)
        case .interpolation(let parts):
            var text = ""
            for part in parts {
                switch part {
                case .text(let literal): text += literal
                case .expression(let expression): text += try context.text(of: expression)
                }
            }
            return .string(text)
        case .array(let elements):
            var values: [JSONValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try element.evaluate(in: context)) }
            return .array(values)
        case .object(let members):
            var values: [JSONObject.Member] = []
            values.reserveCapacity(members.count)
            for member in members {
                values.append(JSONObject.Member(key: member.key, value: try member.value.evaluate(in: context)))
            }
            return .object(JSONObject(uniqueMembers: values))
        }
    }

    /// Evaluates the template to text: strings as they are, numbers and booleans as written.
    ///
    /// `field` names the field in the error; it is built only when one is thrown.
    ///
    /// - Throws: ``MappingError`` when the value is missing, null, an object or an array.
    public func evaluateText(
        in context: EvaluationContext, field: @autoclosure () -> String
    ) throws(MappingError) -> String {
        let value = try evaluate(in: context)
        switch value {
        case .string(let text): return text
        case .int, .double, .exactNumber, .bool: return value.interpolatedText
        default: throw .wrongType(field: field(), expected: "text", found: value.typeName)
        }
    }
}
