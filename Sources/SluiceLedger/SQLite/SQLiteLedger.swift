import Foundation
public import SluiceCore
import Synchronization

/// The default ledger: one SQLite file in WAL mode, embedded in the Sluice process.
///
/// One writer thread owns the only writing connection and commits whatever writes are waiting as one
/// transaction (group commit): a caller resumes only after the transaction holding its write is
/// durable. With ``SQLiteLedgerConfiguration/Synchronous/full`` a ``LogFlusher`` thread flushes each
/// committed transaction's log while the writer runs the next one, and a ``LogCheckpointer`` thread copies
/// the log into the database file while the writer goes on committing. Reader threads with their own
/// connections answer queries while the writer works. No SQLite call that can wait runs on Swift's
/// cooperative thread pool: the one query made there, the idempotency check of a key that may be decided,
/// runs on a connection of ``InlineReaders`` that never waits for a lock or for another connection.
///
/// In memory, a ``DecisionMemo`` answers the idempotency check from every stored decision (up to
/// ``SQLiteLedgerConfiguration/decisionsInMemory`` keys), and a ``DecidedKeyFilter`` answers it for a key that
/// was never decided when the memo cannot; both are kept by the writer and filled by a scan of the stored
/// decisions at start-up.
///
/// Open it with ``open(_:)`` before intake starts (migrations run there) and ``close()`` it after the
/// last write.
public final class SQLiteLedger: OutcomeLedger {
    public let configuration: SQLiteLedgerConfiguration
    let writes: WorkQueue<any SQLiteWriteJob>
    let reads: WorkQueue<@Sendable (SQLiteConnection) -> Void>
    /// Connections for the check on the asking task's thread.
    let inlineReaders: InlineReaders
    /// The stored decisions, as far as this process knows them.
    let decidedKeys: DecidedKeys
    private let threads: [SQLiteThread]
    /// Fills `decidedKeys` at start-up and adds the decisions other processes write.
    let keyScanner: DecidedKeyScanner
    /// Flushes committed batches (`synchronous=full`); its failure stops writes and reads.
    private let flusher: LogFlusher?
    /// The last write the disk refused, for readiness.
    let storage: StorageFailure
    /// The newest id past `max_outcomes`, for the batches of a pruning run after the one that found it.
    let pruneThreshold = PruneThreshold()
    /// False once ``close()`` began: the memory's answers stop with the file's.
    private let isOpen = Atomic<Bool>(true)

    private init(
        configuration: SQLiteLedgerConfiguration, connections: Connections, storedKeys: Int
    ) {
        let writer = connections.writer
        self.configuration = configuration
        // The largest id estimates the count; a row given a huge id by hand must not size the filter (it grows).
        let estimate = min(max(storedKeys, 0), Self.filterEstimateLimit)
        let decidedKeys = DecidedKeys(
            filter: DecidedKeyFilter(capacity: estimate + estimate / 2),
            memo: DecisionMemo(maximumKeys: configuration.decisionsInMemory, expectedKeys: estimate))
        self.decidedKeys = decidedKeys
        let keyScanner = DecidedKeyScanner(path: configuration.path, keys: decidedKeys, storedBelow: Int64(storedKeys))
        keyScanner.start()
        self.keyScanner = keyScanner
        let storage = StorageFailure()
        self.storage = storage
        let writes = WorkQueue<any SQLiteWriteJob>()
        let reads = WorkQueue<@Sendable (SQLiteConnection) -> Void>()
        let flusher =
            configuration.synchronous == .full
            ? LogFlusher(logPath: writer.logPath ?? configuration.path + "-wal", databasePath: configuration.path) : nil
        let checkpointer = connections.checkpointer.map { connection in
            LogCheckpointer(
                connection: connection, threshold: max(1, configuration.checkpointPages),
                stopped: { [path = configuration.path] problem in
                    SQLiteConnection.keepLogOnClose(path)
                    flusher?.stop(problem)
                })
        }
        var threads = [
            SQLiteThread(
                name: "ledger-writer", connection: writer, queue: writes, batchLimit: max(1, configuration.maxBatch),
                idle: DecidedKeyScanner.syncInterval,
                // The last commits are flushed while the writer's connection is still open: closing the
                // last connection checkpoints the log and deletes it.
                finishing: {
                    checkpointer?.close()
                    checkpointer?.join()
                    flusher?.close()
                    flusher?.join()
                }
            ) { jobs, connection in
                // Between transactions: other processes' decisions, and a rebuild of the filter when it is due.
                keyScanner.syncOtherWriters(on: connection)
                keyScanner.rebuildIfNeeded()
                if !jobs.isEmpty { Self.commit(jobs, on: connection, flusher: flusher, storage: storage, memo: decidedKeys.memo) }
                checkpointer?.afterTurn(on: connection)
            }
        ]
        for (index, reader) in connections.readers.enumerated() {
            threads.append(
                SQLiteThread(
                    name: "ledger-reader-\(index)", connection: reader, queue: reads, batchLimit: 1, spin: Self.readerSpin
                ) {
                    jobs, connection in
                    for job in jobs { job(connection) }
                })
        }
        self.writes = writes
        self.reads = reads
        self.inlineReaders = InlineReaders(connections.inline)
        self.threads = threads
        self.flusher = flusher
    }

