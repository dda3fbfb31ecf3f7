import Synchronization

/// An in-memory filter of the idempotency keys the SQLite ledger holds a decision for: it answers "never
/// decided" for a new key without a query, a thread hand-off or a page of the file, which is the common
/// case of the check before every engine call. "Maybe decided" still asks SQLite (the window and the
/// decision itself are there), so the filter can only save work, never change an answer, as long as every
/// stored key was added to it.
///
/// Keys are added by the writer as it inserts them, by the writer's look at other processes' decisions
/// (within ``DecidedKeyScanner/syncInterval``), and by a scan of the stored keys on a thread of its own, at
/// start-up and again whenever the filter has grown to twice what it held after the last scan (at least
/// 4 Mi keys): pruned keys stay in a Bloom filter, so without a rebuild it would grow with every key ever
/// written. Until a scan is complete every key is "maybe decided".
///
/// A blocked Bloom filter (all of a key's bits in one 64-byte block, one cache miss per probe), 10 bits per
/// key of capacity and about 1 % false positives when full; a full filter gets a new one of twice the
/// capacity beside it.
final class DecidedKeyFilter: Sendable {
    private struct Segment {
        /// 8 words (512 bits) per block.
        var words: [UInt64]
        let blocks: UInt64
        let capacity: Int
        var count = 0

        init(capacity: Int) {
            // 10 bits per key, in whole blocks.
            let blocks = (capacity * 10 + 511) / 512
            words = [UInt64](repeating: 0, count: blocks * 8)
            self.blocks = UInt64(blocks)
            self.capacity = capacity
        }

        /// The first word of the hash's block: the low 32 bits scaled onto the block count.
        func base(_ hash: UInt64) -> Int {
            Int(truncatingIfNeeded: ((hash & 0xFFFF_FFFF) &* blocks) >> 32) &* 8
        }

        mutating func insert(_ hash: UInt64) {
            let start = base(hash)
            var bits = DecidedKeyFilter.mix(hash)
            for _ in 0..<DecidedKeyFilter.probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                words[start + (bit >> 6)] |= 1 << UInt64(bit & 63)
                bits >>= 9
            }
            count += 1
        }

        func contains(_ hash: UInt64) -> Bool {
            let start = base(hash)
            var bits = DecidedKeyFilter.mix(hash)
            for _ in 0..<DecidedKeyFilter.probes {
                let bit = Int(truncatingIfNeeded: bits & 511)
                if words[start + (bit >> 6)] & (1 << UInt64(bit & 63)) == 0 { return false }
                bits >>= 9
            }
            return true
        }
    }

    private struct State {
        var segments: [Segment]
        var complete = false
        /// Which scan's result the filter waits for (a reset starts a new one).
        var generation = 0
        /// Keys added since the last reset.
        var count = 0
        /// The count at which the filter asks to be rebuilt (set when a scan completes).
        var rebuildAt = Int.max
    }

    /// Bits set per key (7 × 9 bits of the mixed hash).
    static let probes = 7
    private let state: Mutex<State>
    /// Per-process random seed: the filter never leaves the process, and keys chosen by senders cannot
    /// be aimed at one block.
    private let seed: Int

    /// The fewest keys the filter holds before it asks for a rebuild (4 Mi in production).
    private let minimumRebuildCount: Int

    /// A filter sized for `capacity` keys before it grows.
    init(capacity: Int, minimumRebuildCount: Int = 1 << 22) {
        state = Mutex(State(segments: [Self.segment(capacity)]))
        seed = Int.random(in: .min ... .max)
        self.minimumRebuildCount = minimumRebuildCount
    }

    private static func segment(_ capacity: Int) -> Segment {
        Segment(capacity: max(1 << 16, capacity))
    }

    /// Records that `key` of `adapter` has (or may have) a stored decision.
    func insert(adapter: String, key: String) {
        let hash = self.hash(adapter, key)
        state.withLock { state in
            if let last = state.segments.last, last.count >= last.capacity {
                state.segments.append(Segment(capacity: last.capacity * 2))
            }
            state.segments[state.segments.count - 1].insert(hash)
            state.count += 1
        }
    }

    /// False only when `key` of `adapter` certainly has no stored decision.
    func mightContain(adapter: String, key: String) -> Bool {
        let hash = self.hash(adapter, key)
        return state.withLock { state in
            guard state.complete else { return true }
            return state.segments.contains { $0.contains(hash) }
        }
    }

    /// Empties the filter for a new scan, sized for `capacity` keys; returns the scan's generation.
    func reset(capacity: Int) -> Int {
        state.withLock { state in
            state.segments = [Self.segment(capacity)]
            state.complete = false
            state.count = 0
            state.rebuildAt = .max
            state.generation += 1
            return state.generation
        }
    }

    /// Called once scan `generation` has added every stored key: from now on "absent" is an answer (unless
    /// the filter was reset since that scan began).
    func markComplete(generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            state.complete = true
            state.rebuildAt = max(2 * state.count, minimumRebuildCount)
        }
    }

    /// The generation a scan starting now completes.
    var generation: Int { state.withLock { $0.generation } }

    var isComplete: Bool { state.withLock { $0.complete } }

    /// True when the filter holds twice what it held after its last scan: time to rebuild it from the
    /// stored keys, dropping the pruned ones. The number of keys it holds now is returned too (at most the
    /// stored keys: the rebuilt filter is sized for them).
    var rebuildNeeded: (needed: Bool, keys: Int) {
        state.withLock { ($0.complete && $0.count >= $0.rebuildAt, $0.count) }
    }

    private func hash(_ adapter: String, _ key: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(seed)
        hasher.combine(adapter)
        hasher.combine(key)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// A second, independent-looking 64 bits from the first (splitmix64's finaliser): the block comes from
    /// the low bits of the hash, the probes from these.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
