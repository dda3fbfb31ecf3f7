/// One shard of the ``DecisionMemo``: an open-addressing hash table of 16-byte slots (the fingerprint's high
/// word, then the ``DecisionEntry`` word), probed linearly; a removal shifts the slots after it back, so
/// no tombstone slows later probes. It doubles past 85 % full and halves under 20 % when emptied by
/// removals (never under its starting size).
struct DecisionTable {
    /// Two words per slot; a first word of 0 marks an empty slot.
    private var words: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private let smallest: Int
    /// The keys the writer removed while a scan fills the memo: the scan must not bring them back.
    var removedWhileFilling: Set<DecisionMemo.Fingerprint> = []

    init(expecting keys: Int) {
        var slots = 1024
        while slots * 85 / 100 < keys { slots *= 2 }
        smallest = slots
        words = [UInt64](repeating: 0, count: slots * 2)
        mask = slots - 1
    }

    var capacity: Int { mask + 1 }

    func value(_ fingerprint: DecisionMemo.Fingerprint) -> UInt64? {
        guard let slot = find(fingerprint) else { return nil }
        return words[slot * 2 + 1]
    }

    /// Sets the key's entry; returns the entry it replaced.
    mutating func set(_ fingerprint: DecisionMemo.Fingerprint, entry: UInt64) -> UInt64? {
        if let slot = find(fingerprint) {
            let previous = words[slot * 2 + 1]
            words[slot * 2 + 1] = entry
            return previous
        }
        add(fingerprint.high, entry)
        return nil
    }

    /// Adds the key's entry unless it has one; true when added.
    mutating func insertIfAbsent(_ fingerprint: DecisionMemo.Fingerprint, entry: UInt64) -> Bool {
        guard find(fingerprint) == nil else { return false }
        add(fingerprint.high, entry)
        return true
    }

    /// Removes the key; returns its entry.
    mutating func remove(_ fingerprint: DecisionMemo.Fingerprint) -> UInt64? {
        guard var hole = find(fingerprint) else { return nil }
        let removed = words[hole * 2 + 1]
        // Backward shift: move each later slot of the run into the hole when its home does not lie
        // (cyclically) between the hole and itself.
        var next = (hole + 1) & mask
        while words[next * 2] != 0 {
            let home = self.home(words[next * 2])
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                words[hole * 2] = words[next * 2]
                words[hole * 2 + 1] = words[next * 2 + 1]
                hole = next
            }
            next = (next + 1) & mask
        }
        words[hole * 2] = 0
        words[hole * 2 + 1] = 0
        count -= 1
        if capacity > smallest && count < capacity / 5 { resize(to: capacity / 2) }
        return removed
    }

    /// Empties the table, at its starting size unless `keepingCapacity`.
    mutating func empty(keepingCapacity: Bool) {
        count = 0
        removedWhileFilling = []
        if keepingCapacity {
            for index in words.indices { words[index] = 0 }
        } else {
            words = [UInt64](repeating: 0, count: smallest * 2)
            mask = smallest - 1
        }
    }

    private func home(_ high: UInt64) -> Int {
        Int(truncatingIfNeeded: high) & mask
    }

    private func find(_ fingerprint: DecisionMemo.Fingerprint) -> Int? {
        var slot = home(fingerprint.high)
        while true {
            let high = words[slot * 2]
            if high == 0 { return nil }
            if high == fingerprint.high && DecisionEntry(words[slot * 2 + 1]).tag == fingerprint.tag { return slot }
            slot = (slot + 1) & mask
        }
    }

    private mutating func add(_ high: UInt64, _ entry: UInt64) {
        if (count + 1) * 100 > capacity * 85 { resize(to: capacity * 2) }
        place(high, entry)
        count += 1
    }

    private mutating func place(_ high: UInt64, _ entry: UInt64) {
        var slot = home(high)
        while words[slot * 2] != 0 { slot = (slot + 1) & mask }
        words[slot * 2] = high
        words[slot * 2 + 1] = entry
    }

    private mutating func resize(to slots: Int) {
        let old = words
        words = [UInt64](repeating: 0, count: slots * 2)
        mask = slots - 1
        var index = 0
        while index < old.count {
            if old[index] != 0 { place(old[index], old[index + 1]) }
            index += 2
        }
    }
}
