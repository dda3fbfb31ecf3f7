import CRdKafka

/// A partition rebalance as librdkafka reports it inside `rd_kafka_consumer_poll`.
struct RDKafkaRebalance: Sendable {
    enum Kind: Sendable { case assign, revoke, error }
    var kind: Kind
    var partitions: [TopicPartition]
    /// Whether the partitions were lost (session timed out) rather than revoked: their offsets must not be committed.
    var lost: Bool
    /// The error when `kind` is `.error`.
    var error: KafkaError?
}

/// What a delivery report says about one produced record.
struct RDKafkaDeliveryReport: Sendable {
    var id: UInt64
    var result: Result<(partition: Int32, offset: Int64), KafkaError>
}

/// The Swift side of librdkafka's callbacks for one client.
///
/// librdkafka calls them on the thread that polls the client (rebalance, delivery reports, errors,
/// commit results), or on its own threads (logs). The closures are set once, at creation, and are
/// `@Sendable`; whatever state they touch is guarded by its owner.
final class RDKafkaCallbacks: Sendable {
    let rebalance: (@Sendable (RDKafkaRebalance) -> Void)?
    let error: (@Sendable (KafkaError) -> Void)?
    let delivery: (@Sendable (RDKafkaDeliveryReport) -> Void)?
    /// Commit results: the offsets committed, the offsets that failed, and the error when any failed.
    let offsetCommit: (@Sendable (_ committed: [(TopicPartition, Int64)], _ failed: [(TopicPartition, Int64)], KafkaError?) -> Void)?
    let log: (@Sendable (_ level: Int32, _ facility: String, _ message: String) -> Void)?

    init(
        rebalance: (@Sendable (RDKafkaRebalance) -> Void)? = nil, error: (@Sendable (KafkaError) -> Void)? = nil,
        delivery: (@Sendable (RDKafkaDeliveryReport) -> Void)? = nil,
        offsetCommit: (@Sendable ([(TopicPartition, Int64)], [(TopicPartition, Int64)], KafkaError?) -> Void)? = nil,
        log: (@Sendable (Int32, String, String) -> Void)? = nil
    ) {
        self.rebalance = rebalance
        self.error = error
        self.delivery = delivery
        self.offsetCommit = offsetCommit
        self.log = log
    }

