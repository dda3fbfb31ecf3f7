import Synchronization

/// Waits for work that may never end (a ledger whose connection hangs half-open, an engine that accepts
/// connections and never answers) for a bounded time, and never starts a second copy of work that is still
/// running: a hung dependency costs one task for its work and one watching it, however many rounds of checks
/// wait for it meanwhile.
final class BoundedWaits: Sendable {
    /// Work under way, with the callers waiting for it (by a number of their own).
    private struct Running {
        var waiters: [UInt64: CheckedContinuation<(any Sendable)?, Never>] = [:]
    }

    private struct State {
        var running: [String: Running] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// How many pieces of work run now (each named once, however many callers wait for it).
    var running: Int { state.withLock { $0.running.count } }

    /// How many callers wait for the work named `name` now.
    func waiting(for name: String) -> Int { state.withLock { $0.running[name]?.waiters.count ?? 0 } }

    /// The result of `work`, or nil when it did not finish within `limit` or the calling task was cancelled (the work
    /// goes on, and a call with the same `name` meanwhile waits for it instead of starting another; once it ends, the
    /// next call starts it again).
    func value<T: Sendable>(
        _ name: String, within limit: Duration, _ work: @escaping @Sendable () async -> T
    ) async -> T? {
        let waiter = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let value = await withTaskCancellationHandler {
            await wait(waiter, for: name, within: limit, work)
        } onCancel: {
            stopWaiting(waiter, for: name)
        }
        return value as? T
    }

    /// Gives up one caller's wait: it is answered nil.
    private func stopWaiting(_ waiter: UInt64, for name: String) {
        let stopped = state.withLock { $0.running[name]?.waiters.removeValue(forKey: waiter) }
        stopped?.resume(returning: nil)
    }

    private func wait(
        _ waiter: UInt64, for name: String, within limit: Duration, _ work: @escaping @Sendable () async -> some Sendable
    ) async -> (any Sendable)? {
        await withCheckedContinuation { (continuation: CheckedContinuation<(any Sendable)?, Never>) in
            let starts = state.withLock { state -> Bool? in
                // Cancelled before it waited: answered at once.
                if Task.isCancelled { return nil }
                let starts = state.running[name] == nil
                state.running[name, default: Running()].waiters[waiter] = continuation
                return starts
            }
            guard let starts else {
                continuation.resume(returning: nil)
                return
            }
            if starts {
                // One watcher per run of the work: it answers every caller still waiting when the work ends.
                Task {
                    let value: any Sendable = await work()
                    let waiters = state.withLock { $0.running.removeValue(forKey: name)?.waiters ?? [:] }
                    for waiter in waiters.values { waiter.resume(returning: value) }
                }
            }
            Task {
                try? await Task.sleep(for: limit)
                stopWaiting(waiter, for: name)
            }
        }
    }
}
