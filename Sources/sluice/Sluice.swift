import ArgumentParser

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
}
