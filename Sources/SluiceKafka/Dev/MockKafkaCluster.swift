import CRdKafka

/// An embedded Kafka cluster: librdkafka's mock cluster, which speaks the real Kafka protocol on loopback.
///
/// `sluice dev` and the tests use it instead of a broker. Any Kafka client (kcat included) can reach it at
/// ``bootstrapServers`` while this object lives. Data is in memory only; each partition keeps at most
/// 5 MiB or 100,000 message sets (older ones are dropped silently), so volume tests use enough partitions.
///
/// - Important: librdkafka marks the mock API experimental; it is what librdkafka's own tests use.
public final class MockKafkaCluster: Sendable {
    /// Kafka API keys for ``pushRequestErrors(_:_:)``.
    public enum APIKey: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case leaveGroup = 13
        case syncGroup = 14
        case initProducerID = 22
    }

    private let host: RDKafkaClient
    private let cluster: SendableMockCluster
    /// The number of brokers (ids 1…brokers).
    public let brokers: Int
    /// `127.0.0.1:port,…`: what clients use as `bootstrap.servers`.
    public let bootstrapServers: String

    /// Starts a cluster of `brokers` brokers on loopback (random ports).
    ///
    /// - Throws: ``KafkaError`` when librdkafka cannot start it.
    public init(brokers: Int = 1) throws(KafkaError) {
        let host = try RDKafkaClient.producer(properties: ["log_level": "2"], callbacks: RDKafkaCallbacks())
        guard let cluster = host.withHandle({ rd_kafka_mock_cluster_new($0, Int32(brokers)) }) else {
            throw KafkaError(kind: .clientCreation, message: "rd_kafka_mock_cluster_new failed")
        }
        self.host = host
        self.cluster = SendableMockCluster(pointer: cluster)
        self.brokers = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster.pointer)
    }

    /// Creates `topic` with `partitions` partitions (replication factor at most the broker count).
    public func createTopic(_ topic: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(
            cluster.pointer, topic, Int32(partitions), Int32(min(replicationFactor, brokers)))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .client(code, "create topic \(topic)") }
    }

    /// Takes broker `id` down (connections refused), or every broker when `id` is nil.
    public func setBrokerDown(_ id: Int32? = nil) {
        for broker in id.map({ [$0] }) ?? Array(1...Int32(brokers)) {
            _ = rd_kafka_mock_broker_set_down(cluster.pointer, broker)
        }
    }

    /// Brings broker `id` back up, or every broker when `id` is nil.
    public func setBrokerUp(_ id: Int32? = nil) {
        for broker in id.map({ [$0] }) ?? Array(1...Int32(brokers)) {
            _ = rd_kafka_mock_broker_set_up(cluster.pointer, broker)
        }
    }

    /// Delays every response of broker `id` by `milliseconds`.
    public func setBrokerRTT(_ id: Int32, milliseconds: Int32) {
        _ = rd_kafka_mock_broker_set_rtt(cluster.pointer, id, milliseconds)
    }

    /// Makes the next requests of kind `api` fail, in order, with these Kafka error codes (for example 6,
    /// NOT_LEADER_FOR_PARTITION; 27, REBALANCE_IN_PROGRESS; 29, TOPIC_AUTHORIZATION_FAILED).
    public func pushRequestErrors(_ api: APIKey, _ errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t($0) }
        rd_kafka_mock_push_request_errors_array(cluster.pointer, api.rawValue, codes.count, &codes)
    }

    /// Clears errors pushed for `api`.
    public func clearRequestErrors(_ api: APIKey) {
        rd_kafka_mock_clear_request_errors(cluster.pointer, api.rawValue)
    }

    /// Moves the coordinator of consumer group `group` to broker `id`.
    public func setGroupCoordinator(_ group: String, broker id: Int32) {
        _ = rd_kafka_mock_coordinator_set(cluster.pointer, "group", group, id)
    }

    /// Moves the leadership of one partition to broker `id`.
    public func setPartitionLeader(_ topic: String, partition: Int32, broker id: Int32) {
        _ = rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, id)
    }

    /// Makes every request about `topic` fail with this error code (0 clears it).
    public func setTopicError(_ topic: String, _ code: Int32) {
        rd_kafka_mock_topic_set_error(cluster.pointer, topic, rd_kafka_resp_err_t(code))
    }
}

/// The mock cluster's pointer. `@unchecked Sendable`: the mock API is thread-safe (it posts to the
/// cluster's own thread), and the pointer is immutable and freed only by ``MockKafkaCluster``'s `deinit`.
private struct SendableMockCluster: @unchecked Sendable {
    let pointer: OpaquePointer
}
