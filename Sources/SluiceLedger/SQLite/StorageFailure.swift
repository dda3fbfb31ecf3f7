import SluiceCore
import Synchronization

/// The last write the disk refused (`full`, `io`), until a transaction commits again: what readiness reports.
///
/// A readiness probe's empty transaction writes nothing, so it passes on a full disk while every real write
/// fails; the writer notes its failures here instead. A failure older than ``memory`` with no write since is
/// forgotten, so that a ledger with no traffic becomes ready again once the disk has room (the next write
/// notes it again if not).
final class StorageFailure: Sendable {
    private let last = Mutex<(error: LedgerError, at: ContinuousClock.Instant)?>(nil)

    /// How long a refused write keeps readiness false without another write.
    static let memory: Duration = .seconds(30)

    /// The storage reasons among ``LedgerError``'s: the disk, not the write, failed.
    static func isStorage(_ error: LedgerError) -> Bool { error.reason == "full" || error.reason == "io" }

    /// Notes a failed transaction's error when the disk refused it.
    func failed(_ error: LedgerError) {
        guard Self.isStorage(error) else { return }
        last.withLock { $0 = (error, .now) }
    }

    /// A transaction committed: the disk takes writes.
    func committed() {
        last.withLock { if $0 != nil { $0 = nil } }
    }

    /// The refusal readiness reports, if a recent one stands.
    var current: LedgerError? {
        last.withLock { state in
            guard let state, ContinuousClock.now - state.at < Self.memory else { return nil }
            return state.error
        }
    }
}
