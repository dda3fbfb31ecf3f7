import Foundation
import Synchronization

/// The start-up scan that adds every stored key to a ``DecidedKeyFilter``, on a thread of its own with
/// its own read connection (one snapshot), while the ledger already serves: until it completes, the filter
/// answers "maybe decided" and every check asks SQLite.
///
/// A failed scan (the file went away, an I/O error) leaves the filter incomplete, which only costs the
/// query it would have saved.
final class DecidedKeyScan: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the scan of the ledger at `path`.
    init(path: String, into filter: DecidedKeyFilter) {
        let thread = Thread { [self] in
            defer { finished.signal() }
            guard let connection = try? SQLiteConnection(path: path, readOnly: true, create: false) else { return }
            do throws(SQLiteFailure) {
                // The unique index on (adapter, idempotency_key) covers this: no table page is read.
                let select = try connection.prepare("SELECT adapter, idempotency_key FROM outcomes")
                var rows = 0
                while try select.step() {
                    filter.insert(adapter: select.text(0) ?? "", key: select.text(1) ?? "")
                    rows += 1
                    if rows & 0xFFFF == 0, cancelled.load(ordering: .relaxed) { return }
                }
                filter.markComplete()
            } catch {
                return
            }
        }
        thread.name = "sluice-ledger-keys"
        thread.start()
    }

    /// Asks the scan to stop soon; does not wait.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Stops the scan and waits for its thread to end. Call off the cooperative pool.
    func stop() {
        cancel()
        finished.wait()
        finished.signal()  // a second stop returns at once
    }
}
