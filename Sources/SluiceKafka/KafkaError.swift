import CRdKafka

/// Why a Kafka operation failed: the librdkafka error code and its message, or a configuration problem.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Kind: String, Sendable, Hashable {
        /// A property was rejected by librdkafka (unknown name, bad value).
        case configuration
        /// A client could not be created.
        case clientCreation
        /// A librdkafka call failed with an error code.
        case client
        /// A produced record was not delivered.
        case delivery
        /// A fatal error: the client cannot continue.
        case fatal
        /// The client was shut down.
        case shutdown
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// librdkafka's error code (`RD_KAFKA_RESP_ERR_*`), 0 when there is none.
    public var code: Int32
    /// librdkafka's message, for example `Broker: Unknown topic or partition`.
    public var message: String

    public init(kind: Kind, code: Int32 = 0, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// The name of the code, such as `UNKNOWN_TOPIC_OR_PART` or `_TRANSPORT`.
    public var codeName: String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(code)))
    }

    /// Whether the producer or the broker refused a record for its size (`MSG_SIZE_TOO_LARGE`).
    public var isMessageTooLarge: Bool {
        rd_kafka_resp_err_t(code) == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
    }

    /// Whether the producer's local queue was full and the record was not enqueued (`_QUEUE_FULL`).
    public var isQueueFull: Bool {
        rd_kafka_resp_err_t(code) == RD_KAFKA_RESP_ERR__QUEUE_FULL
    }

    /// Whether librdkafka says retrying may succeed (transient broker and network errors).
    public var isRetriable: Bool {
        switch rd_kafka_resp_err_t(code) {
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
            RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR__QUEUE_FULL:
            true
        default: kind != .fatal && kind != .configuration && !Self.permanentCodes.contains(rd_kafka_resp_err_t(code))
        }
    }

    /// Codes that sending the same record again cannot cure: a missing topic or partition (a broker's
    /// `UNKNOWN_TOPIC_OR_PART`, and once librdkafka knows the topic is missing, its own `_UNKNOWN_TOPIC` and
    /// `_UNKNOWN_PARTITION` at once), a topic in error, a record refused for its size or its content, a
    /// topic not authorised.
    static let permanentCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG,
    ]

    public var description: String {
        code == 0 ? "kafka \(kind.rawValue) error: \(message)" : "kafka \(kind.rawValue) error \(codeName): \(message)"
    }

    /// The error for a librdkafka response code.
    static func client(_ code: rd_kafka_resp_err_t, _ context: String? = nil) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(code))
        return KafkaError(kind: .client, code: code.rawValue, message: context.map { "\($0): \(text)" } ?? text)
    }

    /// The error for an `rd_kafka_error_t`, which it destroys.
    static func consuming(_ error: OpaquePointer, kind: Kind = .client) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            kind: rd_kafka_error_is_fatal(error) != 0 ? .fatal : kind, code: rd_kafka_error_code(error).rawValue,
            message: String(cString: rd_kafka_error_string(error)))
    }
}
