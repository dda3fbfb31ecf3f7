import ArgumentParser

/// Selects the ledger: flags win over `SLUICE_LEDGER_PATH`/`SLUICE_LEDGER_URL`, which win over
/// `sluice.yaml`'s `ledger:` section; the default is `.sluice/ledger.sqlite`.
struct LedgerOptions: ParsableArguments {
    @Option(name: .customLong("ledger"), help: ArgumentHelp("The SQLite ledger file.", valueName: "PATH"))
    var path: String?

    @Option(
        name: .customLong("ledger-url"),
        help: ArgumentHelp(
            "A PostgreSQL ledger, postgres://user@host:port/database (password from SLUICE_LEDGER_PASSWORD).",
            valueName: "URL"))
    var url: String?

    func validate() throws {
        if path != nil && url != nil { throw ValidationError("give --ledger or --ledger-url, not both") }
    }
}