    deinit {
        inlineReaders.close()
        writes.close()
        reads.close()
        keyScanner.cancel()
    }

    /// Opens (or creates) the ledger, checks its schema version and applies missing migrations.
    ///
    /// - Throws: ``LedgerError``: a missing directory, a file that is not a ledger or is corrupt, a
    ///   schema newer than this binary, a database locked for longer than the busy timeout.
    public static func open(_ configuration: SQLiteLedgerConfiguration) async throws(LedgerError) -> SQLiteLedger {
        let opened = await onBlockingThread("ledger-open") {
            Result { () throws(LedgerError) in try openConnections(configuration) }
        }
        let (connections, storedKeys) = try opened.get()
        return SQLiteLedger(configuration: configuration, connections: connections, storedKeys: storedKeys)
    }

    /// Finishes the queued work, stops the threads and closes the connections.
    public func close() async {
        // The inline connections first, while the threads hold theirs: the last connection to close checkpoints
        // the log, on the thread that closes it. A probe running now closes its own in a moment.
        isOpen.store(false, ordering: .relaxed)
        inlineReaders.close()
        while inlineReaders.hasLoans { try? await Task.sleep(for: .microseconds(100)) }
        writes.close()
        reads.close()
        let threads = self.threads
        let keyScanner = self.keyScanner
        await onBlockingThread("ledger-close") {
            // Cut a running scan short now, but wait for scans only once the writer (which starts them) has
            // stopped: one it started after the cancel would otherwise outlive close() with its connection.
            keyScanner.cancel()
            for thread in threads { thread.join() }
            keyScanner.stop()
        }
    }

    /// The connections each thread owns.
    private struct Connections: Sendable {
        var writer: SQLiteConnection
        /// Nil when the ledger does not checkpoint (``SQLiteLedgerConfiguration/checkpoints``).
        var checkpointer: SQLiteConnection?
        var readers: [SQLiteConnection]
        var inline: [SQLiteConnection]
    }

