import CSQLite
import SluiceCore

/// An SQLite result code with its message, as SQLite gave it; turned into a ``LedgerError`` at the
/// ledger's boundary.
struct SQLiteFailure: Error, Sendable, CustomStringConvertible {
    var code: Int32
    var message: String

    var primaryCode: Int32 { code & 0xFF }

    var description: String { "\(message) (SQLite code \(code))" }

    /// Busy or locked: another connection holds the lock.
    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// The ledger error for this failure on the database at `path`.
    func ledgerError(path: String, opening: Bool = false) -> LedgerError {
        switch primaryCode {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .retryable("busy", "the ledger \(path) is locked by another connection or process (\(message))")
        case SQLITE_FULL:
            return .retryable("full", "the disk holding the ledger \(path) is full (\(message))")
        case SQLITE_IOERR:
            return .retryable("io", "I/O error on the ledger \(path) (\(message), code \(code))")
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return .fatal("corrupt", "\(path) is not a SQLite database or is corrupt (\(message)); move it aside to start a new ledger")
        case SQLITE_CANTOPEN:
            return .fatal("cannot_open", "cannot open the ledger \(path): \(opening ? "check that the path is a file you can read and write" : message)")
        case SQLITE_READONLY:
            return .fatal("read_only", "the ledger \(path) is read-only (\(message))")
        case SQLITE_PERM, SQLITE_AUTH:
            return .fatal("permission", "no permission to use the ledger \(path) (\(message))")
        default:
            return .fatal("sqlite", "the ledger \(path) failed: \(message) (SQLite code \(code))")
        }
    }
}
