import Foundation
import Synchronization

/// One query's result, handed from a reader thread back to the task that asked for it.
///
/// The asking task watches for the result for a moment before it suspends: most queries of the ledger
/// (the idempotency check of a key that may be decided) take a few microseconds on a reader thread that
/// is itself watching its queue, and resuming a suspended task costs more than that when Swift's thread
/// for it has gone to sleep (about 10 µs at the median on the 2-core VM this was measured on). The task
/// never blocks: it reads an atomic and yields the CPU between looks, for at most ``watch``, then
/// suspends as usual; a query that takes longer (a page read from disk, a listing) costs it that much
/// yielded time once.
final class ReadHandOff<Value: Sendable>: @unchecked Sendable {
    /// How long the asking task watches before it suspends.
    static var watch: Duration { .microseconds(50) }

    private enum Phase: Int {
        case pending = 0
        /// The reader stored `value` (before it published this phase).
        case delivered = 1
        /// The task stored `continuation` (before it published this phase) and suspended.
        case suspended = 2
    }

    private let phase = Atomic<Int>(Phase.pending.rawValue)
    // Each of these is written by one side before it publishes its phase, and read by the other side
    // only after it has seen that phase: the atomic's acquire and release order them.
    private var value: Value?
    private var continuation: CheckedContinuation<Value, Never>?

    /// On the reader thread: hands `value` to the task, resuming it if it already suspended.
    func deliver(_ value: Value) {
        self.value = value
        let (delivered, _) = phase.compareExchange(
            expected: Phase.pending.rawValue, desired: Phase.delivered.rawValue, ordering: .acquiringAndReleasing)
        if !delivered { continuation?.resume(returning: value) }
    }

    /// In the asking task: the result, once the reader has delivered it.
    func result() async -> Value {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.watch
        repeat {
            if phase.load(ordering: .acquiring) == Phase.delivered.rawValue { return delivered }
            sched_yield()
        } while clock.now < deadline
        return await withCheckedContinuation { continuation in
            self.continuation = continuation
            let (suspended, _) = phase.compareExchange(
                expected: Phase.pending.rawValue, desired: Phase.suspended.rawValue, ordering: .acquiringAndReleasing)
            // Delivered between the last look and now: the value is there.
            if !suspended { continuation.resume(returning: delivered) }
        }
    }

    /// The value, once the phase read with acquire ordering said it was delivered.
    private var delivered: Value {
        guard let value else { preconditionFailure("a read was marked delivered without its value") }
        return value
    }
}
