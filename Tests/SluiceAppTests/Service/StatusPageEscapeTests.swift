import Foundation
@testable import SluiceApp
import Testing

/// The status page shows event ids, keys and engine messages: text from outside, escaped for HTML.
@Suite struct StatusPageEscapeTests {
    /// A prepend mark (U+0600) and the `<` after it are one grapheme cluster: escaping by `Character` let it through.
    @Test("every markup character is escaped, whatever precedes it", arguments: [
        "\u{0600}<img src=x onerror=alert(1)>", "<script>", "a&b", "\"'", "\u{0600}\"", "e\u{301}<",
    ])
    func escapesScalarByScalar(text: String) {
        let escaped = StatusPage.escape(text)
        #expect(!escaped.unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) }, "\(escaped)")
        #expect(!escaped.replacingOccurrences(of: "&amp;", with: "").replacingOccurrences(of: "&lt;", with: "")
            .replacingOccurrences(of: "&gt;", with: "").replacingOccurrences(of: "&quot;", with: "")
            .replacingOccurrences(of: "&#39;", with: "").contains("&"))
    }
}
