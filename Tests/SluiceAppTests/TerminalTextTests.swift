import Foundation
import SluiceApp
import SluiceCore
import Testing

/// What the CLI prints for people never carries a sender's control characters as they are.
@Suite struct TerminalTextTests {
    @Test func controlCharactersAreWrittenOut() {
        #expect(TerminalText.escaped("plain key · café") == "plain key · café")
        #expect(TerminalText.escaped("a\nb\r\tc") == #"a\nb\r\tc"#)
        #expect(TerminalText.escaped("x\u{1B}[2J\u{7F}\u{85}") == #"x\u{1B}[2J\u{7F}\u{85}"#)
    }

    /// A key with a newline and an escape sequence (`${body.id}` of `{"id":"a\nb\u001b[2J"}`) stays on its row.
    @Test func aTableRowStaysOneLine() {
        let outcome = Outcome(adapter: "orders", action: "start_workflow", idempotencyKey: "a\nb\u{1B}[2J", kind: .accepted)
        let table = OutcomeListing.table([StoredOutcome(id: 1, outcome: outcome, recordedAt: Date(), duplicates: 0)])
        let lines = table.split(separator: "\n")
        #expect(lines.count == 2, "\(table)")
        #expect(!table.contains("\u{1B}"))
        #expect(lines.last?.contains(#"a\nb\u{1B}[2J"#) == true, "\(table)")
    }
}
