import Foundation
@testable import SluiceKafka
import Testing

@Suite struct RDKafkaClientTests {
    /// What the log callback saw of the client's destruction.
    private struct Destruction {
        /// The thread that ran `rd_kafka_destroy` (it logs "Terminating instance" before anything else).
        var thread: String?
        /// Whether the test let the destruction go on before the callback gave up waiting.
        var letGo: Bool?
    }

    private final class WeakCallbacks: @unchecked Sendable {
        weak var value: RDKafkaCallbacks?
    }

    /// Dropping the last reference to a client returns at once: `rd_kafka_destroy`, which joins librdkafka's
    /// threads, runs on a thread of its own, never on the thread that dropped it (a Swift task's, maybe).
    ///
    /// The log callback holds the destruction up until the test lets it go, which the test does only after the
    /// reference is dropped: had the drop destroyed the client itself, the callback would wait the full 10 s on the
    /// test's own thread and find it was never let go.
    @Test func droppingAClientDoesNotWaitForItsDestruction() async throws {
        let letGo = DispatchSemaphore(value: 0)
        let destruction = Locked(Destruction())
        let watched = WeakCallbacks()
        var client: RDKafkaClient? = try Self.producer(watchedBy: watched) { facility in
            guard facility == "DESTROY" else { return }
            let first = destruction.withLock { state -> Bool in
                guard state.thread == nil else { return false }
                state.thread = Self.currentThreadName()
                return true
            }
            guard first else { return }
            let released = letGo.wait(timeout: .now() + 10) == .success
            destruction.withLock { $0.letGo = released }
        }
        #expect(client != nil)
        client = nil
        // The process would wait for it at exit: not done while held up, done once let go.
        #expect(await KafkaClients.waitUntilDestroyed(timeout: .milliseconds(300)) == false)
        letGo.signal()
        #expect(await KafkaClients.waitUntilDestroyed(timeout: .seconds(20)))
        #expect(await KafkaTest.eventually(timeout: .seconds(20)) { watched.value == nil }, "the client was never destroyed")
        let seen = destruction.withLock { $0 }
        #expect(seen.thread == "rdk-destroy")
        #expect(seen.letGo == true, "the drop waited for the destruction")
    }

    /// A producer (no broker needed) logging librdkafka's debug lines to `log`; `watched` sees its callbacks, which
    /// the client releases once it is destroyed.
    private static func producer(
        watchedBy watched: WeakCallbacks, log: @escaping @Sendable (_ facility: String) -> Void
    ) throws -> RDKafkaClient {
        let callbacks = RDKafkaCallbacks(log: { _, facility, _ in log(facility) })
        watched.value = callbacks
        return try RDKafkaClient.producer(properties: ["debug": "generic", "log_level": "7"], callbacks: callbacks)
    }

    private static func currentThreadName() -> String? {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
