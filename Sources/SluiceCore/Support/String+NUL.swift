extension String {
    /// Whether the string holds U+0000, which PostgreSQL's `text` (a shared ledger's keys and workflow ids) cannot.
    public var containsNUL: Bool { utf8.contains(0) }
}
