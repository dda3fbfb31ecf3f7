import Foundation
import Logging
import SluiceCore
import Synchronization

/// Every stored decision of the SQLite ledger, in memory, in 16 bytes a key: the idempotency check of a
/// decided key is answered here (hundreds of nanoseconds) instead of by a probe of the file (a page read
/// and the log's locks, tens of microseconds at ten million outcomes).
///
/// A key is kept as an 76-bit fingerprint of its adapter and key (two hashes with per-process random seeds:
/// two keys share one with a probability of about 10⁻¹⁶ per check at ten million keys) with its outcome and
/// reason (one byte: a code of this process's table of the pairs seen) and when it was recorded (44 bits of
/// milliseconds, to the year 2527). A decision the byte or the 44 bits cannot hold (more than 254 pairs, a
/// clock before 1970) is kept as "decided, ask the file".
///
/// The memo answers only while it is complete: filled by a scan of the stored decisions (``beginFill(expecting:)``,
/// ``fill(adapter:key:recordedAt:kind:reason:)``, ``completeFill(generation:)``) and kept exact by the writer,
/// which sets each decision it inserts and removes each it deletes, inside the transaction, with an undo log
/// that a rolled-back transaction plays backwards (``beginChanges()``, ``keepChanges()``, ``undoChanges()``).
/// While the scan runs, the writer's changes win: a key the scan reaches after the writer set it is not
/// overwritten, and a key the writer removed meanwhile is not brought back.
///
/// It holds at most ``maximumKeys``; past that it empties itself and answers nothing (every check then takes the
/// path it took before: the key filter, then the file) until a later scan finds the stored keys fit again.
final class DecisionMemo: Sendable {
    /// What the memo knows of a key.
    enum Answer: Equatable {
        /// No live decision is stored: never decided, pruned, or past the dedupe window.
        case absent
        case decided(DecisionSummary)
        /// The memo cannot tell (not complete, over its size, or a decision it keeps as "ask the file").
        case unknown
    }

    enum Phase: Equatable {
        /// A scan is filling the memo; it does not answer yet.
        case filling(generation: Int)
        case complete
        /// More keys than ``maximumKeys``: empty and silent until the next scan.
        case overfull
    }

    /// A key's 76 bits: the whole of `high` (never 0: 0 marks an empty slot) and 12 bits of `tag`.
    struct Fingerprint: Hashable {
        let high: UInt64
        let tag: UInt64
    }

    /// The most keys the memo holds (`SQLiteLedgerConfiguration.decisionsInMemory`).
    let maximumKeys: Int
    private let shards: [Shard]
    private let status: Mutex<Status>
    private let codes = Mutex(OutcomeCodes())
    /// The writer's changes in the transaction it is running, to undo if it rolls back (writer thread only).
    private let undo = Mutex<[Undo]?>(nil)
    private let seeds: (Int, Int)

    private struct Status {
        var phase: Phase = .filling(generation: 0)
        var generation = 0
        var count = 0
    }

    /// One change of the writer's transaction: the key's earlier entry (nil: there was none), whether the change
    /// removed it, and whether that removal marked the key for the scan to skip.
    private struct Undo {
        let fingerprint: Fingerprint
        let previous: UInt64?
        let removal: Bool
        var markedForTheScan = false
    }

    static let shardCount = 64

    /// A memo that will hold at most `maximumKeys`, sized for `expectedKeys` to start with.
    init(maximumKeys: Int, expectedKeys: Int) {
        self.maximumKeys = max(0, maximumKeys)
        let perShard = min(expectedKeys, self.maximumKeys) / Self.shardCount
        shards = (0..<Self.shardCount).map { _ in Shard(DecisionTable(expecting: perShard)) }
        status = Mutex(Status(phase: maximumKeys > 0 ? .filling(generation: 0) : .overfull))
        seeds = (Int.random(in: .min ... .max), Int.random(in: .min ... .max))
    }

    var phase: Phase { status.withLock { $0.phase } }

    /// Entries in the tables (``count`` while the memo answers; tests read it after it stepped aside).
    var entriesHeld: Int { shards.reduce(0) { total, shard in total + shard.withLock { $0.count } } }

    private var isComplete: Bool { status.withLock { $0.phase == .complete } }

    /// Keys held now.
    var count: Int { status.withLock { $0.count } }

    // MARK: - Answers

