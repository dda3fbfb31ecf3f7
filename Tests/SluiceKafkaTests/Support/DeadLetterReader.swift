import Foundation
import SluiceCore
import SluiceKafka

/// Reads records back from a topic (dead letters, the webhook ingress topic).
enum DeadLetterReader {
    static func read(_ cluster: MockKafkaCluster, topic: String, count: Int) async throws -> [KafkaRecord] {
        try await KafkaAdmin.read(bootstrapServers: cluster.bootstrapServers, topic: topic, count: count)
    }
}
