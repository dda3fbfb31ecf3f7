/// A strict, fast JSON parser (RFC 8259) producing ``JSONValue``s that keep member order.
///
/// Integers that fit in 64 bits become `.int`, larger integers and fractions of more than 17 significant digits
/// `.exactNumber` (their text, unrounded),
/// every other number `.double`. Nesting is limited to
/// ``maximumDepth`` levels so that hostile input cannot exhaust the stack. Duplicate keys keep the
/// last value, as most parsers do.
public struct JSONParser {
    /// The deepest nesting accepted.
    public static let maximumDepth = 256

    /// The deepest nesting of JSON Sluice wrote itself around values it parsed (a dead letter's commands hold an
    /// event's body inside `[{"input": [...]}]`): what Sluice writes must parse again.
    public static let storedDepth = maximumDepth + 16

    /// Why a text is not JSON, with the byte offset where parsing stopped.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses a complete JSON text, nested at most `maximumDepth` levels.
    public static func parse(_ text: String, maximumDepth: Int = maximumDepth) throws(Error) -> JSONValue {
        var copy = text
        return try copy.withUTF8 { buffer in Result { () throws(Error) in try parse(buffer, maximumDepth: maximumDepth) } }.get()
    }

    /// Parses a complete JSON text from UTF-8 bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws(Error) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            Result { () throws(Error) in try parse(buffer) }
        }) {
            return try result.get()
        }
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in Result { () throws(Error) in try parse(buffer) } }.get()
    }

    /// Parses a complete JSON text from a buffer of UTF-8 bytes, nested at most `maximumDepth` levels.
    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int = maximumDepth) throws(Error) -> JSONValue {
        var parser = Cursor(bytes: buffer, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }
}

