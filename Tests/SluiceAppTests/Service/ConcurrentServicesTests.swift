import ServiceLifecycle
import Synchronization
import Testing

@testable import SluiceApp

@Suite("ConcurrentServices: members that stop together")
struct ConcurrentServicesTests {
    /// One Kafka consumer's fatal error must not cut the other consumers short: cancelled, a consumer ends its job
    /// loop at once, and records settling during its revoke are neither published nor committed.
    @Test("a failing member stops the others as a graceful shutdown does, then its error is thrown")
    func aFailingServiceStopsTheOthersGracefully() async {
        let failing = FailingService()
        let other = StoppableMember()
        let run = Task { try await ConcurrentServices(services: [failing, other]).run() }
        failing.fail()
        let result = await run.result
        #expect(throws: FailingService.Failure.self) { try result.get() }
        #expect(other.ending == .stopped)
    }

    /// Members that cannot be told to stop are cancelled, as before.
    @Test("a failing member cancels the members that cannot be told to stop")
    func aFailingServiceCancelsTheOthers() async {
        let failing = FailingService()
        let other = FailingService()
        let run = Task { try await ConcurrentServices(services: [failing, other]).run() }
        failing.fail()
        let result = await run.result
        #expect(throws: FailingService.Failure.self) { try result.get() }
        #expect(other.wasCancelled)
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
