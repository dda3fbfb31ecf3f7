import Foundation
import Logging
import SluiceCore
import Synchronization

/// Fills the ``DecidedKeys`` (the ``DecidedKeyFilter`` and, when it is not complete, the ``DecisionMemo``) from
/// the stored decisions, on a thread of its own with its own read connection (one snapshot), while the ledger
/// serves: at start-up, and again when the filter asks to be rebuilt. Until a scan completes, the filter
/// answers "maybe decided" and every check asks SQLite.
///
/// A failed scan (a lock held too long, an I/O error) is tried again; one that keeps failing leaves the
/// filter incomplete, which only costs the queries it would have saved.
///
/// Decisions that another process writes into the same file (`sluice replay`, a second Sluice) reach the
/// filter and the memo through ``syncOtherWriters(on:)``: the writer thread notices them by `PRAGMA data_version` at
/// least every ``syncInterval`` and adds the rows it has not seen.
final class DecidedKeyScanner: Sendable {
    /// How often the writer thread looks for other processes' decisions, busy or idle.
    static let syncInterval = Duration.milliseconds(100)

    private struct Sync {
        /// Rows up to this id are in the filter (or in the start-up scan's snapshot).
        var seenThrough: Int64
        /// The writer connection's `data_version` at the last look (nil before the first).
        var dataVersion: Int64?
        var lastLook: ContinuousClock.Instant?
    }

    private let path: String
    private let keys: DecidedKeys
    private var filter: DecidedKeyFilter { keys.filter }
    private let cancelled = Atomic<Bool>(false)
    private let running = DispatchGroup()
    private let sync: Mutex<Sync>

    /// - Parameter storedBelow: the largest row id when the ledger opened (rows up to it are scanned at start-up).
    init(path: String, keys: DecidedKeys, storedBelow: Int64) {
        self.path = path
        self.keys = keys
        sync = Mutex(Sync(seenThrough: storedBelow))
    }

    /// On the writer's thread, between transactions: when another connection has committed since the last
    /// look (`data_version` changes only for other connections' commits, and Sluice's readers never commit),
    /// adds the keys of the rows written since. The first look always reads them: a commit between the
    /// start-up scan's snapshot and the first look would not show in `data_version`.
    /// The largest outcome id whose key the filter is known to hold (this writer's or another process's).
    var lastSeenID: Int64 { sync.withLock { $0.seenThrough } }

    func syncOtherWriters(on connection: SQLiteConnection) {
        let now = ContinuousClock.now
        let (due, seenThrough, previous) = sync.withLock { sync in
            let due = sync.lastLook.map { now - $0 >= Self.syncInterval } ?? true
            if due { sync.lastLook = now }
            return (due, sync.seenThrough, sync.dataVersion)
        }
        guard due else { return }
        do throws(SQLiteFailure) {
            // The largest id first, then `data_version`: when no other connection committed up to the second
            // read, every row up to that id is this writer's own (already in the filter), and the next scan
            // can start after it instead of re-reading everything this writer wrote since.
            let largest = try connection.statement("SELECT max(id) FROM outcomes")
            guard try largest.step() else { return }
            let newest = largest.int64(0)
            largest.reset()
            let version = try connection.statement("PRAGMA data_version")
            guard try version.step() else { return }
            let current = version.int64(0)
            version.reset()
            guard previous != current else {
                sync.withLock { $0.seenThrough = max($0.seenThrough, newest) }
                return
            }
            // From the last id seen, not after it: a replay that gives the newest decision way to its own deletes
            // that row, and SQLite hands its id to the new one (without AUTOINCREMENT, max(id) + 1).
            let select = try connection.statement(
                "SELECT id, adapter, idempotency_key, recorded_at, outcome, reason FROM outcomes WHERE id >= ? ORDER BY id")
            select.bind(1, seenThrough)
            defer { select.reset() }
            var last = seenThrough
            while try select.step() {
                last = select.int64(0)
                let (adapter, key) = (select.text(1) ?? "", select.text(2) ?? "")
                filter.insert(adapter: adapter, key: key)
                // Another process's newer decision of a key (a replay's) replaces the memo's.
                keys.memo.set(adapter: adapter, key: key, recordedAt: select.int64(3), kind: select.text(4) ?? "", reason: select.text(5))
            }
            sync.withLock { sync in
                sync.dataVersion = current
                sync.seenThrough = max(sync.seenThrough, last)
            }
        } catch {
            // Looked at again on the next turn.
            sync.withLock { $0.lastLook = nil }
        }
    }