    /// The live decision of `key`, given the adapter's dedupe window (milliseconds; nil: forever).
    func answer(adapter: String, key: String, now: Int64, window: Int64?) -> Answer {
        guard isComplete else { return .unknown }
        let fingerprint = self.fingerprint(adapter, key)
        let entry = shard(fingerprint).withLock { $0.value(fingerprint) }
        // The memo empties its tables only after it stops being complete: complete still, it was complete
        // all through the read.
        guard isComplete else { return .unknown }
        guard let entry else { return .absent }
        let decision = DecisionEntry(entry)
        guard let pair = codes.withLock({ $0.pair(decision.code) }) else { return .unknown }
        if let window, LedgerCoding.elapsed(since: decision.recordedAt, now: now) >= window { return .absent }
        return .decided(DecisionSummary(kind: pair.kind, reason: pair.reason, recordedAt: LedgerCoding.date(decision.recordedAt)))
    }

    // MARK: - The writer's changes

    /// Starts the undo log of a transaction (writer thread).
    func beginChanges() {
        undo.withLock { $0 = [] }
    }

    /// The transaction committed: its changes stay.
    func keepChanges() {
        undo.withLock { $0 = nil }
    }

    /// The transaction rolled back: its changes are undone, newest first.
    func undoChanges() {
        let changes = undo.withLock { log in
            defer { log = nil }
            return log ?? []
        }
        for change in changes.reversed() {
            if change.markedForTheScan {
                // The row is still stored: the scan must not skip it.
                shard(change.fingerprint).withLock { _ = $0.removedWhileFilling.remove(change.fingerprint) }
            }
            if let previous = change.previous {
                _ = apply(change.fingerprint, entry: previous)
            } else if !change.removal {
                _ = removeEntry(change.fingerprint)
            }
        }
    }

    /// The key now has this decision (an insert the writer made, or another process's seen by the writer).
    func set(adapter: String, key: String, recordedAt: Int64, kind: String, reason: String?) {
        guard accepting else { return }
        let fingerprint = self.fingerprint(adapter, key)
        let entry = DecisionEntry.pack(fingerprint: fingerprint, code: code(kind: kind, reason: reason), recordedAt: recordedAt)
        let previous = apply(fingerprint, entry: entry)
        undo.withLock { $0?.append(Undo(fingerprint: fingerprint, previous: previous, removal: false)) }
    }

    /// The key's decision was deleted (pruned, expired and replaced, given way to a replay).
    func remove(adapter: String, key: String) {
        guard accepting else { return }
        let fingerprint = self.fingerprint(adapter, key)
        // A scan that completes meanwhile leaves at most a mark nobody reads (marks go with the next fill).
        let filling = if case .filling = phase { true } else { false }
        let (previous, marked) = shard(fingerprint).withLock { table in
            let marked = filling && table.removedWhileFilling.insert(fingerprint).inserted
            return (table.remove(fingerprint), marked)
        }
        if previous != nil { count(-1) }
        guard previous != nil || marked else { return }
        undo.withLock { $0?.append(Undo(fingerprint: fingerprint, previous: previous, removal: true, markedForTheScan: marked)) }
    }

    // MARK: - The scan

    /// Empties the memo for a scan of the stored decisions; returns the scan's generation, or nil when
    /// the memo is complete and needs none (or holds no keys at all: ``maximumKeys`` is 0). Called before
    /// the writer starts or on its thread, between transactions, and never while a scan runs.
    func beginFill() -> Int? {
        guard maximumKeys > 0 else { return nil }
        let generation = status.withLock { status -> Int? in
            if status.phase == .complete { return nil }
            status.generation += 1
            status.phase = .filling(generation: status.generation)
            status.count = 0
            return status.generation
        }
        guard let generation else { return nil }
        for shard in shards { shard.withLock { $0.empty(keepingCapacity: true) } }
        return generation
    }

    /// A stored decision that scan `generation` found; the writer's own changes since the scan began win.
    /// Ignored unless the memo is still filling for that scan (past ``maximumKeys`` it stopped).
    func fill(generation: Int, adapter: String, key: String, recordedAt: Int64, kind: String, reason: String?) {
        guard status.withLock({ $0.phase == .filling(generation: generation) }) else { return }
        let fingerprint = self.fingerprint(adapter, key)
        let entry = DecisionEntry.pack(fingerprint: fingerprint, code: code(kind: kind, reason: reason), recordedAt: recordedAt)
        let added = shard(fingerprint).withLock { table -> Bool in
            guard !table.removedWhileFilling.contains(fingerprint) else { return false }
            return table.insertIfAbsent(fingerprint, entry: entry)
        }
        if added { count(+1) }
    }

    /// Scan `generation` has filled in every stored decision: the memo answers from now on.
    func completeFill(generation: Int) {
        status.withLock { status in
            guard status.phase == .filling(generation: generation) else { return }
            status.phase = .complete
        }
        for shard in shards { shard.withLock { $0.removedWhileFilling = [] } }
    }

    // MARK: - Internals

