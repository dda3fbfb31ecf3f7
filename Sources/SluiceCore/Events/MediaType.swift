/// `Content-Type` values as HTTP compares them.
public enum MediaType {
    /// The essence of a `Content-Type` value: its `type/subtype` lowercased, without parameters or
    /// surrounding whitespace (`Application/JSON ; charset=utf-8` is `application/json`).
    ///
    /// Works on the UTF-8 bytes: it is on every webhook's path.
    public static func essence(of contentType: String) -> String {
        let bytes = contentType.utf8
        var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        var start = bytes.startIndex
        while start < end, isSpace(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isSpace(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        let trimmed = bytes[start..<end]
        guard trimmed.contains(where: isUpper) else { return String(Substring(trimmed)) }
        return String(decoding: trimmed.map { isUpper($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
}
