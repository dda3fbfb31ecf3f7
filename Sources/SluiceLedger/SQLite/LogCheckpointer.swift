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
/// Checkpoints only move what is already durable in the log (each one flushes the log before copying),
/// so a failed one loses nothing: the frames stay in the log and the next round copies them.
final class LogCheckpointer: @unchecked Sendable {
    private enum Phase { case idle, copying, copied }

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

    /// Starts the thread, which owns `connection` (a writable connection to the ledger) until it stops.
    init(connection: SQLiteConnection, threshold: Int) {
        self.threshold = threshold
        let slot = ConnectionSlot(connection)
        let database = SyncedFile(path: connection.databasePath ?? connection.path, role: "the ledger")
        startNamedThread("ledger-checkpoint") { [self] in run(slot, database: database) }
    }

    /// The writer's part, on the writer thread after each turn: starts a checkpoint when the log has grown
    /// past ``threshold``, and finishes one whose copy is done.
    func afterTurn(on writer: SQLiteConnection) {
        switch lock.withLock({ phase }) {
        case .copied:
            // The rest of the log; an error leaves the frames in the log, and the next round copies them.
            _ = try? writer.checkpoint()
            lock.withLock { phase = .idle }
        case .idle where writer.logFrames >= threshold && writer.logFrames != requestedAtFrames:
            requestedAtFrames = writer.logFrames
            lock.withLock { phase = .copying }
            if !requests.submit(()) { lock.withLock { phase = .idle } }
        case .idle, .copying:
            break
        }
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
            copy(on: connection, flushing: &database)
            lock.withLock { phase = .copied }
        }
        owned = nil
        database.close()
        finished.signal()
    }

    /// Copies the log in rounds, each a passive checkpoint and a flush of the database file, until a round
    /// has little to copy (at most four), so that the writer's checkpoint has only the rest to copy and flush.
    private func copy(on connection: SQLiteConnection, flushing database: inout SyncedFile) {
        var copiedBefore: Int?
        // Each round copies what the writer committed during the last one, and flushes it: the rounds
        // shrink until one has little to copy.
        for _ in 0..<4 {
            // An error (another process checkpointing, a full disk) leaves the copy to the writer's checkpoint.
            guard let (_, copied) = try? connection.checkpoint() else { break }
            // A failure shows again in the writer's checkpoint, which flushes the file and fails without it.
            _ = database.flush()
            if let copiedBefore, copied - copiedBefore <= threshold / 8 { break }
            copiedBefore = copied
        }
    }
}