extension JSONParser {
    fileprivate struct Cursor {
        /// Members or elements reserved when a non-empty object or array starts; longer ones grow as usual.
        static let initialCapacity = 8

        /// An object or array of fewer members than this is copied to a buffer of its size, so that a body of
        /// many tiny objects (`[{"a":1},{"a":1},…]`) takes no more memory than growing from empty gave it;
        /// others keep at most twice the room that growing would have given them.
        static let shrinkBelow = 3

        static func fitted<Element>(_ elements: [Element]) -> [Element] {
            // Copied through a buffer pointer: `Array(elements[...])` would share the reserved buffer.
            elements.count < shrinkBelow ? elements.withUnsafeBufferPointer { Array($0) } : elements
        }

        let bytes: UnsafeBufferPointer<UInt8>
        let maximumDepth: Int
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        func error(_ message: String) -> Error { Error(message: message, offset: index) }

        var isAtEnd: Bool { index >= bytes.count }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        mutating func parseValue(depth: Int) throws(Error) -> JSONValue {
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth)") }
            guard !isAtEnd else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            default: throw error("unexpected character")
            }
        }

        mutating func expectLiteral(_ literal: StaticString) throws(Error) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("invalid literal") }
            let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
            for offset in 0..<count where bytes[index + offset] != expected[offset] {
                throw error("invalid literal")
            }
            index += count
        }

        mutating func parseObject(depth: Int) throws(Error) -> JSONValue {
            index += 1
            skipWhitespace()
            if !isAtEnd, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(uniqueMembers: []))
            }
            // Room for a typical event object at once: growing from empty reallocates three or four times
            // (normalise + map of a 2 KB Stripe event: 5–8 % faster with the reservation).
            var members: [JSONObject.Member] = []
            members.reserveCapacity(Self.initialCapacity)
            var hasDuplicates = false
            // Past a few members, seen keys are hashed: scanning the members for each new key is quadratic, and a
            // 2 MiB body of 100,000 keys would cost minutes of CPU.
            var seen: Set<String> = []
            while true {
                skipWhitespace()
                guard !isAtEnd, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let key = try parseString()
                skipWhitespace()
                guard !isAtEnd, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                if !hasDuplicates {
                    if members.count < JSONObject.linearLookupLimit {
                        hasDuplicates = members.contains { $0.key == key }
                    } else {
                        if seen.isEmpty { seen = Set(members.lazy.map(\.key)) }
                        hasDuplicates = !seen.insert(key).inserted
                    }
                }
                members.append(JSONObject.Member(key: key, value: value))
                skipWhitespace()
                guard !isAtEnd else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                } else {
                    throw error("expected ',' or '}'")
                }
            }
            return .object(hasDuplicates ? JSONObject(members) : JSONObject(uniqueMembers: Self.fitted(members)))
        }

        mutating func parseArray(depth: Int) throws(Error) -> JSONValue {
            index += 1
            skipWhitespace()
            if !isAtEnd, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array([])
            }
            var elements: [JSONValue] = []
            elements.reserveCapacity(Self.initialCapacity)
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard !isAtEnd else { throw error("unterminated array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    break
                } else {
                    throw error("expected ',' or ']'")
                }
            }
            return .array(Self.fitted(elements))
        }

        mutating func parseString() throws(Error) -> String {
            index += 1
            let start = index
            var ascii = true
            // Fast path: no escapes. ASCII text needs no validation (the generic validating initialiser
            // costs a metadata lookup per string, which showed in profiles of the Kafka source).
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    let string: String
                    if ascii {
                        string = String(decoding: slice, as: UTF8.self)
                    } else {
                        guard let valid = String(validating: slice, as: UTF8.self) else {
                            throw error("invalid UTF-8 in string")
                        }
                        string = valid
                    }
                    index += 1
                    return string
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw error("control character in string") }
                if byte >= 0x80 { ascii = false }
                index += 1
            }
            var scratch = Array(bytes[start..<index])
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let string = String(validating: scratch, as: UTF8.self) else {
                        throw error("invalid UTF-8 in string")
                    }
                    return string
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("unterminated escape") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escaped)
                    case UInt8(ascii: "b"): scratch.append(0x08)
                    case UInt8(ascii: "f"): scratch.append(0x0C)
                    case UInt8(ascii: "n"): scratch.append(0x0A)
                    case UInt8(ascii: "r"): scratch.append(0x0D)
                    case UInt8(ascii: "t"): scratch.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try parseHex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw error("unpaired surrogate") }
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error("unpaired surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
                        scratch.append(contentsOf: UTF8.encode(unicode)!)
                    default:
                        throw error("invalid escape")
                    }
                default:
                    guard byte >= 0x20 else { throw error("control character in string") }
                    scratch.append(byte)
                    index += 1
                }
            }
        }

        mutating func parseHex4() throws(Error) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("truncated unicode escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error("invalid unicode escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func parseNumber() throws(Error) -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { throw error("invalid number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[index]) {
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            } else {
                throw error("invalid number")
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                let digitsStart = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digitsStart else { throw error("invalid number") }
            }
            let mantissaEnd = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                let digitsStart = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digitsStart else { throw error("invalid number") }
            }
            // An integer of up to 18 digits fits an Int64 whatever they are: read from the bytes, with no text made.
            let negative = bytes[start] == UInt8(ascii: "-")
            if isInteger, index - start - (negative ? 1 : 0) <= 18 {
                var magnitude: Int64 = 0
                for digit in bytes[(negative ? start + 1 : start)..<index] {
                    magnitude = magnitude * 10 + Int64(digit &- UInt8(ascii: "0"))
                }
                return .int(negative ? -magnitude : magnitude)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let integer = JSONValue.integer(text: text) { return integer }
            let significant = JSONParser.significantDigits(ofMantissa: UnsafeBufferPointer(rebasing: bytes[start..<mantissaEnd]))
            guard let number = JSONValue.fraction(text: text, significantDigits: significant) else { throw error("number out of range") }
            return number
        }
    }
}

extension JSONParser {
    /// The significant digits of a number's mantissa already checked (`-?digits(.digits)?`): leading and trailing
    /// zeros left out, so `0.000120` has 2.
    static func significantDigits(ofMantissa mantissa: some Collection<UInt8>) -> Int {
        var position = 0
        var first = -1
        var last = 0
        for byte in mantissa where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
            if byte != UInt8(ascii: "0") {
                if first < 0 { first = position }
                last = position
            }
            position += 1
        }
        return first < 0 ? 0 : last - first + 1
    }
}
