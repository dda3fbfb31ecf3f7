import Synchronization

/// Hands a connection to the thread that will own it, without the thread's closure keeping it alive.
///
/// A thread's closure lives until the thread has exited, a moment after it reports that it stopped; a
/// connection captured by it would close only then, so a ledger could return from `close()` with a
/// connection still open (another program changing the file's journal mode then finds it locked). Taken
/// from a slot, the connection closes when the thread lets go of it, before the thread reports.
final class ConnectionSlot: Sendable {
    private let slot: Mutex<SQLiteConnection?>

    init(_ connection: SQLiteConnection) {
        slot = Mutex(connection)
    }

    /// The connection, once: the slot is empty afterwards.
    func take() -> SQLiteConnection? {
        slot.withLock { connection in
            defer { connection = nil }
            return connection
        }
    }
}
