import Foundation

/// What expressions read: one event, seen by one adapter.
public struct EvaluationContext: Sendable {
    public let event: Event
    public let adapterName: String
    public let adapterVersion: Int
    private let bodyValue: JSONValue

    public init(event: Event, adapterName: String, adapterVersion: Int) {
        self.event = event
        self.adapterName = adapterName
        self.adapterVersion = adapterVersion
        self.bodyValue = event.body.expressionValue
    }

    /// The value of an expression after its filters.
    ///
    /// - Throws: ``MappingError/missingValue(path:found:)`` when the path has no value and no default.
    public func value(of expression: Expression) throws(MappingError) -> JSONValue {
        var value = resolve(expression)
        for filter in expression.filters {
            value = try apply(filter, to: value, path: expression.path)
        }
        guard let value else { throw .missingValue(path: expression.path, found: nil) }
        return value
    }

    /// The value of an expression as text for interpolation; null counts as missing there.
    public func text(of expression: Expression) throws(MappingError) -> String {
        let value = try value(of: expression)
        if case .null = value { throw .missingValue(path: expression.path, found: "null") }
        return value.interpolatedText
    }

    /// The raw value at the expression's path, before filters; nil when missing.
    public func resolve(_ expression: Expression) -> JSONValue? {
        let segments = expression.segments
        switch expression.root {
        case .body:
            return Self.walk(bodyValue, segments[...])
        case .headers:
            guard case .member(let name)? = segments.first else {
                return .object(Self.firstValues(event.headers.map { ($0.name.lowercased(), $0.value) }))
            }
            return event.headers[name].map(JSONValue.string)
        case .event:
            guard case .member(let field)? = segments.first else { return nil }
            if field == "extensions" {
                let extensions = event.cloudEvent?.extensions ?? [:]
                guard segments.count > 1 else {
                    return .object(JSONObject(extensions.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) }))
                }
                guard case .member(let name) = segments[1] else { return nil }
                return extensions[name].map(JSONValue.string)
            }
            return Self.walk(eventField(field), segments.dropFirst())
        case .kafka:
            guard case .kafka(let record) = event.origin, case .member(let field)? = segments.first else { return nil }
            switch field {
            case "topic": return .string(record.topic)
            case "partition": return .int(Int64(record.partition))
            case "offset": return .int(record.offset)
            case "key": return record.key.map { record.keyText.map(JSONValue.string) ?? .string(Base64.encode($0)) }
            case "timestamp": return record.timestamp.map { .string(Timestamp.format($0)) }
            default: return nil
            }
        case .webhook:
            guard case .webhook(let request) = event.origin, case .member(let field)? = segments.first else { return nil }
            switch field {
            case "path": return .string(request.path)
            case "query":
                guard segments.count > 1 else { return .object(Self.firstValues(request.query.map { ($0.name, $0.value) })) }
                guard case .member(let name) = segments[1] else { return nil }
                return request.query.first { $0.name == name }.map { .string($0.value) }
            default: return nil
            }
        case .adapter:
            guard case .member(let field)? = segments.first else { return nil }
            switch field {
            case "name": return .string(adapterName)
            case "version": return .int(Int64(adapterVersion))
            default: return nil
            }
        }
    }

    /// Name-value pairs as an object that keeps the first value of a repeated name, as `headers.NAME` and
    /// `webhook.query.NAME` do.
    private static func firstValues(_ pairs: [(String, String)]) -> JSONObject {
        var seen = Set<String>()
        var members: [JSONObject.Member] = []
        for (name, value) in pairs where seen.insert(name).inserted { members.append(.init(key: name, value: .string(value))) }
        return JSONObject(uniqueMembers: members)
    }

    private func eventField(_ field: String) -> JSONValue? {
        switch field {
        case "id": return .string(event.id)
        case "type": return event.type.map(JSONValue.string)
        case "key": return event.key.map(JSONValue.string)
        case "convention": return .string(event.convention.rawValue)
        case "received_at": return .string(Timestamp.format(event.receivedAt))
        case "position": return .string(event.position.description)
        case "source": return .string(event.cloudEvent?.source ?? event.source)
        case "specversion", "subject", "time", "datacontenttype", "dataschema":
            return event.cloudEvent?.attribute(field).map(JSONValue.string)
        default: return nil
        }
    }

    private static func walk(_ start: JSONValue?, _ segments: ArraySlice<Expression.Segment>) -> JSONValue? {
        var current = start
        for segment in segments {
            guard let value = current else { return nil }
            switch (segment, value) {
            case (.member(let name), .object(let object)): current = object[name]
            case (.index(let index), .array(let array)): current = index < array.count ? array[index] : nil
            default: return nil
            }
        }
        return current
    }

    private func apply(_ filter: Expression.Filter, to value: JSONValue?, path: String) throws(MappingError)
        -> JSONValue?
    {
        if case .default(let fallback) = filter {
            if let value, value != .null { return value }
            return fallback
        }
        guard let value else { return nil }
        switch filter {
        case .json: return .string(JSONWriter.string(value))
        case .string: return .string(value.interpolatedText)
        case .default: return value
        case .lower, .upper, .trim, .sha256:
            let text: String
            switch value {
            case .string(let string): text = string
            case .int, .double, .exactNumber, .bool: text = value.interpolatedText
            default: throw .filterFailed(filter: filter.name, path: path, found: "\(value.typeName)")
            }
            switch filter {
            case .lower: return .string(text.lowercased())
            case .upper: return .string(text.uppercased())
            case .trim: return .string(text.trimmingCharacters(in: .whitespacesAndNewlines))
            default: return .string(Digest.sha256Hex(text))
            }
        }
    }
}
