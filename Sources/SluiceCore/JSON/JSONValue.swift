import Foundation

/// A JSON value that keeps the order of object members and tells integers from doubles.
///
/// A number a double cannot hold exactly is kept as the text it was written with (``exactNumber(_:)``),
/// never rounded: an integer too large for 64 bits (a 20-digit id in a body must not become the same
/// idempotency key as its neighbours, nor reach the engine changed), and a fraction of more than 17
/// significant digits, more than any double has (`1.234567890123456789`, an amount in wei).
///
/// Sluice reads event bodies, builds engine requests and writes outcomes as `JSONValue`s. Objects keep
/// their members in the order they were parsed or built, so that what Sluice sends is byte-for-byte
/// predictable (golden files, the engine's wire fixtures). Equality of objects ignores member order,
/// as JSON's does.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// A number as its JSON text: an integer outside `Int64`'s range, or a fraction or exponent of more than 17
    /// significant digits (more than any double has).
    case exactNumber(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    /// The member named `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The object, when this is an object.
    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The integer, when this is an integer (or a double with an exact integer value).
    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        default: return nil
        }
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int, .double, .exactNumber: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value as text for interpolation: strings as they are, everything else as compact JSON.
    public var interpolatedText: String {
        if case .string(let string) = self { return string }
        return JSONWriter.string(self)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral,
    ExpressibleByFloatLiteral
{
    /// The number written as `text` when it is a JSON integer (`-?(0|[1-9][0-9]*)`): `.int` when it
    /// fits in 64 bits, ``exactNumber(_:)`` otherwise; nil for any other text.
    public static func integer(text: some StringProtocol) -> JSONValue? {
        if let int = Int64(text) { return .int(int) }
        let digits = text.utf8.first == UInt8(ascii: "-") ? text.utf8.dropFirst() : text.utf8[...]
        guard let first = digits.first, first != UInt8(ascii: "0"),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return .exactNumber(String(text))
    }

    /// The number written as `text` when it is a JSON number: ``integer(text:)`` for an integer; for a fraction or
    /// an exponent, `.double` when it has at most 17 significant digits (every double's shortest text has at most
    /// 17, so what Sluice writes reads back as the same double; a text of 16 or 17 digits that no double has is
    /// read as the nearest one), ``exactNumber(_:)`` when it has more; nil for text that is no JSON number or a
    /// double's range cannot hold.
    public static func number(text: some StringProtocol) -> JSONValue? {
        if let integer = integer(text: text) { return integer }
        // The parser's own grammar, for the number alone: no whitespace around it, no other value.
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? false }
        let text = String(text)
        guard text.utf8.first == UInt8(ascii: "-") || isDigit(text.utf8.first), isDigit(text.utf8.last) else { return nil }
        return try? JSONParser.parse(text)
    }

    /// A JSON number with a fraction or an exponent, whose mantissa has `significantDigits`: `.double`, or
    /// ``exactNumber(_:)`` past 17 digits; nil when a double's range cannot hold it.
    static func fraction(text: String, significantDigits: Int) -> JSONValue? {
        guard let double = Double(text), double.isFinite else { return nil }
        return significantDigits > 17 ? .exactNumber(text) : .double(double)
    }

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { JSONWriter.string(self) }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            self = .int(int)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            let dictionary = try container.decode([String: JSONValue].self)
            self = .object(JSONObject(dictionary.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) }))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .exactNumber(let digits):
            // Foundation's `Decimal` holds 38 digits and is encoded as a number; longer ones are text.
            if digits.utf8.count(where: { $0 != UInt8(ascii: "-") }) <= 38, let decimal = Decimal(string: digits) { try container.encode(decimal) } else {
                try container.encode(digits)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let object):
            try container.encode(Dictionary(object.members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }))
        }
    }
}
