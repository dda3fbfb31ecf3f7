public import Foundation
public import SluiceCore

/// How the SQLite ledger is opened (`ledger: {type: sqlite, path: …}` in `sluice.yaml`).
public struct SQLiteLedgerConfiguration: Sendable {
    /// How hard a commit waits for the disk.
    public enum Synchronous: String, Sendable, Hashable {
        /// Every commit is flushed (`fdatasync` of the log, by the ledger's flush thread while the writer
        /// runs the next transaction) before its callers resume: survives power loss. The default.
        case full = "FULL"
        /// Callers resume at the commit, without the flush: survives a crash of Sluice, but the last
        /// commits may be lost on power loss.
        case normal = "NORMAL"
    }

    /// The database file.
    public var path: String
    /// Create the file's directory when it does not exist (default false: a missing directory is an
    /// error, which catches typos).
    public var createDirectory: Bool
    /// Create the file when it does not exist (default true; `sluice outcomes` opens with false).
    public var createFile: Bool
    /// Reader threads, each with its own connection (default 2).
    public var readers: Int
    /// Connections that answer the idempotency check on the asking task's own thread, without a hand-off
    /// to a reader thread (default: one per core, the width of Swift's cooperative pool). They never wait:
    /// when none is free, or a lock would make one wait, the check goes to a reader thread. 0 sends every
    /// check to the reader threads.
    public var inlineReaders: Int
    /// The most writes one transaction takes (default 4096).
    public var maxBatch: Int
    public var synchronous: Synchronous
    /// The log's size, in pages, at which a checkpoint copies it into the database file (default 4,096:
    /// 32 MiB with 8 KiB pages). A checkpoint thread copies the log while the writer goes on; a larger
    /// log means fewer checkpoints, a longer recovery after a crash, and a larger `-wal` file.
    public var checkpointPages: Int
    /// Whether this ledger copies the log into the database file (default true). Off for the command-line
    /// tools (`sluice replay`, `sluice outcomes`), which may share the file with a running `sluice serve`: only
    /// the server then checkpoints, and no checkpoint of another process can start while the server's writer
    /// starts the log over, a race that can lose committed pages in SQLite up to 3.51.2 ("the WAL-reset bug").
    /// The log left by such a ledger is copied by the server, or by the last connection to close.
    public var checkpoints: Bool
    /// Whether opening the ledger applies missing migrations (`sluice serve`; default). The command-line tools
    /// (`sluice outcomes`, `sluice replay`) only check the version, as on PostgreSQL: a newer tool must not
    /// migrate a file an older server uses (a migration holds the write lock while it rebuilds an index, about
    /// 2 s a million outcomes, and the older server would then refuse to start).
    public var migrates = true
    /// How long a write waits for a lock held by another process before failing as busy (default 5s).
    public var busyTimeout: Duration
    /// The most decisions the ledger keeps in memory to answer the idempotency check of a decided key
    /// without reading the file (default 16 Mi, about 270–430 MiB when full: 16 bytes a key in tables kept
    /// 40–85 % full). Past it, the check of a key that may be decided reads the file, as with 0.
    public var decisionsInMemory: Int
    /// Dedupe windows per adapter (default: forever).
    public var dedupe: DedupePolicy
    /// The wall clock, injectable for tests of windows and expiry.
    public var now: @Sendable () -> Date

    public init(
        path: String, createDirectory: Bool = false, createFile: Bool = true, readers: Int = 2,
        inlineReaders: Int = ProcessInfo.processInfo.activeProcessorCount, maxBatch: Int = 4096,
        synchronous: Synchronous = .full, checkpointPages: Int = 4096, checkpoints: Bool = true,
        busyTimeout: Duration = .seconds(5), decisionsInMemory: Int = 1 << 24, dedupe: DedupePolicy = DedupePolicy(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.path = path
        self.createDirectory = createDirectory
        self.createFile = createFile
        self.readers = readers
        self.inlineReaders = inlineReaders
        self.maxBatch = maxBatch
        self.synchronous = synchronous
        self.checkpointPages = checkpointPages
        self.checkpoints = checkpoints
        self.busyTimeout = busyTimeout
        self.decisionsInMemory = decisionsInMemory
        self.dedupe = dedupe
        self.now = now
    }
}
