import Dispatch
import SluiceCore

/// The process's librdkafka clients, as a whole.
public enum KafkaClients {
    /// Clients dropped and not yet destroyed: `rd_kafka_destroy` runs on a thread of its own (see `RDKafkaClient`).
    static let destructions = DispatchGroup()

    /// Waits until every client dropped so far is destroyed (its threads joined), or `timeout` passes; without
    /// blocking a cooperative thread. Call before the process exits: exiting while librdkafka tears a client
    /// down (its TLS state, its broker threads) could crash the exit.
    ///
    /// - Returns: whether every destruction finished in time.
    @discardableResult
    public static func waitUntilDestroyed(timeout: Duration = .seconds(10)) async -> Bool {
        await withCheckedContinuation { continuation in
            startNamedThread("rdk-destroyed") {
                let deadline = DispatchTime.now() + .milliseconds(Int((timeout / .milliseconds(1)).rounded(.up)))
                continuation.resume(returning: destructions.wait(timeout: deadline) == .success)
            }
        }
    }
}
