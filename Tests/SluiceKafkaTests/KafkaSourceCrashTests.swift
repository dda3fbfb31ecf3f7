import Foundation
import SluiceCore
import SluiceKafka
import SluiceLedger
import SluiceLaunch
import SluiceTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KafkaSuites {
    /// A consumer process killed with SIGKILL mid-stream and restarted from the committed offsets: every event
    /// ends with exactly one outcome in the SQLite ledger, and only events in flight at the kill can see a second
    /// engine call (which the engine's own dedupe absorbs in production; here it is counted and bounded).
    @Suite("KafkaSource SIGKILL and restart", .serialized, .timeLimit(.minutes(3)))
    struct KafkaSourceCrashTests {
        static var helper: URL {
            var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = directory.appendingPathComponent("KafkaCrashHelper")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                directory.deleteLastPathComponent()
            }
            return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/KafkaCrashHelper")
        }

        /// The last `settled <n>` the helper printed.
        static func settled(_ log: String) -> Int {
            log.split(separator: "\n").last { $0.hasPrefix("settled ") }.flatMap { Int($0.dropFirst(8)) } ?? 0
        }

        @Test func killedConsumerRestartsFromCommittedOffsets() async throws {
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("crash", partitions: 4)
            let total = 3_000
            try await KafkaTest.produce(KafkaTest.messages(topic: "crash", count: total, keys: 40), to: cluster)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-kafka-crash-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let ledgerPath = directory.appendingPathComponent("ledger.sqlite").path
            let effectsPath = directory.appendingPathComponent("effects.txt").path
            let arguments = [cluster.bootstrapServers, "crash", "crash-group", ledgerPath, effectsPath]

            let first = try ManagedProcess.launch(
                Self.helper.path, arguments: arguments, logFile: directory.appendingPathComponent("run1.log"))
            try await first.waitUntil("600 settled events", timeout: .seconds(60)) { Self.settled(first.log) >= 600 }
            kill(first.pid, SIGKILL)
            _ = await first.exitStatus()

            let second = try ManagedProcess.launch(
                Self.helper.path, arguments: arguments, logFile: directory.appendingPathComponent("run2.log"))
            defer { kill(second.pid, SIGKILL) }
            try await second.waitUntil("every partition committed", timeout: .seconds(90)) {
                (try? await KafkaTest.fullyCommitted(cluster, topic: "crash", group: "crash-group")) == true
            }
            await second.stop()

            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath))
            let outcomes = try await ledger.outcomes(OutcomeQuery(adapter: "crash", limit: 1_000_000))
            await ledger.close()
            let keys = outcomes.map(\.outcome.idempotencyKey)
            #expect(keys.count == total, "one outcome per event")
            #expect(Set(keys).count == total)
            let effects = try String(contentsOfFile: effectsPath, encoding: .utf8).split(separator: "\n")
            var perEvent: [Substring: Int] = [:]
            for effect in effects { perEvent[effect, default: 0] += 1 }
            #expect(perEvent.count == total, "every event reached the engine")
            let doubled = perEvent.values.filter { $0 > 1 }.count
            #expect(doubled <= 32, "only events in flight at the kill may be called twice (\(doubled))")
        }
    }
}
