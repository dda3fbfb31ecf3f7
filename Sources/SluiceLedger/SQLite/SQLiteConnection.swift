import CSQLite
import SluiceCore
import Synchronization

/// One SQLite connection: the only type that touches `sqlite3*`.
///
/// A connection is used by one thread at a time: each belongs to one ``SQLiteThread``, which alone
/// calls it after start-up. That confinement is why it can be handed to that thread.
final class SQLiteConnection: @unchecked Sendable {
    let path: String
    private let handle: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]
    /// Frames in the write-ahead log after this connection's last commit, kept by ``watchLogSize()``; 0
    /// after a ``checkpoint()`` that copied them all.
    private(set) var logFrames = 0

    /// Opens (and, with `create`, creates) the database file.
    ///
    /// - Throws: ``LedgerError`` naming the file: a missing directory, a file that cannot be opened.
    init(path: String, readOnly: Bool, create: Bool) throws(LedgerError) {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE
        flags |= readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        if create && !readOnly { flags |= SQLITE_OPEN_CREATE }
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let handle { sqlite3_close_v2(handle) }
            throw SQLiteFailure(code: code, message: message).ledgerError(path: path, opening: true)
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        statements.removeAll()
        if Self.keepsLogOnClose(path) { _ = sluice_sqlite3_keep_log_on_close(handle) }
        sqlite3_close_v2(handle)
    }

    /// Databases whose log must not be checkpointed away when their last connection closes: a flush of the
    /// database file failed, and the log is what a restart recovers from (it copies the log again from its start).
    private static let keptLogs = Mutex<Set<String>>([])

    /// Keeps the log of the database at `path` when its connections close (see ``keptLogs``).
    static func keepLogOnClose(_ path: String) {
        keptLogs.withLock { _ = $0.insert(path) }
    }

    private static func keepsLogOnClose(_ path: String) -> Bool {
        keptLogs.withLock { $0.contains(path) }
    }

    /// Runs SQL without results (several statements allowed).
    func execute(_ sql: String) throws(SQLiteFailure) {
        var error: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &error)
        if code != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(error)
            throw SQLiteFailure(code: code, message: message)
        }
    }

    /// A prepared statement for `sql`, cached for the connection's life.
    func statement(_ sql: String) throws(SQLiteFailure) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try prepare(sql, persistent: true)
        statements[sql] = statement
        return statement
    }

    /// A statement used once (dynamic queries).
    func prepare(_ sql: String, persistent: Bool = false) throws(SQLiteFailure) -> SQLiteStatement {
        var pointer: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(handle, sql, -1, flags, &pointer, nil)
        guard code == SQLITE_OK, let pointer else { throw failure(code) }
        return SQLiteStatement(pointer, connection: self)
    }

    /// The write-ahead log's file, as SQLite names it: next to the database's resolved path (a
    /// symbolic link to the database leads to the log beside its target).
    var logPath: String? {
        guard let database = sqlite3_db_filename(handle, "main"), let log = sqlite3_filename_wal(database) else { return nil }
        let path = String(cString: log)
        return path.isEmpty ? nil : path
    }

    /// The database file's resolved path (a symbolic link leads to its target).
    var databasePath: String? {
        guard let database = sqlite3_db_filename(handle, "main") else { return nil }
        let path = String(cString: database)
        return path.isEmpty ? nil : path
    }

    /// Keeps ``logFrames`` up to date after each commit, and turns off SQLite's automatic checkpoint
    /// (which runs inside the commit that crosses its threshold): the ledger checkpoints on its own
    /// schedule with ``checkpoint()``.
    func watchLogSize() {
        sqlite3_wal_hook(
            handle,
            { context, _, _, frames in
                guard let context else { return SQLITE_OK }
                Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().logFrames = Int(frames)
                return SQLITE_OK
            },
            // The hook lives no longer than the handle, which this object closes in its deinit.
            Unmanaged.passUnretained(self).toOpaque())
    }

    /// Copies committed frames of the log into the database file without waiting for readers or the
    /// writer (a passive checkpoint), flushing the log first and, when every frame was copied, the
    /// database file after. Once the whole log is copied, the next write transaction starts the log over.
    ///
    /// - Returns: the frames in the log, and how many of them are now in the database file.
    func checkpoint() throws(SQLiteFailure) -> (logFrames: Int, copiedFrames: Int) {
        var log: Int32 = 0
        var copied: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(handle, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
        guard code == SQLITE_OK else { throw failure(code) }
        if copied == log { logFrames = 0 }
        return (Int(log), Int(copied))
    }

    /// The rowid of the last insert.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Waits this long for another connection's lock before answering busy.
    func setBusyTimeout(milliseconds: Int32) {
        sqlite3_busy_timeout(handle, milliseconds)
    }

    /// The failure for a result code, with the connection's message.
    func failure(_ code: Int32) -> SQLiteFailure {
        SQLiteFailure(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction; rolls back when it throws.
    func transaction<T>(_ body: () throws(SQLiteFailure) -> T) throws(SQLiteFailure) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Rows changed by this connection since it opened (`sqlite3_total_changes64`).
    var totalChanges: Int64 { sqlite3_total_changes64(handle) }

    /// A single integer, for pragmas and counts.
    func integer(_ sql: String) throws(SQLiteFailure) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }
}
