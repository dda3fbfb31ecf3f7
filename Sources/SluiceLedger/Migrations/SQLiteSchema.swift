import SluiceCore

/// The SQLite ledger's schema, one migration per version, and the start-up version check.
enum SQLiteSchema {
    /// `PRAGMA application_id`: 'SLCE', so that Sluice never mistakes another program's database for
    /// its ledger.
    static let applicationID: Int64 = 0x534C_4345

    /// The page size of a new ledger file, in bytes (SQLite's default is 4,096).
    ///
    /// An outcome row is about 1 KB plus seven index entries, and every page a group commit touches is
    /// written twice: to the log, and to the database file at the next checkpoint. With 8 KiB pages the
    /// bytes stay about the same (~3 KB per outcome), but they go in half as many write calls and log
    /// frames, and the automatic checkpoint (every 1,000 pages) runs half as often: group-committed
    /// writes measured 6–25 % faster (median
    /// +14 %) in the same runs (`Benchmarks/results/ledger.md`). 16 KiB pages were faster in some runs and
    /// slower in others. SQLite fixes the page size when a file is created, so existing ledgers keep theirs.
    static let newFilePageSize = 8192

    /// Migrations in order; `PRAGMA user_version` holds the last one applied.
    static let migrations: [(version: Int64, sql: String)] = [
        (
            1,
            """
            CREATE TABLE outcomes (
                id INTEGER PRIMARY KEY,
                adapter TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                workflow_id TEXT,
                source_position TEXT NOT NULL,
                recorded_at INTEGER NOT NULL,
                duplicates INTEGER NOT NULL DEFAULT 0,
                body TEXT NOT NULL
            );
            CREATE UNIQUE INDEX outcomes_by_key ON outcomes (adapter, idempotency_key);
            CREATE INDEX outcomes_by_time ON outcomes (recorded_at);
            CREATE INDEX outcomes_by_outcome ON outcomes (outcome, recorded_at);
            CREATE INDEX outcomes_by_reason ON outcomes (reason) WHERE reason IS NOT NULL;
            CREATE INDEX outcomes_by_workflow ON outcomes (workflow_id) WHERE workflow_id IS NOT NULL;
            CREATE INDEX outcomes_by_position ON outcomes (source_position);
            CREATE TABLE claims (
                adapter TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                owner TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                PRIMARY KEY (adapter, idempotency_key)
            ) WITHOUT ROWID;
            CREATE TABLE inbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                adapter TEXT NOT NULL,
                target TEXT NOT NULL,
                headers TEXT NOT NULL,
                body BLOB NOT NULL,
                received_at INTEGER NOT NULL
            );
            CREATE TABLE dead_letters (
                id INTEGER PRIMARY KEY,
                adapter TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                reason TEXT,
                created_at INTEGER NOT NULL,
                redriven_at INTEGER,
                redrive_count INTEGER NOT NULL DEFAULT 0,
                outcome TEXT NOT NULL,
                commands TEXT NOT NULL,
                delivery TEXT,
                delivery_body BLOB
            );
            CREATE INDEX dead_letters_by_adapter ON dead_letters (adapter, created_at);
            CREATE INDEX dead_letters_by_time ON dead_letters (created_at);
            CREATE INDEX dead_letters_by_key ON dead_letters (adapter, idempotency_key);
            """
        ),
        (
            2,
            // The idempotency check reads only this index (no table page): with millions of stored
            // outcomes of ~1 KB each, a probe touches a few index pages that stay cached instead of a
            // random page of the table. Building it on an existing ledger takes about 2.3 s per million
            // rows, once, at start-up.
            """
            CREATE INDEX outcomes_decisions ON outcomes (adapter, idempotency_key, recorded_at, outcome, reason, workflow_id);
            """
        ),
    ]

    /// The newest version this binary knows.
    static var currentVersion: Int64 { migrations.last?.version ?? 0 }

