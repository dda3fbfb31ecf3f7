import Foundation
import SluiceCore


/// A dedicated OS thread for librdkafka's blocking calls, so that they never occupy Swift's cooperative pool.
///
/// The body runs once, to completion (it loops until its owner tells it to stop); ``join()`` waits for it
/// without blocking a cooperative thread.
final class KafkaPollThread: Sendable {
    private enum State {
        case running(waiters: [CheckedContinuation<Void, Never>])
        case finished
    }

    private let state = Locked(State.running(waiters: []))

    /// Starts `body` on a new thread named `name` (visible in `/proc/<pid>/task/*/comm`, at most 15 bytes).
    init(name: String, body: @escaping @Sendable () -> Void) {
        startNamedThread(name, stackSize: 1 << 20) { [state] in
            body()
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state = .finished }
                if case .running(let waiters) = state { return waiters }
                return []
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Whether the body has returned.
    var isFinished: Bool {
        state.withLock { if case .finished = $0 { true } else { false } }
    }

    /// Waits until the body has returned.
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard case .running(var waiters) = state else { return true }
                waiters.append(continuation)
                state = .running(waiters: waiters)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Runs `body` (blocking librdkafka calls) on a new thread named `name` and returns its result, without
    /// blocking a cooperative thread while it runs.
    static func run<T: Sendable>(
        name: String, _ body: @escaping @Sendable () throws(KafkaError) -> T
    ) async throws(KafkaError) -> T {
        let result = Locked<Result<T, KafkaError>?>(nil)
        let thread = KafkaPollThread(name: name) {
            let outcome: Result<T, KafkaError>
            do throws(KafkaError) { outcome = .success(try body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
        }
        await thread.join()
        return try result.withLock { $0! }.get()
    }
}
