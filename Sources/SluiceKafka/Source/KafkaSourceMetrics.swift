import CoreMetrics


/// The Kafka source's metrics, created once per source; lag gauges once per partition.
struct KafkaSourceMetrics: Sendable {
    let adapter: String
    let received: Counter
    let deadLettered: Counter
    let outcomesPublished: Counter
    let commitFailures: Counter
    /// Rebalances by kind: partitions assigned, revoked (given up after draining), lost (the session ended).
    let assignments: Counter
    let revocations: Counter
    let losses: Counter
    let rewinds: Counter
    let paused: Gauge
    let buffered: Gauge
    let fetchToSettle: Timer
    private let lagGauges = Locked<[TopicPartition: Gauge]>([:])

    init(adapter: String) {
        self.adapter = adapter
        let dimensions = [("adapter", adapter)]
        received = Counter(label: "sluice_kafka_records_received_total", dimensions: dimensions)
        deadLettered = Counter(label: "sluice_kafka_dead_letters_total", dimensions: dimensions)
        outcomesPublished = Counter(label: "sluice_kafka_outcomes_published_total", dimensions: dimensions)
        commitFailures = Counter(label: "sluice_kafka_commit_failures_total", dimensions: dimensions)
        let rebalances = "sluice_kafka_rebalances_total"
        assignments = Counter(label: rebalances, dimensions: dimensions + [("kind", "assigned")])
        revocations = Counter(label: rebalances, dimensions: dimensions + [("kind", "revoked")])
        losses = Counter(label: rebalances, dimensions: dimensions + [("kind", "lost")])
        rewinds = Counter(label: "sluice_kafka_rewinds_total", dimensions: dimensions)
        paused = Gauge(label: "sluice_kafka_paused", dimensions: dimensions)
        buffered = Gauge(label: "sluice_kafka_buffered_records", dimensions: dimensions)
        fetchToSettle = Timer(label: "sluice_kafka_fetch_to_settle_seconds", dimensions: dimensions)
    }

    /// Sets the consumer lag of a partition: the high watermark minus the committed offset.
    func recordLag(_ partition: TopicPartition, lag: Int64) {
        let gauge = lagGauges.withLock { gauges in
            if let gauge = gauges[partition] { return gauge }
            let gauge = Gauge(
                label: "sluice_kafka_consumer_lag",
                dimensions: [("adapter", adapter), ("topic", partition.topic), ("partition", String(partition.partition))])
            gauges[partition] = gauge
            return gauge
        }
        gauge.record(lag)
    }

    /// Stops reporting lag for partitions this consumer gave up.
    func forgetLag(_ partitions: [TopicPartition]) {
        let removed = lagGauges.withLock { gauges in partitions.compactMap { gauges.removeValue(forKey: $0) } }
        for gauge in removed { gauge.record(0) }
    }
}
