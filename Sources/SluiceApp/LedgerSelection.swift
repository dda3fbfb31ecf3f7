public import Foundation
public import SluiceCore
import Logging
import SluiceLedger

/// Which ledger a command uses: flags, then the environment, then `sluice.yaml`'s `ledger:`
/// section, then the default SQLite file `.sluice/ledger.sqlite`.
///
/// Environment: `SLUICE_LEDGER_PATH`, `SLUICE_LEDGER_URL`, `SLUICE_LEDGER_PASSWORD`.
public struct LedgerSelection: Sendable {
    public enum Location: Sendable, Hashable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public var location: Location
    public var password: String?
    public var spec: LedgerSpec

    /// Resolves the ledger for a project directory.
    ///
    /// - Parameters:
    ///   - path: `--ledger`; relative to `directory`.
    ///   - directory: the working directory (`sluice serve`: the configuration's directory).
    ///   - environment: the process's variables; an empty `SLUICE_*` one counts as unset.
    ///   - configFile: the configuration, when one was named (`--config`): it must be readable. Otherwise
    ///     `sluice.yaml` in `directory`, when there is one. `SLUICE_LEDGER_PATH`, its `ledger.path` and its
    ///     `${file:…}` references start at its own directory, as in `sluice serve`, wherever the command runs.
    /// - Throws: ``LedgerError`` (`configuration`) with every problem of the `ledger:` section.
    public static func resolve(
        path: String?, url: String?, directory: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: URL? = nil
    ) throws(LedgerError) -> LedgerSelection {
        let environment = environment.filter { !($0.key.hasPrefix("SLUICE_") && $0.value.isEmpty) }
        var spec = LedgerSpec()
        let configURL = configFile ?? directory.appendingPathComponent("sluice.yaml")
        // As the user named it (`deploy/prod.yaml`), like every other message of the configuration.
        let configName = configFile?.relativePath ?? "sluice.yaml"
        let configDirectory = configURL.deletingLastPathComponent()
        if let text = try? String(contentsOf: configURL, encoding: .utf8) {
            let (read, problems) = LedgerSpec.read(text, file: configName)
            guard let read else {
                throw .fatal("configuration", problems.map(\.description).joined(separator: "\n"))
            }
            spec = read
        } else if let configFile {
            throw .fatal("configuration", "\(configFile.relativePath): cannot be read (no such file?)")
        }
        let references = ConfigReferences(
            source: ProcessConfigValueSource(environment: environment, baseDirectory: configDirectory), resolution: .strict)
        func resolved(_ text: String?, _ key: String) throws(LedgerError) -> String? {
            guard let text else { return nil }
            let (value, problems) = references.resolve(text)
            if let problem = problems.first(where: { $0.severity == .error }) {
                throw .fatal("configuration", "\(configName): \(key): \(problem.message)")
            }
            return value
        }
        func absolute(_ path: String, from base: URL) -> String {
            path.hasPrefix("/") ? path : base.appendingPathComponent(path).path
        }
        let location: Location
        if let path {
            location = .sqlite(path: absolute(path, from: directory))
        } else if let url {
            location = .postgres(url: url)
        } else if let path = environment["SLUICE_LEDGER_PATH"] {
            location = .sqlite(path: absolute(path, from: configDirectory))
        } else if let url = environment["SLUICE_LEDGER_URL"] {
            location = .postgres(url: url)
        } else if spec.kind == .postgres, let url = try resolved(spec.url, "ledger.url") {
            location = .postgres(url: url)
        } else {
            location = .sqlite(path: absolute(spec.path, from: configDirectory))
        }
        // The password only matters to PostgreSQL: a SQLite ledger named by a flag opens without it. One written in
        // the URL is used as written (`--ledger-url postgres://u:pw@…` is not overridden by the environment).
        var password: String?
        if case .postgres(let url) = location, URLComponents(string: url)?.password == nil {
            password = environment["SLUICE_LEDGER_PASSWORD"]
            if password == nil { password = try resolved(spec.password, "ledger.password") }
        }
        return LedgerSelection(location: location, password: password, spec: spec)
    }

    /// Whether several replicas may share this ledger (PostgreSQL): then each key is claimed
    /// before it is worked on.
    public var isShared: Bool {
        if case .postgres = location { return true }
        return false
    }

    /// Where the ledger is, for messages (never with a password).
    public var displayName: String {
        switch location {
        case .sqlite(let path): return path
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres ledger" }
            components.password = nil
            return components.string ?? "postgres ledger"
        }
    }

    /// Opens the ledger for the duration of `body`.
    ///
    /// - Parameters:
    ///   - mustExist: for queries: a missing SQLite file is an error, not a new empty ledger.
    ///   - checkpoints: whether a SQLite ledger copies its log into the database file: `sluice serve` does; the
    ///     command-line tools, which may run beside it, do not (``SQLiteLedgerConfiguration/checkpoints``).
    ///   - dedupe: the adapters' dedupe windows (`sluice serve`); queries read every decision.
    public func withLedger<Value: Sendable>(
        mustExist: Bool, checkpoints: Bool, dedupe: DedupePolicy = DedupePolicy(),
        _ body: (any OutcomeLedger) async throws -> Value
    ) async throws -> Value {
        switch location {
        case .sqlite(let path):
            var configuration = SQLiteLedgerConfiguration(
                path: path, createDirectory: !mustExist, createFile: !mustExist, checkpoints: checkpoints, dedupe: dedupe)
            // Queries check the schema version and never migrate a file a server may be using.
            configuration.migrates = !mustExist
            // The tools answer few checks: not worth filling memory with every decision.
            if mustExist {
                configuration.decisionsInMemory = 0
            } else if let decisionsInMemory = spec.decisionsInMemory {
                configuration.decisionsInMemory = decisionsInMemory
            }
            let ledger = try await SQLiteLedger.open(configuration)
            do {
                let value = try await body(ledger)
                await ledger.close()
                return value
            } catch {
                await ledger.close()
                throw error
            }
        case .postgres(let url):
            var logger = Logger(label: "sluice.ledger")
            logger.logLevel = .error
            var configuration = try PostgresLedgerConfiguration(url: url, password: password)
            configuration.dedupe = dedupe
            // Queries check the schema version and never migrate a shared database.
            configuration.migrates = !mustExist
            return try await PostgresLedger.withLedger(configuration, logger: logger) { try await body($0) }
        }
    }
}
