import Synchronization

/// A flag one thread sets under a lock and others read without it: whether any record of an ordered source may be
/// taken back at the gate's door now (see `KafkaSource.State.holds`).
final class HoldGauge: Sendable {
    private let flag = Atomic<Bool>(false)

    /// The flag as last set; a read after the setter's unlock (by a happens-before chain) sees its value.
    var value: Bool { flag.load(ordering: .acquiring) }

    func set(_ value: Bool) {
        flag.store(value, ordering: .releasing)
    }
}