    /// Refuses another program's database before anything is changed in it (WAL mode, the page size): its
    /// application id is another's, or it has tables but not Sluice's id (Sluice sets it in the transaction of its
    /// first migration; many programs set a `user_version` of their own, so a version proves nothing).
    static func refuseForeign(_ connection: SQLiteConnection) throws(LedgerError) {
        let path = connection.path
        let foreign: Bool
        do throws(SQLiteFailure) {
            let application = try connection.integer("PRAGMA application_id") ?? 0
            let tables = try connection.integer("SELECT count(*) FROM sqlite_master") ?? 0
            foreign = Self.isForeign(application: application, tables: tables)
        } catch {
            throw error.ledgerError(path: path)
        }
        if foreign { throw .fatal("not_a_ledger", "\(path) is a SQLite database of another program, not a Sluice ledger") }
    }

    /// Whether a database with this application id and this many schema objects is another program's: Sluice's own
    /// id is set in the transaction that makes its first table, so tables without it are not Sluice's.
    static func isForeign(application: Int64, tables: Int64) -> Bool {
        application != applicationID && (application != 0 || tables > 0)
    }

    /// Checks the file's version and changes nothing: what the command-line tools do.
    ///
    /// - Throws: ``LedgerError`` when the file is no Sluice ledger, or its schema is newer or older than this
    ///   binary's (an older one is migrated only by `sluice serve`).
    static func check(_ connection: SQLiteConnection) throws(LedgerError) {
        let path = connection.path
        let version: Int64
        let application: Int64
        let tables: Int64
        do throws(SQLiteFailure) {
            version = try connection.integer("PRAGMA user_version") ?? 0
            application = try connection.integer("PRAGMA application_id") ?? 0
            tables = try connection.integer("SELECT count(*) FROM sqlite_master") ?? 0
        } catch {
            throw error.ledgerError(path: path)
        }
        // An empty file is no ledger yet either.
        if isForeign(application: application, tables: tables) || (application != applicationID && version == 0) {
            throw .fatal("not_a_ledger", "\(path) is not a Sluice ledger (sluice serve creates it)")
        }
        if version > currentVersion {
            throw .fatal(
                "schema_too_new",
                "the ledger \(path) has schema version \(version), newer than this sluice understands (\(currentVersion)); "
                    + "run a newer sluice")
        }
        if version < currentVersion {
            throw .fatal(
                "schema_too_old",
                "the ledger \(path) has schema version \(version), older than this sluice's (\(currentVersion)); it is "
                    + "migrated only by sluice serve, so that a server using it keeps starting: use the sluice that server "
                    + "runs, or upgrade it first")
        }
    }

    /// Checks the file's version and applies the missing migrations in one transaction.
    ///
    /// - Throws: ``LedgerError`` when the file is another program's database or was written by a newer
    ///   Sluice (never downgraded).
    static func migrate(_ connection: SQLiteConnection) throws(LedgerError) {
        let path = connection.path
        do {
            try connection.transaction { () throws(SQLiteFailure) in
                let version = try connection.integer("PRAGMA user_version") ?? 0
                let application = try connection.integer("PRAGMA application_id") ?? 0
                let tables = try connection.integer("SELECT count(*) FROM sqlite_master") ?? 0
                if isForeign(application: application, tables: tables) {
                    throw SQLiteFailure(code: -1, message: "not a Sluice ledger")
                }
                if version > currentVersion {
                    throw SQLiteFailure(code: -2, message: "schema version \(version)")
                }
                for migration in migrations where migration.version > version {
                    try connection.execute(migration.sql)
                    try connection.execute("PRAGMA user_version = \(migration.version)")
                }
                if application != applicationID { try connection.execute("PRAGMA application_id = \(applicationID)") }
            }
        } catch let failure {
            switch failure.code {
            case -1:
                throw .fatal("not_a_ledger", "\(path) is a SQLite database of another program, not a Sluice ledger")
            case -2:
                throw .fatal(
                    "schema_too_new",
                    "the ledger \(path) has \(failure.message), newer than this sluice understands (\(currentVersion)); "
                        + "run a newer sluice, or point ledger.path at another file (it is never downgraded)")
            default: throw failure.ledgerError(path: path)
            }
        }
    }
}
