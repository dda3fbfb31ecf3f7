import SluiceCore

/// How a signature is written in its header.
public enum SignatureEncoding: String, Sendable, Hashable, CaseIterable {
    /// Lower- or uppercase hex.
    case hex
    /// Standard base64, padding optional.
    case base64

    /// The signature's bytes, or nil when the text is not in this encoding.
    public func decode(_ text: Substring) -> [UInt8]? {
        switch self {
        case .hex: Hex.decode(text)
        case .base64: Self.decodeBase64(text)
        }
    }

    private static func decodeBase64(_ text: Substring) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 1024 else { return nil }
        return Base64.decode(String(text))
    }
}

/// Hex decoding without allocation beyond the result.
enum Hex {
    static func decode(_ text: Substring) -> [UInt8]? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count % 2 == 0, utf8.count <= 1024 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var high: UInt8?
        for character in utf8 {
            guard let nibble = nibble(character) else { return nil }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
