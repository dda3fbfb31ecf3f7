import Foundation
public import SluiceCore

/// How one adapter's Kafka source consumes: where, which group, and its flow-control limits.
public struct KafkaSourceConfiguration: Sendable {
    /// The adapter's name (metrics dimension, dead-letter header).
    public var adapter: String
    /// `kafka.bootstrap_servers` in `sluice.yaml`.
    public var bootstrapServers: String
    /// The adapter's `source.kafka.topics`.
    public var topics: [String]
    /// The adapter's `source.kafka.group` (default `sluice-<adapter>`).
    public var groupID: String
    /// The adapter's `source.kafka.dead_letter_topic`; nil keeps dead letters in the ledger only.
    public var deadLetterTopic: String?
    /// The adapter's `source.kafka.outcome_topic`: every settled record's outcome is produced there (JSON, keyed
    /// by the idempotency key) before its offset is committed; nil produces none.
    public var outcomeTopic: String?
    /// `kafka.properties` in `sluice.yaml`: any librdkafka property, passed through (SASL, SSL, tuning).
    /// They override ``consumerDefaults`` except `enable.auto.commit` and `enable.auto.offset.store`, which stay off.
    public var properties: [String: String]
    /// Records fetched but not yet admitted above which the partitions are paused (default 2,000).
    public var pauseAbove: Int
    /// Records fetched but not yet admitted below which paused partitions resume (default half of `pauseAbove`).
    public var resumeBelow: Int
    /// How long the buffer may stay full without a break (fetching stopped) before the partitions are paused
    /// (default 500 ms). Pausing makes librdkafka drop what it prefetched, so short congestion only stops fetching.
    public var pauseAfter: Duration
    /// The most records received and not yet committed, across partitions, before the partitions are paused
    /// (default 100,000; resumed below half). A record whose dead letter or outcome cannot be produced holds back its
    /// partition's commits, and every later record waits in memory for it; without this bound they would pile up
    /// for as long as the produce fails.
    public var maxUncommitted: Int = 100_000
    /// At most this many records per fetch from librdkafka's queue (default 500).
    public var maxBatch: Int
    /// How often settled offsets are committed (asynchronously; synchronously on revoke and shutdown). Default 200 ms.
    public var commitInterval: Duration
    /// How long a revoked partition's in-flight work may run before it is cancelled: the adapter's
    /// `boundary.cancellation_budget`.
    public var drainBudget: Duration
    /// Values larger than this are dead-lettered without being mapped (default 1 MiB).
    public var maxValueBytes: Int
    /// First delay before an abandoned or unrecorded event is submitted again (doubling up to 5 s). Default 100 ms.
    public var retryBackoff: Duration

    /// What the consumer gets unless `properties` says otherwise.
    public static let consumerDefaults: [String: String] = [
        "partition.assignment.strategy": "cooperative-sticky",
        "auto.offset.reset": "earliest",
        // librdkafka 2.0.2 stops fetching once its prefetch queue is over either limit and looks again only when
        // the broker thread next wakes (0.5–1 s later): a queue that holds less than a second of consumption
        // starves the source in between (benchmark, 200-byte records: 110 k/s with 16 MiB and librdkafka's
        // 100,000 records, 285 k/s with these). Sluice's own buffer and pause/resume bound the work when the
        // gate is full; these bound librdkafka's read-ahead (at most 64 MiB of values).
        "queued.max.messages.kbytes": "65536",
        "queued.min.messages": "500000",
        "log_level": "4",
        // Consuming never creates a topic: a misspelt or missing topic is a readiness failure that
        // names it (librdkafka's consumer default too, stated so that no broker-side default decides).
        "allow.auto.create.topics": "false",
        // How long a request may wait for its answer (librdkafka's default: 60 s). After a group coordinator
        // outage, librdkafka 2.0.2 can leave the rejoin's request queued on the coordinator's connection until
        // this expires, and the consumer sits outside its group (no partitions, `_ASSIGNMENT_LOST`) that long
        // (measured on the mock cluster: a 55 s stall). 30 s, the Java consumer's `request.timeout.ms`, halves
        // that worst case; fetches wait `fetch.wait.max.ms` on top of it, so long polls are unaffected.
        "socket.timeout.ms": "30000",
    ]

