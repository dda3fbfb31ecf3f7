/// The characters the engines accept in workflow ids and bridge adapter labels: ASCII letters, digits and
/// `. _ : -` (the engine's `^[a-zA-Z0-9._:-]+$`).
public enum EngineIdentifier {
    /// Whether every character of `text` is accepted (an empty text is, too: callers check emptiness and length
    /// with their own messages).
    public static func accepts(_ text: String) -> Bool {
        text.utf8.allSatisfy(isAccepted)
    }

    /// Whether the engine accepts this byte; any byte of a multi-byte character is refused, as the character is.
    public static func isAccepted(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
