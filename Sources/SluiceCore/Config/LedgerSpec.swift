import Yams

/// The `ledger:` section of `sluice.yaml`: where outcomes are kept.
///
/// ```yaml
/// ledger:
///   type: sqlite                 # sqlite (default) | postgres
///   path: .sluice/ledger.sqlite  # sqlite: the database file, relative to sluice.yaml
///   url: ${env:SLUICE_LEDGER_URL} # postgres: postgres://user@host:port/database
///   password: ${env:PGPASSWORD}  # postgres: never written in the file itself
///   retention: 30d               # prune decisions and dead letters older than this (default: keep)
///   max_outcomes: 10000000       # keep at most this many decisions (default: no limit)
///   decisions_in_memory: 16777216 # sqlite: decisions kept in memory for the idempotency check (0: none)
/// ```
public struct LedgerSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case sqlite
        case postgres
    }

    /// The default SQLite file, relative to the project directory.
    public static let defaultPath = ".sluice/ledger.sqlite"

    public var kind: Kind
    public var path: String
    /// Usually `${env:NAME}`; resolved when the ledger is opened.
    public var url: String?
    /// `${env:NAME}` or `${file:PATH}`.
    public var password: String?
    public var retention: Duration?
    public var maxOutcomes: Int?
    /// SQLite: the most decisions kept in memory to answer the idempotency check of a decided key (nil: the
    /// ledger's default, 16 Mi).
    public var decisionsInMemory: Int?

    public init(
        kind: Kind = .sqlite, path: String = LedgerSpec.defaultPath, url: String? = nil, password: String? = nil,
        retention: Duration? = nil, maxOutcomes: Int? = nil, decisionsInMemory: Int? = nil
    ) {
        self.kind = kind
        self.path = path
        self.url = url
        self.password = password
        self.retention = retention
        self.maxOutcomes = maxOutcomes
        self.decisionsInMemory = decisionsInMemory
    }

    /// Reads the `ledger:` section of a `sluice.yaml` text; the defaults when there is none.
    ///
    /// Only problems of the `ledger` section are returned (`sluice validate` reports the rest).
    public static func read(_ text: String, file: String) -> (spec: LedgerSpec?, diagnostics: [Diagnostic]) {
        var reader = YAMLReader(file: file)
        guard let root = reader.root(of: text) else { return (nil, reader.diagnostics) }
        guard case .mapping(let mapping) = root,
            let node = mapping.first(where: { $0.key.string == "ledger" })?.value
        else { return (LedgerSpec(), []) }
        guard let members = reader.members(node, key: "ledger", allowed: ["type", "path", "url", "password", "retention", "max_outcomes", "decisions_in_memory"])
        else { return (nil, reader.diagnostics) }
        var spec = LedgerSpec()
        if let kindNode = members["type"], let kind = reader.choice(kindNode, key: "ledger.type", as: Kind.self) {
            spec.kind = kind
        } else if members["type"] == nil, members["url"] != nil {
            spec.kind = .postgres
        }
        if let pathNode = members["path"], let path = reader.nonEmptyString(pathNode, key: "ledger.path") { spec.path = path }
        if let urlNode = members["url"], let url = reader.nonEmptyString(urlNode, key: "ledger.url") { spec.url = url }
        if let passwordNode = members["password"], let password = reader.string(passwordNode, key: "ledger.password") {
            if !password.hasPrefix("${env:"), !password.hasPrefix("${file:") {
                reader.report("write the password as ${env:NAME} or ${file:PATH}, not in the file", at: passwordNode, key: "ledger.password")
            }
            spec.password = password
        }
        if let retentionNode = members["retention"] {
            spec.retention = reader.duration(retentionNode, key: "ledger.retention", minimum: .seconds(1))
        }
        if let maxNode = members["max_outcomes"] {
            spec.maxOutcomes = reader.int(maxNode, key: "ledger.max_outcomes", range: 1...Int.max)
        }
        if let memoryNode = members["decisions_in_memory"] {
            spec.decisionsInMemory = reader.int(memoryNode, key: "ledger.decisions_in_memory", range: 0...Int.max)
            if spec.kind == .postgres {
                reader.report(
                    "decisions_in_memory applies to a sqlite ledger only: replicas sharing a postgres ledger ask it",
                    at: memoryNode, key: "ledger.decisions_in_memory", severity: .warning)
            }
        }
        if spec.kind == .postgres, spec.url == nil {
            reader.report("a postgres ledger needs 'url' (postgres://user@host:port/database)", at: node, key: "ledger.url")
        }
        let problems = reader.diagnostics.filter { $0.key.hasPrefix("ledger") }
        return (problems.hasErrors ? nil : spec, problems)
    }

    /// The retention policy the spec asks for.
    public var retentionPolicy: RetentionPolicy {
        RetentionPolicy(maxAge: retention, maxOutcomes: maxOutcomes)
    }
}
