/// Text from events (idempotency keys, workflow ids, reasons) as the CLI prints it for people: control characters
/// written out, so that a sender's `\n` cannot split a table row and its escape sequences never reach the
/// operator's terminal.
public enum TerminalText {
    /// `text` with C0 and C1 control characters and DEL written as `\n`, `\r`, `\t` or `\u{1B}`.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar): escaped += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
