/// Serialises ``JSONValue``s as compact or indented JSON text.
///
/// Members are written in their stored order; non-ASCII text is written as UTF-8 and `/` is not
/// escaped, as Python's `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` does, which is
/// what the engine's official client sends.
///
/// The text is built as UTF-8 bytes in one growing buffer (one allocation for most values): the
/// ledger serialises every outcome, so this is on the hot path.
public enum JSONWriter {
    /// The value as compact JSON text.
    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// The value as JSON indented by two spaces, for people to read.
    public static func prettyString(_ value: JSONValue) -> String {
        var output = Output(indent: Array("  ".utf8))
        output.write(value, level: 0)
        return String(decoding: output.bytes, as: UTF8.self)
    }

    /// The value as compact JSON UTF-8 bytes.
    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var output = Output(indent: nil)
        output.write(value, level: 0)
        return output.bytes
    }

    /// The growing UTF-8 text and how to indent it (nil: compact).
    struct Output {
        var bytes: [UInt8] = []
        let indent: [UInt8]?

        init(indent: [UInt8]?, capacity: Int = 256) {
            self.indent = indent
            bytes.reserveCapacity(capacity)
        }

        mutating func append(_ text: StaticString) {
            text.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        mutating func write(_ value: JSONValue, level: Int) {
            switch value {
            case .null: append("null")
            case .bool(let bool): bool ? append("true") : append("false")
            case .int(let int): writeInteger(int)
            case .double(let double):
                if double.isFinite { bytes.append(contentsOf: JSONWriter.formatDouble(double).utf8) } else { append("null") }
            case .exactNumber(let digits): bytes.append(contentsOf: digits.utf8)
            case .string(let string): writeString(string)
            case .array(let elements):
                guard !elements.isEmpty else { return append("[]") }
                bytes.append(UInt8(ascii: "["))
                for (offset, element) in elements.enumerated() {
                    if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                    newline(level: level + 1)
                    write(element, level: level + 1)
                }
                newline(level: level)
                bytes.append(UInt8(ascii: "]"))
            case .object(let object):
                guard !object.isEmpty else { return append("{}") }
                bytes.append(UInt8(ascii: "{"))
                for (offset, member) in object.members.enumerated() {
                    if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                    newline(level: level + 1)
                    writeString(member.key)
                    indent == nil ? bytes.append(UInt8(ascii: ":")) : append(": ")
                    write(member.value, level: level + 1)
                }
                newline(level: level)
                bytes.append(UInt8(ascii: "}"))
            }
        }

        private mutating func newline(level: Int) {
            guard let indent else { return }
            bytes.append(UInt8(ascii: "\n"))
            for _ in 0..<level { bytes.append(contentsOf: indent) }
        }

        /// Decimal digits without an intermediate `String`.
        mutating func writeInteger(_ int: Int64) {
            if int < 0 { bytes.append(UInt8(ascii: "-")) }
            var magnitude = int.magnitude
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            withUnsafeMutableBytes(of: &digits) { buffer in
                repeat {
                    buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                    magnitude /= 10
                    count += 1
                } while magnitude > 0
                bytes.append(contentsOf: buffer[(20 - count)...])
            }
        }

        mutating func writeString(_ string: String) {
            bytes.append(UInt8(ascii: "\""))
            var string = string
            string.withUTF8 { utf8 in
                var start = 0
                for index in utf8.indices {
                    let byte = utf8[index]
                    guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                    start = index + 1
                    switch byte {
                    case UInt8(ascii: "\""): append("\\\"")
                    case UInt8(ascii: "\\"): append("\\\\")
                    case UInt8(ascii: "\n"): append("\\n")
                    case UInt8(ascii: "\r"): append("\\r")
                    case UInt8(ascii: "\t"): append("\\t")
                    case 0x08: append("\\b")
                    case 0x0C: append("\\f")
                    default:
                        let hex: [UInt8] = Array("0123456789abcdef".utf8)
                        append("\\u00")
                        bytes.append(hex[Int(byte >> 4)])
                        bytes.append(hex[Int(byte & 0x0F)])
                    }
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private static func formatDouble(_ double: Double) -> String {
        if double.rounded() == double, abs(double) < 1e16 {
            // Int64 has no negative zero; keep its sign as Python's `-0.0`.
            return (double.sign == .minus && double == 0 ? "-" : "") + String(Int64(double)) + ".0"
        }
        return String(double)
    }
}