    /// Starts a scan for the filter's current generation (and a new one of the memo's, unless it is complete).
    /// Called before the writer starts or on its thread, between transactions.
    func start() {
        let generation = filter.generation
        let memoGeneration = keys.memo.beginFill()
        running.enter()
        startNamedThread("ledger-keys") { [self] in
            defer { running.leave() }
            scan(generation: generation, memoGeneration: memoGeneration)
        }
    }

    /// On the writer's thread, between transactions (so that every key it added before is committed and
    /// the new scan's snapshot sees it): empties the filter and scans again when it has grown too large.
    func rebuildIfNeeded() {
        let (needed, keys) = filter.rebuildNeeded
        guard needed, !cancelled.load(ordering: .relaxed) else { return }
        _ = filter.reset(capacity: keys)
        start()
    }

    /// Scans; a failed scan is tried again after a second, then, after five failures (logged), every minute:
    /// until a scan completes, every check asks SQLite, and the filter is not rebuilt (it grows with each write).
    private func scan(generation: Int, memoGeneration: Int?) {
        var attempt = 0
        while !cancelled.load(ordering: .relaxed) {
            attempt += 1
            guard let failure = scanOnce(generation: generation, memoGeneration: memoGeneration) else { return }
            if attempt == 5 {
                Logger(label: "sluice.ledger").error(
                    "the ledger's key scan failed 5 times; it is tried again every minute (meanwhile every idempotency check reads the ledger): \(failure)",
                    metadata: ["ledger.path": "\(path)"])
            }
            let pause = attempt < 5 ? 1.0 : 60.0
            var slept = 0.0
            while slept < pause, !cancelled.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 0.1)
                slept += 0.1
            }
        }
    }

    /// Nil when the scan finished (or was cancelled) and needs no retry; otherwise why it failed.
    private func scanOnce(generation: Int, memoGeneration: Int?) -> String? {
        // Read-write but query-only, like the readers: a read-only connection cannot open a WAL database
        // whose shared-memory file is not there yet.
        let connection: SQLiteConnection
        do throws(LedgerError) {
            connection = try SQLiteConnection(path: path, readOnly: false, create: false)
        } catch {
            return error.description
        }
        connection.setBusyTimeout(milliseconds: 5_000)
        do throws(SQLiteFailure) {
            try connection.execute("PRAGMA query_only = 1")
            // The covering index `outcomes_decisions` (or, for the filter alone, the unique index on (adapter,
            // idempotency_key)) holds every column read: no table page is read.
            let select = try connection.prepare(
                memoGeneration == nil
                    ? "SELECT adapter, idempotency_key FROM outcomes"
                    : "SELECT adapter, idempotency_key, recorded_at, outcome, reason FROM outcomes INDEXED BY outcomes_decisions")
            var rows = 0
            while try select.step() {
                let (adapter, key) = (select.text(0) ?? "", select.text(1) ?? "")
                filter.insert(adapter: adapter, key: key)
                if let memoGeneration {
                    keys.memo.fill(
                        generation: memoGeneration, adapter: adapter, key: key, recordedAt: select.int64(2),
                        kind: select.text(3) ?? "", reason: select.text(4))
                }
                rows += 1
                if rows & 0xFFFF == 0, cancelled.load(ordering: .relaxed) { return nil }
            }
            filter.markComplete(generation: generation)
            if let memoGeneration { keys.memo.completeFill(generation: memoGeneration) }
            return nil
        } catch {
            return error.ledgerError(path: path).description
        }
    }

    /// Asks a running scan to stop soon, and no new one to start; does not wait.
    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Stops the scans and waits for their threads to end. Call off the cooperative pool.
    func stop() {
        cancel()
        running.wait()
    }
}
