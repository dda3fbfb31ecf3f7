public import SluiceCore

/// How `sluice outcomes` prints decisions: a table for people, JSON lines for programs.
public enum OutcomeListing {
    /// A fixed-width table, newest first, long values shortened, control characters written out.
    public static func table(_ rows: [StoredOutcome]) -> String {
        let header = ["RECORDED", "ADAPTER", "IDEMPOTENCY KEY", "OUTCOME", "REASON", "WORKFLOW", "POSITION", "DUPS"]
        let limits = [24, 20, 36, 9, 24, 32, 28, 5]
        var lines = [header]
        for row in rows {
            let outcome = row.outcome
            lines.append(
                [
                    Timestamp.format(row.recordedAt), outcome.adapter, outcome.idempotencyKey, outcome.kind.rawValue,
                    outcome.reason?.rawValue ?? "-", outcome.workflowID ?? "-",
                    outcome.sluice?.sourcePosition.description ?? "-", String(row.duplicates),
                ].map(TerminalText.escaped))
        }
        var widths = header.map(\.count)
        let clipped = lines.map { line in
            line.enumerated().map { index, value in
                value.count > limits[index] ? String(value.prefix(limits[index] - 1)) + "…" : value
            }
        }
        for line in clipped {
            for (index, value) in line.enumerated() { widths[index] = max(widths[index], value.count) }
        }
        var text = ""
        for line in clipped {
            text += line.enumerated().map { index, value in
                index == line.count - 1 ? value : value + String(repeating: " ", count: widths[index] - value.count)
            }.joined(separator: "  ")
            text += "\n"
        }
        if rows.isEmpty { text += "(no outcomes)\n" }
        return text
    }

    /// One JSON object per line: the outcome contract, plus the ledger's fields under `ledger`.
    public static func jsonLines(_ rows: [StoredOutcome]) -> String {
        rows.map { row in
            var json = row.outcome.json
            if case .object(var object) = json {
                object["ledger"] = [
                    "id": .int(row.id), "recorded_at": .string(Timestamp.format(row.recordedAt)),
                    "duplicates": .int(Int64(row.duplicates)),
                ]
                json = .object(object)
            }
            return JSONWriter.string(json) + "\n"
        }.joined()
    }
}
