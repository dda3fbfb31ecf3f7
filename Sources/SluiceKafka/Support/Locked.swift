#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A lock-protected value that closures can share (librdkafka's callbacks, settlement closures).
///
/// A plain `pthread_mutex_t` rather than `Synchronization.Mutex`: on Linux the latter is a priority-inheritance
/// futex, which under contention always sleeps in the kernel and hands the lock over strictly; the source's
/// state is taken by the poll thread and by every settlement, and the PI hand-offs cost ~7 % of the Kafka
/// benchmark's CPU (`rt_mutex_slowlock`).
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: sending Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Never await, block or call out while holding it.
    func withLock<Result, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
