import Foundation
import SluiceCore
import SluiceKafka
import SluiceLaunch
import Testing

extension KafkaSuites {
    /// The embedded cluster is real Kafka on loopback: `kcat` (Debian's kafkacat) lists its topics and
    /// reads what Sluice's producer wrote, as any client would.
    @Suite("Embedded cluster through kcat", .serialized, .timeLimit(.minutes(2)))
    struct EmbeddedClusterKcatTests {
        @Test func kcatListsTopicsAndReadsRecords() async throws {
            let kcat = try #require(
                ManagedProcess.find("kcat") ?? ManagedProcess.find("kafkacat"), "kcat is not on PATH: apt-get install kafkacat (dev/setup does)")
            let cluster = try MockKafkaCluster(brokers: 1)
            try cluster.createTopic("orders.events", partitions: 3)
            let producer = try KafkaProducer(bootstrapServers: cluster.bootstrapServers, logger: KafkaTest.logger)
            _ = try await producer.send(
                KafkaProducer.Message(topic: "orders.events", partition: 1, key: Array("k1".utf8), value: Array(#"{"id":"kcat-1"}"#.utf8)))
            await producer.shutdown()

            let metadata = try await run(kcat, ["-b", cluster.bootstrapServers, "-L", "-t", "orders.events"])
            #expect(metadata.status == 0)
            #expect(metadata.output.contains("topic \"orders.events\" with 3 partitions"), "\(metadata.output)")

            let consumed = try await run(kcat, ["-b", cluster.bootstrapServers, "-C", "-t", "orders.events", "-p", "1", "-o", "beginning", "-c", "1", "-e", "-f", "%k %s\\n"])
            #expect(consumed.status == 0)
            #expect(consumed.output.contains(#"k1 {"id":"kcat-1"}"#), "\(consumed.output)")
        }

        func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("kcat-\(UUID().uuidString).out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { process.terminate() }
            try handle.close()
            defer { try? FileManager.default.removeItem(at: output) }
            return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        }
    }
}
