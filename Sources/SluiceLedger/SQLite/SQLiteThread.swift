import Foundation
import SluiceCore

/// Jobs waiting for the dedicated threads that serve them; a thread takes one or a whole batch.
///
/// It is bounded by its callers: each job is a suspended caller awaiting its result.
final class WorkQueue<Job>: @unchecked Sendable {
    // `condition` guards `jobs`, `closed` and `watching`: NSCondition because a thread must sleep until
    // work arrives.
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var closed = false
    /// Whether a thread is watching the empty queue (``take(limit:idle:spin:)``): it takes the next job
    /// without being woken.
    private var watching = false
    /// Threads waiting on `condition` for a job.
    private var sleeping = 0

    /// Adds a job; false when the queue is closed (the job will never run).
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        jobs.append(job)
        // A watching thread sees the first job on its own; any further one wakes a sleeping thread.
        if !watching || jobs.count - head > 1 { condition.signal() }
        return true
    }

    /// Adds several jobs at once, in order; false when the queue is closed (none will run).
    func submit(contentsOf added: [Job]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        let wasEmpty = jobs.count == head
        jobs.append(contentsOf: added)
        if !watching || !wasEmpty { condition.signal() }
        return true
    }

    /// Waits for jobs and takes up to `limit` of them; nil once closed and drained. With `idle`, returns no
    /// jobs when none arrived for that long. With `spin`, an empty queue is watched for that long, giving the
    /// CPU away between looks, before the thread sleeps.
    func take(limit: Int, idle: Duration? = nil, spin: Duration = .zero) -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        if spin > .zero { yieldWhileEmpty(for: spin) }
        let deadline = idle.map { Date(timeIntervalSinceNow: $0.timeInterval) }
        while head == jobs.count {
            if closed { return nil }
            sleeping += 1
            defer { sleeping -= 1 }
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

    /// Called and returns with the lock held: until a job arrives, the queue closes or `spin` passes, lets
    /// other threads run (`sched_yield`) and looks again. One thread watches at a time; the others sleep.
    ///
    /// A hand-off to a sleeping thread and back cost about 12 µs at the median and 24 µs at p99 on the
    /// 2-core VM this was measured on; to a thread still watching, about 4 µs and 12 µs. Yielding rather
    /// than spinning keeps the core available: on two cores the caller's task, woken by this thread, is
    /// often placed on this thread's core.
    private func yieldWhileEmpty(for spin: Duration) {
        guard !watching else { return }
        watching = true
        defer { watching = false }
        let clock = ContinuousClock()
        let deadline = clock.now + spin
        while head == jobs.count, !closed, clock.now < deadline {
            condition.unlock()
            sched_yield()
            condition.lock()
        }
    }

    /// Whether a thread is watching the empty queue now, and how many sleep waiting for a job.
    var idleThreads: (watching: Bool, sleeping: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (watching, sleeping)
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
    ///   - spin: how long the thread keeps watching an empty queue before it sleeps (``WorkQueue/take(limit:idle:spin:)``).
    ///   - finishing: runs on the thread after its last turn, before the connection closes.
    ///   - serve: runs one turn's jobs on the thread.
    init<Job>(
        name: String, connection: SQLiteConnection, queue: WorkQueue<Job>, batchLimit: Int, idle: Duration? = nil,
        spin: Duration = .zero, finishing: (@Sendable () -> Void)? = nil, serve: @escaping @Sendable ([Job], SQLiteConnection) -> Void
    ) {
        let finished = self.finished
        let slot = ConnectionSlot(connection)
        startNamedThread(name) {
            // The connection closes here, on its own thread, once the queue is closed and drained.
            var owned = slot.take()
            while let jobs = queue.take(limit: batchLimit, idle: idle, spin: spin), let connection = owned {
                serve(jobs, connection)
            }
            finishing?()
            owned = nil
            finished.signal()
        }
    }

    /// Blocks until the thread has stopped (after its queue was closed). Call off the cooperative pool; any
    /// number of times (a ledger closed twice).
    func join() {
        finished.wait()
        finished.signal()
    }
}

/// Runs blocking work on a new thread and awaits it: for opening and closing, not for the hot path.
func onBlockingThread<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startNamedThread(name) { continuation.resume(returning: work()) }
    }
}
