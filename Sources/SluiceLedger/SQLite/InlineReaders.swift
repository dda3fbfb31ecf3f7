import Foundation
import Synchronization

/// Connections that answer the idempotency check on the asking task's own thread, with no hand-off.
///
/// The check of a key that may be decided is one probe of a covering index: a few microseconds of CPU
/// and at most one page read from the OS's page cache. Handing it to a reader thread and back cost more
/// than the probe (p99 17–20 µs on the 2-core VM measured, against the 20 µs target for the whole
/// check), so it runs here, under two rules that keep it from waiting on Swift's cooperative pool:
/// - a connection is taken only when one is free, never waited for: otherwise the check goes to a
///   reader thread;
/// - a connection never waits for a lock (busy timeout 0): a probe that meets one (another process
///   recovering the log, or holding the file in exclusive locking mode) goes to a reader thread.
///
/// What is left is CPU and memory: the probe's pages come from the connection's own cache or the OS's.
/// Only a page evicted from both is read from the disk on this thread (a database far larger than the
/// machine's memory), the same as any memory of a process that was paged out. SQLite's own retries
/// when a read races the writer's commit or its restart of the log stay here too: a few microseconds
/// (its first five retries do not sleep, the next sleep 1 µs each, and only a run of ten or more sleeps
/// longer).
///
/// The ledger closes these connections first, while its threads still hold theirs: closing the last
/// connection to a file checkpoints its log, which must not happen on the cooperative pool.
final class InlineReaders: Sendable {
    private struct State {
        var free: [SQLiteConnection]
        /// Connections taken by a probe and not yet given back.
        var lent = 0
        var closed = false
    }

    private let state: Mutex<State>

    init(_ connections: [SQLiteConnection]) {
        state = Mutex(State(free: connections))
    }

    /// Runs `body` on a free connection, on the calling thread. Nil when no connection is free, the ledger
    /// is closing, or the connection would have waited for a lock: then the caller asks a reader thread.
    func run<Value>(_ body: (SQLiteConnection) throws(SQLiteFailure) -> Value) -> Result<Value, SQLiteFailure>? {
        var borrowed = state.withLock { state -> SQLiteConnection? in
            guard !state.closed, let connection = state.free.popLast() else { return nil }
            state.lent += 1
            return connection
        }
        guard borrowed != nil else { return nil }
        // No second reference to the connection: see giveBack(_:).
        let result = Self.probe(borrowed!, body)
        giveBack(&borrowed)
        return result
    }

    private static func probe<Value>(
        _ connection: SQLiteConnection, _ body: (SQLiteConnection) throws(SQLiteFailure) -> Value
    ) -> Result<Value, SQLiteFailure>? {
        do throws(SQLiteFailure) {
            return .success(try body(connection))
        } catch {
            return error.isBusy ? nil : .failure(error)
        }
    }

    /// Returns a borrowed connection, or closes it when the ledger closed meanwhile: the last reference is
    /// dropped before the loan ends, so that ``close()`` returns with every connection closed.
    private func giveBack(_ borrowed: inout SQLiteConnection?) {
        state.withLock { state in
            if !state.closed, let connection = borrowed { state.free.append(connection) }
        }
        borrowed = nil
        state.withLock { $0.lent -= 1 }
    }

    /// Takes every connection out of use and closes the free ones; a probe running now closes its connection
    /// when it ends (``hasLoans`` until then). Never blocks.
    func close() {
        var closing = state.withLock { state -> [SQLiteConnection] in
            state.closed = true
            defer { state.free = [] }
            return state.free
        }
        closing.removeAll()
    }

    /// Whether a probe still holds a connection.
    var hasLoans: Bool { state.withLock { $0.lent > 0 } }
}
