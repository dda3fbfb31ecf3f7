import Testing

/// The integration suites (each with its own mock cluster and consumer groups) run one after another:
/// consumer-group timings (session timeouts, rebalance rounds) are not met on 2 cores when they all run at once.
@Suite("Kafka (mock cluster)", .serialized)
struct KafkaSuites {}