    /// Properties Sluice always sets: commits happen only after outcomes are durable.
    public static let enforced: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
    ]

    public init(
        adapter: String, bootstrapServers: String, topics: [String], groupID: String? = nil,
        deadLetterTopic: String? = nil, outcomeTopic: String? = nil, properties: [String: String] = [:], pauseAbove: Int = 2_000,
        resumeBelow: Int? = nil, pauseAfter: Duration = .milliseconds(500), maxBatch: Int = 500, commitInterval: Duration = .milliseconds(200),
        drainBudget: Duration = .seconds(5), maxValueBytes: Int = 1 << 20, retryBackoff: Duration = .milliseconds(100)
    ) {
        self.adapter = adapter
        self.bootstrapServers = bootstrapServers
        self.topics = topics
        self.groupID = groupID ?? "sluice-\(adapter)"
        self.deadLetterTopic = deadLetterTopic
        self.outcomeTopic = outcomeTopic
        self.properties = properties
        self.pauseAbove = max(1, pauseAbove)
        self.resumeBelow = min(resumeBelow ?? max(1, pauseAbove / 2), self.pauseAbove)
        self.pauseAfter = pauseAfter
        self.maxBatch = max(1, maxBatch)
        self.commitInterval = commitInterval
        self.drainBudget = drainBudget
        self.maxValueBytes = maxValueBytes
        self.retryBackoff = retryBackoff
    }

    /// The configuration of a compiled Kafka adapter.
    ///
    /// - Parameters:
    ///   - adapter: a compiled adapter whose source is Kafka (its topics, group, dead-letter topic and cancellation budget).
    ///   - bootstrapServers: `kafka.bootstrap_servers`.
    ///   - properties: `kafka.properties`.
    /// - Returns: nil when the adapter's source is not Kafka.
    public init?(adapter: CompiledAdapter, bootstrapServers: String, properties: [String: String] = [:]) {
        guard case .kafka(let subscription) = adapter.source else { return nil }
        self.init(
            adapter: adapter.name, bootstrapServers: bootstrapServers, topics: subscription.topics,
            groupID: subscription.group, deadLetterTopic: subscription.deadLetterTopic,
            outcomeTopic: subscription.outcomeTopic, properties: properties,
            drainBudget: adapter.boundary.cancellationBudget)
    }

    /// Everything handed to librdkafka for the consumer.
    ///
    /// `log_level` is at least 4 (warnings): the source learns of an offset reset from librdkafka's warning (see
    /// ``KafkaSource``), so a lower level asked for in `properties` limits what reaches Sluice's log
    /// (``logLevel``) instead of what librdkafka reports.
    var consumerProperties: [String: String] {
        var all = Self.consumerDefaults.merging(properties) { _, given in given }
        all["bootstrap.servers"] = bootstrapServers
        all["group.id"] = groupID
        all.merge(Self.enforced) { _, enforced in enforced }
        if let level = Self.level(all["log_level"]), level < Self.warningLevel {
            all["log_level"] = String(Self.warningLevel)
        }
        return all
    }

    /// librdkafka's syslog level of warnings.
    static let warningLevel = 4

    /// The highest librdkafka log level that goes to Sluice's log: `log_level` from `properties` (4 by default), or 7
    /// (debug) with `debug` contexts set, as librdkafka itself then logs at that level.
    var logLevel: Int32 {
        if let debug = properties["debug"], !debug.trimmingCharacters(in: .whitespaces).isEmpty { return 7 }
        return Int32(Self.level(properties["log_level"]) ?? Self.warningLevel)
    }

    /// A `log_level` value as a number (nil when absent or not one: librdkafka then refuses it).
    private static func level(_ text: String?) -> Int? {
        text.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Consumer-only properties left out of the dead-letter producer's.
    private static let consumerOnly: Set<String> = [
        "group.id", "group.instance.id", "enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset",
        "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
        "queued.min.messages", "queued.max.messages.kbytes", "fetch.wait.max.ms", "fetch.min.bytes",
        "fetch.max.bytes", "max.partition.fetch.bytes", "isolation.level", "auto.commit.interval.ms",
        "enable.partition.eof", "check.crcs", "fetch.error.backoff.ms", "group.protocol.type",
    ]

    /// The user's properties that also apply to the dead-letter and outcome producer (security, client id, tuning).
    var producerProperties: [String: String] {
        properties.filter { !Self.consumerOnly.contains($0.key) }
    }
}

extension KafkaSourceConfiguration {
    /// `properties` with the values of secret properties (passwords, keys, OAuth secrets) replaced by
    /// `<redacted>`: what may be logged or shown.
    public static func redactedProperties(_ properties: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: RDKafkaConfig.redacted(properties))
    }
}