    private static func openConnections(_ configuration: SQLiteLedgerConfiguration) throws(LedgerError)
        -> (Connections, storedKeys: Int)
    {
        let path = configuration.path
        let fileManager = FileManager.default
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if !fileManager.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard configuration.createDirectory else {
                throw .fatal("missing_directory", "the directory \(directory) of the ledger \(path) does not exist")
            }
            do {
                try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .fatal("missing_directory", "cannot create the directory \(directory) of the ledger \(path): \(error.localizedDescription)")
            }
        } else if !isDirectory.boolValue {
            throw .fatal("missing_directory", "\(directory), the directory of the ledger \(path), is not a directory")
        }
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw .fatal("cannot_open", "the ledger path \(path) is a directory, not a file") }
            if !fileManager.isReadableFile(atPath: path) || !fileManager.isWritableFile(atPath: path) {
                throw .fatal("permission", "the ledger \(path) cannot be read and written by this process")
            }
        } else if !configuration.createFile {
            throw .fatal("not_found", "there is no ledger at \(path)")
        }
        let writer = try SQLiteConnection(path: path, readOnly: false, create: configuration.createFile)
        let busy = Int32(clamping: configuration.busyTimeout.components.seconds * 1000
            + configuration.busyTimeout.components.attoseconds / 1_000_000_000_000_000)
        writer.setBusyTimeout(milliseconds: busy)
        // Before WAL mode, which would stay on another program's database (`sluice outcomes --ledger other.db`).
        try SQLiteSchema.refuseForeign(writer)
        do throws(SQLiteFailure) {
            // Takes effect only on a new, empty file; before WAL mode, which writes the file's first page.
            try writer.execute("PRAGMA page_size = \(SQLiteSchema.newFilePageSize)")
            let mode = try writer.prepare("PRAGMA journal_mode = WAL")
            guard try mode.step(), mode.text(0)?.lowercased() == "wal" else {
                throw SQLiteFailure(code: 1, message: "the file system does not support WAL mode")
            }
            // NORMAL in both modes: with `full`, the LogFlusher flushes each commit before its callers resume.
            try writer.execute("PRAGMA synchronous = NORMAL; PRAGMA cache_size = \(Self.writerCacheKiB)")
            // The LogCheckpointer checkpoints instead of the commit that crosses SQLite's threshold.
            writer.watchLogSize()
        } catch {
            throw error.ledgerError(path: path)
        }
        if configuration.migrates { try SQLiteSchema.migrate(writer) } else { try SQLiteSchema.check(writer) }
        // The largest rowid: about how many keys are stored (cheap: the last leaf of the table).
        let storedKeys: Int
        do throws(SQLiteFailure) {
            storedKeys = Int(try writer.integer("SELECT max(id) FROM outcomes") ?? 0)
        } catch {
            throw error.ledgerError(path: path)
        }
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, configuration.readers) {
            let reader = try SQLiteConnection(path: path, readOnly: false, create: false)
            reader.setBusyTimeout(milliseconds: busy)
            do throws(SQLiteFailure) {
                try reader.execute("PRAGMA query_only = 1; PRAGMA cache_size = \(readerCacheKiB)")
            } catch {
                throw error.ledgerError(path: path)
            }
            readers.append(reader)
        }
        var inline: [SQLiteConnection] = []
        for _ in 0..<max(0, configuration.inlineReaders) {
            let reader = try SQLiteConnection(path: path, readOnly: false, create: false)
            // Never waits: a probe that meets a lock goes to a reader thread instead (see InlineReaders).
            reader.setBusyTimeout(milliseconds: 0)
            do throws(SQLiteFailure) {
                try reader.execute("PRAGMA query_only = 1; PRAGMA cache_size = \(readerCacheKiB)")
            } catch {
                throw error.ledgerError(path: path)
            }
            inline.append(reader)
        }
        var checkpointer: SQLiteConnection?
        if configuration.checkpoints {
            let connection = try SQLiteConnection(path: path, readOnly: false, create: false)
            // With NORMAL, each checkpoint flushes the log before it copies and the database file after.
            do throws(SQLiteFailure) {
                try connection.execute("PRAGMA synchronous = NORMAL")
            } catch {
                throw error.ledgerError(path: path)
            }
            checkpointer = connection
        }
        return (Connections(writer: writer, checkpointer: checkpointer, readers: readers, inline: inline), storedKeys)
    }

    /// The most keys the filter is sized for at start-up (64 Mi, about 120 MiB); it grows past that as keys come.
    static let filterEstimateLimit = 1 << 26
    /// Each reader's page cache (negative: KiB), 16 MiB: enough for the interior pages of the check's
    /// index at tens of millions of outcomes, so that a probe reads at most its leaf page from the file.
    private static let readerCacheKiB = -16_384
    /// How long a reader thread keeps watching for the next query before it sleeps. With the asking task's
    /// own watch (``ReadHandOff``) it took a query's hand-off from p50 20 µs to 6.5 µs in
    /// `LedgerBenchmarks`; when queries are sparse it costs at most this much yielded CPU time per query.
    static let readerSpin = Duration.microseconds(50)
    /// The writer's page cache, 32 MiB: each outcome updates seven indexes, and their interior pages
    /// stay cached across group commits.
    private static let writerCacheKiB = -32_768

    /// Whether the start-up scan has put every stored key into the in-memory filter of the idempotency
    /// check (until then, every check queries SQLite).
    public var isKeyFilterComplete: Bool { decidedKeys.filter.isComplete }

    /// Whether the idempotency check is answered from memory for decided keys too: the start-up scan has put
    /// every stored decision into the ``DecisionMemo``, and they fit in ``SQLiteLedgerConfiguration/decisionsInMemory``.
    public var areDecisionsInMemory: Bool { decidedKeys.memo.phase == .complete }

    // MARK: - Running work on the threads

    /// Queues a write and waits until the transaction holding it is durable.
    func write<Value: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>
    ) async throws(LedgerError) -> Value {
        let result = await withCheckedContinuation { continuation in
            let job = SQLiteWrite(body, continuation: continuation)
            if !writes.submit(job) { continuation.resume(returning: .failure(Self.closed)) }
        }
        return try result.get()
    }

    /// Runs a query on a reader thread; the result comes back through a ``ReadHandOff``.
    func read<Value: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws -> Value
    ) async throws(LedgerError) -> Value {
        if let failed = flusher?.failed { throw failed }
        let path = configuration.path
        let handOff = ReadHandOff<Result<Value, LedgerError>>()
        let accepted = reads.submit { connection in
            do {
                handOff.deliver(.success(try body(connection)))
            } catch let failure as SQLiteFailure {
                handOff.deliver(.failure(failure.ledgerError(path: path)))
            } catch let error as LedgerError {
                handOff.deliver(.failure(error))
            } catch {
                handOff.deliver(.failure(.fatal("internal", "\(error)")))
            }
        }
        guard accepted else { throw Self.closed }
        return try await handOff.result().get()
    }

    /// Throws when the file could not answer: the ledger is closed, or its log could not be flushed (whatever
    /// memory would answer is then no longer known to be durable).
    func checkServing() throws(LedgerError) {
        if let failed = flusher?.failed { throw failed }
        if !isOpen.load(ordering: .relaxed) { throw Self.closed }
    }

    /// Runs a short probe on the calling thread when an ``InlineReaders`` connection is free, otherwise
    /// on a reader thread (``read(_:)``).
    func probe<Value: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Value
    ) async throws(LedgerError) -> Value {
        if let failed = flusher?.failed { throw failed }
        if let answered = inlineReaders.run(body) {
            return try answered.mapError { $0.ledgerError(path: configuration.path) }.get()
        }
        return try await read(body)
    }

    static let closed = LedgerError.retryable("closed", "the ledger is closed")

    /// The writer's turn: all waiting jobs in one transaction; a failed transaction is retried when
    /// busy, then each job alone so that one bad write cannot fail the others. A committed transaction's
    /// jobs resume after `flusher` has flushed it, or after the writer flushed it itself when the batch is
    /// small and no flush is running (at once without a flusher: `synchronous` is `normal`).
    static func commit(
        _ jobs: [any SQLiteWriteJob], on connection: SQLiteConnection, flusher: LogFlusher?, storage: StorageFailure,
        memo: DecisionMemo
    ) {
        if let failed = flusher?.failed {
            // Committing would make the batch visible to readers with no way to make it durable.
            for job in jobs { job.finish(failed) }
            return
        }
        var attempts = 0
        while true {
            do throws(SQLiteFailure) {
                let changesBefore = connection.totalChanges
                memo.beginChanges()
                do throws(SQLiteFailure) {
                    try connection.transaction { () throws(SQLiteFailure) in
                        for job in jobs { try job.perform(connection) }
                    }
                } catch {
                    // What the memo learnt from the rolled-back transaction is no longer true.
                    memo.undoChanges()
                    throw error
                }
                memo.keepChanges()
                // Only a transaction that wrote shows that the disk takes writes (a readiness probe writes nothing).
                if connection.totalChanges != changesBefore { storage.committed() }
                guard let flusher else {
                    for job in jobs { job.finish(nil) }
                    return
                }
                if jobs.count <= Self.largestBatchFlushedHere && flusher.flushHere(jobs) { return }
                // Closed only after the writer's last turn; never claim durability without the flush.
                if !flusher.submit(jobs) { for job in jobs { job.finish(closed) } }
                return
            } catch {
                attempts += 1
                if error.isBusy && attempts < 3 { continue }
                if jobs.count > 1 && !error.isBusy {
                    for job in jobs { commit([job], on: connection, flusher: flusher, storage: storage, memo: memo) }
                    return
                }
                let ledgerError = error.ledgerError(path: connection.path)
                storage.failed(ledgerError)
                for job in jobs { job.finish(ledgerError) }
                return
            }
        }
    }

    /// The largest batch the writer flushes itself when no flush is running (``LogFlusher/flushHere(_:)``):
    /// a few writes at a time means light load, where a thread hop costs more than the pipeline saves.
    static let largestBatchFlushedHere = 16

    var now: Int64 { LedgerCoding.milliseconds(configuration.now()) }

    func windowMilliseconds(_ adapter: String) -> Int64? {
        configuration.dedupe.window(for: adapter).map { Int64(($0.timeInterval * 1000).rounded()) }
    }
}
