import Foundation
import SluiceCore
import Synchronization

/// Makes committed transactions durable on its own thread, so that the writer can run the next
/// transaction while the disk flushes the last one (a pipelined group commit).
///
/// With `synchronous=FULL`, SQLite flushes the write-ahead log inside each `COMMIT`, and the writer
/// thread waits for the disk before it can start the next batch. Instead the writer connection runs
/// with `synchronous=NORMAL` (no flush per commit; the log is still flushed before each checkpoint
/// and the database file after it, so the file stays consistent) and hands each committed batch here.
/// This thread flushes the log file with `fdatasync` and only then resumes the batch's callers: a
/// caller still resumes only once its write is on disk. Batches that arrive during a flush share the
/// next one, which covers every commit written before it started.
///
/// A failed flush fails its batch and every later one (after a failed `fdatasync`, Linux may have
/// dropped the unwritten pages and a later flush can succeed without them): the ledger stops
/// acknowledging writes, readiness goes false, and a restart recovers from what is on disk.
final class LogFlusher: @unchecked Sendable {
    private let batches = WorkQueue<[any SQLiteWriteJob]>()
    private let finished = DispatchSemaphore(value: 0)

    // Held during a flush, by this thread or by the writer (``flushHere(_:)``); guards `log` and `failure`.
    private let flushing = NSLock()
    private var log: SyncedFile
    private var failure: LedgerError?
    /// `failure`, readable without waiting for a flush in progress.
    private let failureSeen = Mutex<LedgerError?>(nil)

    /// The flush failure that stopped the ledger, if one did. From then on nothing committed may be
    /// trusted to be on disk: the writer commits nothing more, and reads fail instead of answering
    /// "decided" from a decision that may be lost.
    var failed: LedgerError? { failureSeen.withLock { $0 } }

    /// The database file's path and identity when the ledger opened it.
    private let databasePath: String
    private let database: (device: UInt64, inode: UInt64)?

    /// Starts the thread that flushes the log file at `logPath` (``SQLiteConnection/logPath``) of the database
    /// file at `databasePath`.
    init(logPath: String, databasePath: String) {
        log = SyncedFile(path: logPath, role: "the ledger's log")
        self.databasePath = databasePath
        database = Self.identity(of: databasePath)
        startNamedThread("ledger-flush") { [self] in run() }
    }

    /// The file's device and inode, or nil when there is none.
    private static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    /// Hands over the jobs of a committed transaction; they are resumed after the next flush. Returns
    /// false once closed (the caller resumes them itself).
    func submit(_ jobs: [any SQLiteWriteJob]) -> Bool {
        batches.submit(jobs)
    }

    /// Flushes on the calling thread (the writer's) and resumes `jobs`, when no flush is running; false
    /// when one is (hand the jobs to ``submit(_:)`` instead).
    ///
    /// For small batches, under light load: the callers are resumed one thread hop sooner, and the writes
    /// that arrive during the flush gather into the writer's next transaction instead of each small commit
    /// getting a flush of its own.
    func flushHere(_ jobs: [any SQLiteWriteJob]) -> Bool {
        guard flushing.try() else { return false }
        let error = flush()
        flushing.unlock()
        for job in jobs { job.finish(error) }
        return true
    }

    /// Flushes what was submitted, resumes its callers, and stops the thread; call after the writer's
    /// last commit.
    func close() {
        batches.close()
    }

    /// Blocks until the thread has stopped (after ``close()``). Call off the cooperative pool.
    func join() {
        finished.wait()
    }

    private func run() {
        // Every batch waiting when a flush starts shares it.
        while let waiting = batches.take(limit: 1 << 20) {
            let error = flushing.withLock { flush() }
            for jobs in waiting {
                for job in jobs { job.finish(error) }
            }
        }
        flushing.withLock { log.close() }
        finished.signal()
    }

    /// Stops the ledger as a failed flush of the log does: `problem` is a failed flush of the database file by a
    /// checkpoint. The log's frames were marked copied on the strength of that file's writes, which Linux may
    /// have dropped; only a restart, which copies the log again from its start, recovers them.
    func stop(_ problem: String) {
        flushing.withLock { _ = fail(problem) }
    }

    /// Flushes the log file to disk; the error to give the batch, if any. Call holding `flushing`.
    private func flush() -> LedgerError? {
        if let failure { return failure }
        // A database file deleted or replaced under the ledger still takes the writes through the open
        // connections, but a restart would open what the path holds then: a new, empty ledger, and every write
        // acknowledged since would be lost. (One stat per flush, shared by its batches.)
        if let database, Self.identity(of: databasePath).map({ $0 != database }) ?? true {
            return fail("the ledger \(databasePath) was deleted or replaced while sluice ran")
        }
        // The log exists and keeps its inode while connections are open (SQLite deletes it when the last
        // one closes). One that is gone was deleted under the ledger: what it held cannot be flushed.
        guard let problem = log.flush() else { return nil }
        return fail(problem)
    }

    /// Records the first failure; call holding `flushing`.
    private func fail(_ problem: String) -> LedgerError {
        if let failure { return failure }
        let error = LedgerError.fatal("flush_failed", problem + "; writes are refused until sluice restarts")
        failure = error
        failureSeen.withLock { $0 = error }
        return error
    }
}