    private var accepting: Bool {
        status.withLock { $0.phase != .overfull }
    }

    /// Sets the key's entry; returns the one it replaced.
    private func apply(_ fingerprint: Fingerprint, entry: UInt64) -> UInt64? {
        let previous = shard(fingerprint).withLock { $0.set(fingerprint, entry: entry) }
        if previous == nil { count(+1) }
        return previous
    }

    private func removeEntry(_ fingerprint: Fingerprint) -> UInt64? {
        let previous = shard(fingerprint).withLock { $0.remove(fingerprint) }
        if previous != nil { count(-1) }
        return previous
    }

    /// Counts keys added or removed; past ``maximumKeys`` the memo empties itself until the next scan.
    private func count(_ change: Int) {
        let overfull = status.withLock { status -> Bool in
            guard status.phase != .overfull else { return false }
            status.count += change
            guard status.count > maximumKeys else { return false }
            status.phase = .overfull
            status.count = 0
            return true
        }
        guard overfull else { return }
        Logger(label: "sluice.ledger").warning(
            "the ledger holds more decisions than it keeps in memory (ledger.decisions_in_memory: \(maximumKeys)); the idempotency check of a decided key reads the file until they fit again (raise the limit, or shorten retention)")
        for shard in shards { shard.withLock { $0.empty(keepingCapacity: false) } }
        undo.withLock { log in if log != nil { log = [] } }
    }

    private func shard(_ fingerprint: Fingerprint) -> Shard {
        shards[Int(truncatingIfNeeded: fingerprint.high >> 58)]
    }

    /// One table and its lock.
    private final class Shard: Sendable {
        private let table: Mutex<DecisionTable>

        init(_ table: DecisionTable) { self.table = Mutex(table) }

        func withLock<Result>(_ body: (inout DecisionTable) -> Result) -> Result {
            table.withLock { body(&$0) }
        }
    }

    private func code(kind: String, reason: String?) -> UInt64 {
        codes.withLock { $0.code(kind: kind, reason: reason) }
    }

    func fingerprint(_ adapter: String, _ key: String) -> Fingerprint {
        var first = Hasher()
        first.combine(seeds.0)
        first.combine(adapter)
        first.combine(key)
        var second = Hasher()
        second.combine(seeds.1)
        second.combine(adapter)
        second.combine(key)
        let high = UInt64(bitPattern: Int64(first.finalize()))
        return Fingerprint(high: high == 0 ? 1 : high, tag: UInt64(bitPattern: Int64(second.finalize())) & 0xFFF)
    }
}

/// One stored decision's second word: the fingerprint's 12-bit tag, the outcome's code and when it was
/// recorded (milliseconds since 1970, 44 bits).
struct DecisionEntry {
    let tag: UInt64
    let code: UInt64
    let recordedAt: Int64

    static let largestTime: Int64 = (1 << 44) - 1

    init(_ word: UInt64) {
        tag = word >> 52
        code = (word >> 44) & 0xFF
        recordedAt = Int64(word & UInt64(Self.largestTime))
    }

    static func pack(fingerprint: DecisionMemo.Fingerprint, code: UInt64, recordedAt: Int64) -> UInt64 {
        // A time the 44 bits cannot hold is kept as "ask the file".
        let fits = (0...largestTime).contains(recordedAt)
        let code = fits ? code : OutcomeCodes.askTheFile
        return fingerprint.tag << 52 | code << 44 | UInt64(fits ? recordedAt : 0)
    }
}

/// The (outcome, reason) pairs of this process, each as one byte of a ``DecisionEntry``.
struct OutcomeCodes {
    /// The code of a decision the memo knows is stored but cannot describe.
    static let askTheFile: UInt64 = 0xFF

    private struct Pair: Hashable {
        let kind: String
        let reason: String?
    }

    private var pairs: [Pair] = []
    private var codes: [Pair: UInt64] = [:]

    mutating func code(kind: String, reason: String?) -> UInt64 {
        let pair = Pair(kind: kind, reason: reason)
        if let code = codes[pair] { return code }
        guard UInt64(pairs.count) < Self.askTheFile else { return Self.askTheFile }
        let code = UInt64(pairs.count)
        pairs.append(pair)
        codes[pair] = code
        return code
    }

    /// The outcome and reason of `code`, as the file's summary reads them; nil for ``askTheFile``.
    func pair(_ code: UInt64) -> (kind: Outcome.Kind, reason: OutcomeReason?)? {
        guard code < UInt64(pairs.count) else { return nil }
        let pair = pairs[Int(code)]
        return (Outcome.Kind(rawValue: pair.kind) ?? .rejected, pair.reason.map(OutcomeReason.init(rawValue:)))
    }
}
