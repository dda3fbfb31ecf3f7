import Foundation
import SluiceCore

/// Jobs waiting for the dedicated threads that serve them; a thread takes one or a whole batch.
///
/// It is bounded by its callers: each job is a suspended caller awaiting its result.
final class WorkQueue<Job>: @unchecked Sendable {
    // `condition` guards `jobs` and `closed`: NSCondition because a thread must sleep until work arrives.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false

    /// Adds a job; false when the queue is closed (the job will never run).
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Waits for jobs and takes up to `limit` of them; nil once closed and drained. With `idle`, returns no
    /// jobs when none arrived for that long.
    func take(limit: Int, idle: Duration? = nil) -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = idle.map { Date(timeIntervalSinceNow: $0.timeInterval) }
        while head == jobs.count {
            if closed { return nil }
            if let deadline {
                if !condition.wait(until: deadline) && head == jobs.count { return closed ? nil : [] }
            } else {
                condition.wait()
            }
        }
        let end = min(jobs.count, head + limit)
        let taken = Array(jobs[head..<end])
        head = end
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 {
            jobs.removeFirst(head)
            head = 0
        }
        return taken
    }

    /// Refuses new jobs; threads finish what is queued, then stop.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A dedicated thread that owns one SQLite connection and serves a ``WorkQueue``: blocking SQLite
/// calls never run on Swift's cooperative thread pool.
final class SQLiteThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread.
    ///
    /// - Parameters:
    ///   - batchLimit: how many jobs one turn takes (1 for readers, many for the group-committing writer).
    ///   - idle: when set, a turn with no jobs runs after this long without any.
    ///   - finishing: runs on the thread after its last turn, before the connection closes.
    ///   - serve: runs one turn's jobs on the thread.
    init<Job>(
        name: String, connection: SQLiteConnection, queue: WorkQueue<Job>, batchLimit: Int, idle: Duration? = nil,
        finishing: (@Sendable () -> Void)? = nil, serve: @escaping @Sendable ([Job], SQLiteConnection) -> Void
    ) {
        let finished = self.finished
        startNamedThread(name) {
            // The connection closes here, on its own thread, once the queue is closed and drained.
            var owned: SQLiteConnection? = connection
            while let jobs = queue.take(limit: batchLimit, idle: idle), let connection = owned {
                serve(jobs, connection)
            }
            finishing?()
            owned = nil
            finished.signal()
        }
    }

    /// Blocks until the thread has stopped (after its queue was closed). Call off the cooperative pool.
    func join() {
        finished.wait()
    }
}

/// Runs blocking work on a new thread and awaits it: for opening and closing, not for the hot path.
func onBlockingThread<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startNamedThread(name) { continuation.resume(returning: work()) }
    }
}
