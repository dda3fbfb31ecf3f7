import Synchronization
import Testing

@testable import SluiceApp

@Suite("BoundedWaits", .timeLimit(.minutes(1)))
struct BoundedWaitsTests {
    /// Work that never ends (a half-open connection) is started once, however many rounds wait for it; each round
    /// gives up at its limit; once the work ends, the rounds still waiting get its value and the next round starts
    /// it again (no stale answer handed to a later round).
    @Test("hung work is started once, each wait ends at its limit, and ended work starts again")
    func hungWorkIsWaitedForNotStartedAgain() async throws {
        let waits = BoundedWaits()
        let starts = Atomic<Int>(0)
        let release = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let work: @Sendable () async -> String = {
            let round = starts.add(1, ordering: .relaxed).newValue
            if round == 1 { await withCheckedContinuation { continuation in release.withLock { $0 = continuation } } }
            return "answer \(round)"
        }
        for _ in 0..<3 {
            let answer = await waits.value("ledger", within: .milliseconds(50), work)
            #expect(answer == nil)
        }
        #expect(starts.load(ordering: .relaxed) == 1, "the hung work was started again")
        // A round waits while the work ends: it gets the value.
        async let waiting = waits.value("ledger", within: .seconds(5), work)
        while waits.waiting(for: "ledger") == 0 { await Task.yield() }
        release.withLock { $0.take() }?.resume()
        #expect(await waiting == "answer 1")
        #expect(await waits.value("ledger", within: .seconds(5), work) == "answer 2")
        #expect(starts.load(ordering: .relaxed) == 2)
    }

    /// A caller cancelled while it waits (the health service at shutdown) is answered nil at once, not at its limit.
    @Test("a cancelled wait ends at once")
    func aCancelledWaitEndsAtOnce() async throws {
        let waits = BoundedWaits()
        let hung: @Sendable () async -> Int = { await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }; return 0 }
        let waiting = Task { await waits.value("engine", within: .seconds(600), hung) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        #expect(await waiting.value == nil)
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await waits.value("engine", within: .seconds(600), hung)
        }
        #expect(await cancelledFirst.value == nil)
    }
}
