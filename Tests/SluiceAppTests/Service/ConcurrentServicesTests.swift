import ServiceLifecycle
import Synchronization
import Testing

@testable import SluiceApp

@Suite("ConcurrentServices: members that stop together")
struct ConcurrentServicesTests {
    /// One Kafka consumer's fatal error must not cut the other consumers short: cancelled, a consumer ends its job
    /// loop at once, and records settling during its revoke are neither published nor committed.
    @Test("a failing member stops the others as a graceful shutdown does, then its error is thrown")
    func aFailingMemberStopsTheOthersGracefully() async {
        let failing = FailingMember()
        let other = StoppableMember()
        let run = Task { try await ConcurrentServices(services: [failing, other]).run() }
        failing.fail()
        let result = await run.result
        #expect(throws: FailingMember.Failure.self) { try result.get() }
        #expect(other.ending == .stopped)
    }

    /// Members that cannot be told to stop are cancelled, as before.
    @Test("a failing member cancels the members that cannot be told to stop")
    func aFailingMemberCancelsTheOthers() async {
        let failing = FailingMember()
        let other = FailingMember()
        let run = Task { try await ConcurrentServices(services: [failing, other]).run() }
        failing.fail()
        let result = await run.result
        #expect(throws: FailingMember.Failure.self) { try result.get() }
        #expect(other.wasCancelled)
    }
}

/// Waits until told to fail (or until cancelled).
private final class FailingMember: Service, Sendable {
    struct Failure: Error {}
    private let signal = AsyncStream.makeStream(of: Void.self)
    private let cancelled = Mutex(false)

    func fail() { signal.continuation.yield() }
    var wasCancelled: Bool { cancelled.withLock { $0 } }

    func run() async throws {
        for await _ in signal.stream { throw Failure() }
        cancelled.withLock { $0 = Task.isCancelled }
    }
}

/// Runs until ``stop()`` or cancellation, and remembers which ended it.
private final class StoppableMember: StoppableService, Sendable {
    enum Ending: Sendable, Equatable { case running, stopped, cancelled }
    private let signal = AsyncStream.makeStream(of: Void.self)
    private let ended = Mutex(Ending.running)

    var ending: Ending { ended.withLock { $0 } }

    func stop() { signal.continuation.finish() }

    func run() async throws {
        for await _ in signal.stream {}
        ended.withLock { $0 = Task.isCancelled ? .cancelled : .stopped }
    }
}
