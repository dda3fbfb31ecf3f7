import SluiceCore

/// What this process knows of the ledger's stored decisions: the ``DecisionMemo`` (every decision, exact,
/// once complete and while it fits) and, behind it, the ``DecidedKeyFilter`` (which keys may be decided).
/// The writer tells both about each change it makes; the ``DecidedKeyScanner`` fills both at start-up.
struct DecidedKeys: Sendable {
    let filter: DecidedKeyFilter
    let memo: DecisionMemo

    /// What the idempotency check learns without the file.
    enum Knowledge: Equatable {
        /// No live decision is stored.
        case absent
        case decided(DecisionSummary)
        /// May be decided: ask SQLite.
        case ask
    }

    func knowledge(adapter: String, key: String, now: Int64, window: Int64?) -> Knowledge {
        switch memo.answer(adapter: adapter, key: key, now: now, window: window) {
        case .absent: return .absent
        case .decided(let summary): return .decided(summary)
        case .unknown: return filter.mightContain(adapter: adapter, key: key) ? .ask : .absent
        }
    }

    /// Before an insert's step: a reader must never find the row committed while the filter says "never
    /// decided" (a rolled-back insert leaves a harmless false positive in the filter).
    func willInsert(_ row: LedgerCoding.Row) {
        filter.insert(adapter: row.adapter, key: row.idempotencyKey)
    }

    /// After an insert's step that stored the row, in its transaction.
    func inserted(_ row: LedgerCoding.Row, at recordedAt: Int64) {
        memo.set(adapter: row.adapter, key: row.idempotencyKey, recordedAt: recordedAt, kind: row.kind, reason: row.reason)
    }

    /// After a delete's step that removed the key's decision, in its transaction.
    func deleted(adapter: String, key: String) {
        memo.remove(adapter: adapter, key: key)
    }
}
