import Synchronization

/// A `Mutex` that closures can share: a reference to one lock-protected value.
///
/// `Mutex` is non-copyable, so escaping callbacks (librdkafka's, settlement closures) cannot capture one
/// directly; they capture this box instead.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: sending Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with exclusive access to the value. Never await, block or call out while holding it.
    func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        try mutex.withLock(body)
    }
}
