import ArgumentParser
import SluiceKafka

@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A flow-controlled bridge from Kafka topics and webhooks into durable workflows.",
        discussion: """
            Sluice maps each event to idempotent start, signal and update calls on a workflow engine \
            (Durable Workflow or Temporal), keeps every source behind a boundary, and records one \
            outcome per event. Adapters are YAML files in adapters/; see docs/adapters.md.
            """,
        subcommands: [Serve.self, Dev.self, Validate.self, Map.self, Send.self, Outcomes.self, Replay.self, Produce.self]
    )

    /// ArgumentParser's own `main`, and then the Kafka clients' destruction waited for: each is destroyed on a
    /// thread of its own (`rd_kafka_destroy` blocks), and the process must not exit while one is under way.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            await KafkaClients.waitUntilDestroyed()
            exit(withError: error)
        }
        await KafkaClients.waitUntilDestroyed()
    }
}
