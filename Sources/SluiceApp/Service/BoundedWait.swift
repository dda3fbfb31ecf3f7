import Synchronization

/// Waits for work that may never end (a ledger whose connection hangs half-open, an engine that accepts
/// connections and never answers) for a bounded time, and never starts a second copy of work that is still
/// running: a hung dependency costs one waiting task, not one per round of checks.
final class BoundedWaits: Sendable {
    private let running = Mutex<[String: Task<any Sendable, Never>]>([:])

    /// The result of `work`, or nil when it did not finish within `limit` (it goes on, and the next call
    /// with the same `name` waits for it again instead of starting another).
    func value<T: Sendable>(
        _ name: String, within limit: Duration, _ work: @escaping @Sendable () async -> T
    ) async -> T? {
        let task = running.withLock { running in
            if let task = running[name] { return task }
            let task = Task<any Sendable, Never> { await work() }
            running[name] = task
            return task
        }
        guard let value = await Self.value(of: task, within: limit) else { return nil }
        running.withLock { if $0[name] == task { $0[name] = nil } }
        return value as? T
    }

    /// The task's value, or nil after `limit`; the task is not waited for past it.
    private static func value(of task: Task<any Sendable, Never>, within limit: Duration) async -> (any Sendable)? {
        let answer = FirstAnswer()
        return await withCheckedContinuation { continuation in
            answer.set(continuation)
            let timer = Task {
                try? await Task.sleep(for: limit)
                answer.resume(with: nil)
            }
            Task {
                answer.resume(with: await task.value)
                timer.cancel()
            }
        }
    }

    /// Resumes a continuation with the first of two answers.
    private final class FirstAnswer: Sendable {
        private let continuation = Mutex<CheckedContinuation<(any Sendable)?, Never>?>(nil)

        func set(_ continuation: CheckedContinuation<(any Sendable)?, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        func resume(with value: (any Sendable)?) {
            continuation.withLock { $0.take() }?.resume(returning: value)
        }
    }
}
