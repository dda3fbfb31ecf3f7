import Synchronization

/// The newest outcome id past `max_outcomes`, kept between the batches of a pruning run: finding it walks that many
/// rows (seconds at ten million), and a run deletes a batch at a time. Rows recorded meanwhile only move the true
/// threshold up, so a kept one never deletes a row that should stay; it is found again once the rows up to it are gone.
final class PruneThreshold: Sendable {
    private let known = Mutex<(maxOutcomes: Int, upTo: Int64)?>(nil)

    /// The threshold found for `maxOutcomes` by an earlier batch whose rows up to it are not all deleted yet.
    func kept(for maxOutcomes: Int) -> Int64? {
        known.withLock { known in known.flatMap { $0.maxOutcomes == maxOutcomes ? $0.upTo : nil } }
    }

    /// Keeps `threshold` for the next batch (nil: nothing to count, forgets any kept).
    func keep(_ threshold: Int64?, for maxOutcomes: Int?) {
        known.withLock { known in
            if let threshold, let maxOutcomes { known = (maxOutcomes, threshold) } else { known = nil }
        }
    }

    /// A batch deleted every row up to the kept threshold: the next batch finds it again.
    func forget() {
        known.withLock { $0 = nil }
    }
}
