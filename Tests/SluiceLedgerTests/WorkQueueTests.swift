import Foundation
@testable import SluiceLedger
import Testing

/// The queue behind the ledger's threads: a thread that watches an empty queue (`spin`) must still see
/// every job and every close at once, not only when its watch ends.
@Suite(.timeLimit(.minutes(1))) struct WorkQueueTests {
    /// Runs `take` on a thread of its own (it blocks) and awaits its answer.
    func take(from queue: WorkQueue<Int>, limit: Int = 8, spin: Duration) async -> [Int]? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: queue.take(limit: limit, spin: spin)) }.start()
        }
    }

    /// Returns once a thread watches `queue` and `sleeping` threads sleep on it (the tests below submit or
    /// close only then).
    func idle(_ queue: WorkQueue<Int>, sleeping: Int = 0) async {
        while queue.idleThreads != (watching: true, sleeping: sleeping) { await Task.yield() }
    }

    @Test("a job submitted while the thread watches is taken before the watch ends")
    func jobDuringSpin() async throws {
        let queue = WorkQueue<Int>()
        // A ten-minute watch: the suite's one-minute limit fails the test if the job is not seen in it.
        async let taken = take(from: queue, spin: .seconds(600))
        await idle(queue)
        #expect(queue.submit(7))
        #expect(await taken == [7])
    }

    @Test("while one thread watches, a second job wakes a sleeping thread")
    func secondJobWakesSleeper() async throws {
        let queue = WorkQueue<Int>()
        async let watcher = take(from: queue, limit: 1, spin: .seconds(600))
        await idle(queue)
        // Only one thread watches at a time: this one sleeps on the queue's condition.
        async let sleeper = take(from: queue, limit: 1, spin: .seconds(600))
        await idle(queue, sleeping: 1)
        #expect(queue.submit(1))
        #expect(queue.submit(2))
        let taken = [await watcher, await sleeper].compactMap { $0 }.flatMap { $0 }
        #expect(taken.sorted() == [1, 2])
    }

    @Test("closing the queue ends a watch at once")
    func closeDuringSpin() async throws {
        let queue = WorkQueue<Int>()
        async let taken = take(from: queue, spin: .seconds(600))
        await idle(queue)
        queue.close()
        #expect(await taken == nil)
    }

    @Test("jobs queued before a close are still taken, then nil")
    func drainsAfterClose() async {
        let queue = WorkQueue<Int>()
        #expect(queue.submit(1))
        #expect(queue.submit(2))
        queue.close()
        #expect(!queue.submit(3))
        #expect(await take(from: queue, spin: .microseconds(50)) == [1, 2])
        #expect(await take(from: queue, spin: .microseconds(50)) == nil)
    }
}
