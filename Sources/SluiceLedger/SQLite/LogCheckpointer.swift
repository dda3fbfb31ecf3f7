import CSQLite
import Foundation
import SluiceCore

/// Copies the write-ahead log into the database file on its own thread, so that the writer does not
/// stop committing while a checkpoint runs.
///
/// SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages: that
/// commit copies the whole log into the database file and flushes the file, ~24 ms on this machine
/// about every 5,000 outcomes, ~12 % of the writer's time. Instead the writer connection watches the
/// log's size (``SQLiteConnection/watchLogSize()``, which also turns the automatic checkpoint off), and
/// once the log holds ``threshold`` frames (``SQLiteLedgerConfiguration/checkpointPages``) it asks this
/// thread, which copies the log with passive checkpoints on its own connection while the writer goes on
/// committing, and flushes the database file after each.
///
/// A passive checkpoint never catches up with a busy writer, and the log starts over only once every
/// frame in it is copied: left alone, it would grow without end. So the frames committed during the
/// copy are copied by the writer itself, between two transactions (``afterTurn(on:)``): a checkpoint
/// with little to copy, whose two flushes (log, then database file) are most of its cost, measured at
/// 4–18 ms under load against ~24 ms for a whole 1,000-page checkpoint, and at the default threshold
/// four times rarer. The next transaction then starts the log over.
///
/// Checkpoints only move what is already durable in the log (each one flushes the log before copying).
/// A round that copies part of the log marks those frames copied before the database file is flushed, so a
/// failed flush of the file (or a checkpoint failing with an I/O error) stops the ledger (`flush_failed`, through
/// `stopped`) and stops checkpoints: a later flush could succeed without the pages Linux dropped, and the log
/// would then start over without them. A restart copies the log again from its start.
final class LogCheckpointer: @unchecked Sendable {
    private enum Phase {
        case idle, copying
        /// The thread's rounds are done; `wholeLog` is the log's size when the last round copied all of it.
        case copied(wholeLog: Int?)
    }

    /// The log's size, in frames (pages), at which a checkpoint starts.
    let threshold: Int
    private let requests = WorkQueue<Void>()
    private let finished = DispatchSemaphore(value: 0)
    // Guards `phase`, which the writer and this thread both move.
    private let lock = NSLock()
    private var phase = Phase.idle
    // The writer's own: the log's size when it last asked for a copy. A log that has not grown since (a
    // reader's old snapshot held the last checkpoint back) waits for the next commit instead of being
    // copied again on every idle turn.
    private var requestedAtFrames = 0

    /// Called once, on the first failed flush of the database file; the ledger then refuses writes.
    private let stopped: @Sendable (String) -> Void
    // Set with `stopped`, under `lock`: no checkpoint runs after a failed flush.
    private var failed = false

    /// Starts the thread, which owns `connection` (a writable connection to the ledger) until it stops.
    init(connection: SQLiteConnection, threshold: Int, stopped: @escaping @Sendable (String) -> Void) {
        self.threshold = threshold
        self.stopped = stopped
        let slot = ConnectionSlot(connection)
        let database = SyncedFile(path: connection.databasePath ?? connection.path, role: "the ledger")
        startNamedThread("ledger-checkpoint") { [self] in run(slot, database: database) }
    }

    /// The writer's part, on the writer thread after each turn: starts a checkpoint when the log has grown
    /// past ``threshold``, and finishes one whose copy is done.
    func afterTurn(on writer: SQLiteConnection) {
        guard !lock.withLock({ failed }) else { return }
        switch lock.withLock({ phase }) {
        case .copied(let wholeLog):
            // The rest of the log. A busy or locked database leaves the frames in the log for the next round; an
            // I/O error may have lost pages the log no longer counts as its own. After a round that copied the
            // whole log, only frames this writer added past it are certainly left to copy: then nobody can start
            // the log over until they are. Otherwise (nothing committed since, a log this writer started over, or
            // frames only another process added) no checkpoint starts: the log may be started over at any moment,
            // by another process's writer too (see ``copy(on:flushing:)``), and the next threshold copies the rest.
            if wholeLog.map({ writer.logFrames > $0 }) ?? true {
                do {
                    _ = try writer.checkpoint()
                } catch {
                    if error.primaryCode == SQLITE_IOERR { fail("checkpointing the ledger failed: \(error)") }
                }
            } else {
                // Not asked again for the same, copied frames on the next idle turn.
                requestedAtFrames = writer.logFrames
            }
            lock.withLock { phase = .idle }
        case .idle where writer.logFrames >= threshold && writer.logFrames != requestedAtFrames:
            requestedAtFrames = writer.logFrames
            lock.withLock { phase = .copying }
            if !requests.submit(()) { lock.withLock { phase = .idle } }
        case .idle, .copying:
            break
        }
    }

    private func fail(_ problem: String) {
        lock.withLock { failed = true }
        stopped(problem)
    }

    /// Stops the thread after the copy in progress, if any; call before the writer's connection closes.
    func close() {
        requests.close()
    }

    /// Blocks until the thread has stopped (after ``close()``). Call off the cooperative pool.
    func join() {
        finished.wait()
    }

    private func run(_ slot: ConnectionSlot, database: SyncedFile) {
        var owned = slot.take()
        var database = database
        while requests.take(limit: 1) != nil, let connection = owned {
            let wholeLog = copy(on: connection, flushing: &database)
            lock.withLock { phase = .copied(wholeLog: wholeLog) }
        }
        owned = nil
        database.close()
        finished.signal()
    }

    /// Copies the log in rounds, each a passive checkpoint and a flush of the database file, until a round
    /// has copied the whole log or has little to copy (at most four), so that the writer's checkpoint has only
    /// the rest to copy and flush. Returns the log's size when the last round copied the whole log.
    ///
    /// No round starts after one that copied the whole log. The writer starts the log over in its next
    /// transaction then, and SQLite up to 3.51.2 (Debian 12 ships 3.40.1) has a race between a checkpoint
    /// starting and another connection starting the log over, which can leave committed pages out of the
    /// database file ("the WAL-reset bug", https://sqlite.org/wal.html#walresetbug). A round after a partial one
    /// is safe: the log is not started over while frames in it are not copied yet, and in this process only
    /// this thread and, once this thread is done, the writer itself copy the log. For the same reason the writer
    /// copies no rest after a round that copied the whole log unless it added frames past it: the command-line
    /// tools (`sluice replay`) write to the same file and never checkpoint, but their writes start the log over
    /// whenever all of it is copied.
    private func copy(on connection: SQLiteConnection, flushing database: inout SyncedFile) -> Int? {
        var copiedBefore: Int?
        // Each round copies what the writer committed during the last one, and flushes it: the rounds
        // shrink until one has little to copy.
        for _ in 0..<4 {
            // An error (another process checkpointing, a full disk) leaves the copy to the writer's checkpoint.
            let log: Int
            let copied: Int
            do {
                (log, copied) = try connection.checkpoint()
            } catch {
                if error.primaryCode == SQLITE_IOERR { fail("checkpointing the ledger failed: \(error)") }
                return nil
            }
            if let problem = database.flush() {
                fail(problem)
                return nil
            }
            if copied >= log { return log }
            if let copiedBefore, copied - copiedBefore <= threshold / 8 { return nil }
            copiedBefore = copied
        }
        return nil
    }
}