    /// Registers the C trampolines on `conf` for the callbacks that are set; `opaque` is this object, retained by the client.
    func install(on conf: OpaquePointer, opaque: UnsafeMutableRawPointer) {
        rd_kafka_conf_set_opaque(conf, opaque)
        if rebalance != nil { rd_kafka_conf_set_rebalance_cb(conf, rdKafkaRebalanceTrampoline) }
        if error != nil { rd_kafka_conf_set_error_cb(conf, rdKafkaErrorTrampoline) }
        if delivery != nil { rd_kafka_conf_set_dr_msg_cb(conf, rdKafkaDeliveryTrampoline) }
        if offsetCommit != nil { rd_kafka_conf_set_offset_commit_cb(conf, rdKafkaOffsetCommitTrampoline) }
        if log != nil { rd_kafka_conf_set_log_cb(conf, rdKafkaLogTrampoline) }
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

// MARK: - C trampolines (global functions: they capture nothing, so they convert to @convention(c))

private func rdKafkaRebalanceTrampoline(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    guard let rk, let list else { return }
    let partitions = RDKafkaTopicPartitionList.entries(list).map(\.partition)
    let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
    let event: RDKafkaRebalance
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: event = RDKafkaRebalance(kind: .assign, partitions: partitions, lost: false)
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        event = RDKafkaRebalance(kind: .revoke, partitions: partitions, lost: rd_kafka_assignment_lost(rk) != 0)
    default:
        event = RDKafkaRebalance(kind: .error, partitions: partitions, lost: false, error: .client(err, "rebalance"))
    }
    // The owner drains and commits the revoked partitions inside this call, before they are given up below.
    let callbacks = RDKafkaCallbacks.from(opaque)
    callbacks?.rebalance?(event)
    // An assignment change that librdkafka refuses leaves the group waiting for one forever (no rejoin after a
    // lost assignment), so a refusal is tried the other protocol's way, then reported.
    guard let refused = applyRebalance(rk, event.kind, list, cooperative: cooperative) else { return }
    let otherWay = event.kind == .error ? refused : applyRebalance(rk, event.kind, list, cooperative: !cooperative)
    guard let otherWay else { return }
    let message = otherWay == refused ? refused : "\(refused); the other protocol's way: \(otherWay)"
    callbacks?.log?(3, "REBALANCE", "librdkafka refused the assignment change after \(event.kind) of \(partitions): \(message)")
}

/// Hands a rebalance's partitions to (or takes them from) librdkafka's assignment; returns its refusal, if any.
private func applyRebalance(
    _ rk: OpaquePointer, _ kind: RDKafkaRebalance.Kind, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
    cooperative: Bool
) -> String? {
    func refusal(_ error: OpaquePointer?) -> String? {
        guard let error else { return nil }
        defer { rd_kafka_error_destroy(error) }
        return String(cString: rd_kafka_error_string(error))
    }
    func refusal(_ code: rd_kafka_resp_err_t) -> String? {
        code == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2str(code))
    }
    switch (kind, cooperative) {
    case (.assign, true): return refusal(rd_kafka_incremental_assign(rk, list))
    case (.revoke, true): return refusal(rd_kafka_incremental_unassign(rk, list))
    case (.assign, false): return refusal(rd_kafka_assign(rk, list))
    case (.revoke, false), (.error, _): return refusal(rd_kafka_assign(rk, nil))
    }
}

private func rdKafkaErrorTrampoline(
    _ rk: OpaquePointer?, _ err: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    let code = rd_kafka_resp_err_t(err)
    let fatal = code == RD_KAFKA_RESP_ERR__FATAL
    let message = reason.map { String(cString: $0) } ?? String(cString: rd_kafka_err2str(code))
    RDKafkaCallbacks.from(opaque)?.error?(KafkaError(kind: fatal ? .fatal : .client, code: err, message: message))
}

private func rdKafkaDeliveryTrampoline(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let message else { return }
    let id = UInt64(UInt(bitPattern: message.pointee._private))
    let result: Result<(partition: Int32, offset: Int64), KafkaError>
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        result = .success((message.pointee.partition, message.pointee.offset))
    } else {
        var error = KafkaError.client(message.pointee.err)
        error.kind = .delivery
        result = .failure(error)
    }
    RDKafkaCallbacks.from(opaque)?.delivery?(RDKafkaDeliveryReport(id: id, result: result))
}

private func rdKafkaOffsetCommitTrampoline(
    _ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
    _ opaque: UnsafeMutableRawPointer?
) {
    let entries = list.map { RDKafkaTopicPartitionList.entries($0) } ?? []
    let succeeded = err == RD_KAFKA_RESP_ERR_NO_ERROR
    let committed = entries.filter { succeeded && $0.error == RD_KAFKA_RESP_ERR_NO_ERROR }.map { ($0.partition, $0.offset) }
    let failed = entries.filter { !succeeded || $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map { ($0.partition, $0.offset) }
    let firstError = entries.first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }?.error
    let error = succeeded ? firstError.map { KafkaError.client($0, "offset commit") } : KafkaError.client(err, "offset commit")
    RDKafkaCallbacks.from(opaque)?.offsetCommit?(committed, failed, error)
}

private func rdKafkaLogTrampoline(
    _ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?
) {
    guard let rk else { return }
    RDKafkaCallbacks.from(rd_kafka_opaque(rk))?.log?(
        level, facility.map { String(cString: $0) } ?? "", message.map { String(cString: $0) } ?? "")
}
