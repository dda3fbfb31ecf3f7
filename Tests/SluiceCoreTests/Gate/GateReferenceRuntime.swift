@testable import SluiceCore

/// A deliberately naive model of ``TaskRuntime`` (arrays and scans, no linked lists, no lanes)
/// that the property tests run side by side with the real one. It states the rules directly:
/// a queued task may start when it is the oldest queued task of its ordering key and no task of
/// that key is in flight; ready tasks start in the order they became ready.
struct GateReferenceRuntime {
    struct Record {
        var orderingKey: String?
        var state: TaskState
        var readyStamp: Int?
        var startStamp = 0
        var cancellation: (reason: String, deadline: GateInstant)?
    }

    let boundary: Boundary
    let historyLimit: Int
    var records: [String: Record] = [:]
    var history: [String] = []
    var nextSeq = 1
    var nextStamp = 0
    var cancelling: (reason: String, deadline: GateInstant)?
    var admitted = 0
    var refused = 0
    var succeeded = 0
    var failed = 0
    var cancelled = 0
    var abandoned = 0

    init(boundary: Boundary, historyLimit: Int) {
        self.boundary = boundary
        self.historyLimit = historyLimit
    }

    var queuedCount: Int { records.values.filter { $0.state.kind == .queued }.count }
    var inFlightCount: Int { records.values.filter { $0.state.kind == .inFlight }.count }

    func state(_ key: String) -> TaskState? { records[key]?.state }

    /// Stamps every queued task that has just become ready.
    mutating func stampReady() {
        let queued = records.filter { $0.value.state.kind == .queued }.sorted {
            $0.value.state.seq < $1.value.state.seq
        }
        for (key, record) in queued where record.readyStamp == nil {
            if let orderingKey = record.orderingKey {
                let busy = records.values.contains {
                    $0.orderingKey == orderingKey && $0.state.kind == .inFlight
                }
                let older = records.values.contains {
                    $0.orderingKey == orderingKey && $0.state.kind == .queued && $0.state.seq < record.state.seq
                }
                if busy || older { continue }
            }
            records[key]!.readyStamp = nextStamp
            nextStamp += 1
        }
    }

    mutating func retire(_ key: String, as state: TaskState) {
        records[key]!.state = state
        records[key]!.readyStamp = nil
        records[key]!.cancellation = nil
        history.append(key)
        while history.count > historyLimit {
            records[history.removeFirst()] = nil
        }
        stampReady()
    }

    mutating func admit(_ key: String) {
        records[key]!.state = .queued(seq: nextSeq)
        nextSeq += 1
        admitted += 1
        stampReady()
    }

    mutating func enqueue(_ key: String, orderingKey: String?) -> TaskRuntimeError? {
        if let cancelling {
            refused += 1
            return .cancelling(key: key, reason: cancelling.reason)
        }
        if records[key] != nil { return .duplicateTask(key: key) }
        if queuedCount >= boundary.maxQueued {
            refused += 1
            return .queueSaturated(key: key, maxQueued: boundary.maxQueued)
        }
        records[key] = Record(orderingKey: orderingKey, state: .queued(seq: 0))
        admit(key)
        return nil
    }

    mutating func startAvailable(now: GateInstant) -> [String] {
        var started: [String] = []
        while inFlightCount < boundary.maxInFlight {
            let candidates = records.filter { $0.value.state.kind == .queued && $0.value.readyStamp != nil }
            guard let next = candidates.min(by: { $0.value.readyStamp! < $1.value.readyStamp! }) else { break }
            records[next.key]!.state = .inFlight(seq: next.value.state.seq, startedAt: now)
            records[next.key]!.readyStamp = nil
            records[next.key]!.startStamp = nextStamp
            nextStamp += 1
            started.append(next.key)
        }
        return started
    }

    mutating func finish(_ key: String, action: TaskRuntime.Action, reason: String) -> TaskRuntimeError? {
        guard let record = records[key] else { return .unknownTask(key: key) }
        guard case .inFlight(let seq, _) = record.state else {
            return .invalidTransition(key: key, state: record.state.kind, action: action)
        }
        if action == .succeed {
            succeeded += 1
            retire(key, as: .succeeded(seq: seq))
        } else {
            failed += 1
            retire(key, as: .failed(seq: seq, reason: reason))
        }
        return nil
    }

    mutating func cancel(_ key: String, reason: String) -> TaskRuntimeError? {
        guard let record = records[key] else { return .unknownTask(key: key) }
        switch record.state {
        case .queued(let seq), .inFlight(let seq, _):
            cancelled += 1
            retire(key, as: .cancelled(seq: seq, reason: reason))
            return nil
        default:
            return .invalidTransition(key: key, state: record.state.kind, action: .cancel)
        }
    }

    mutating func retry(_ key: String) -> TaskRuntimeError? {
        guard let record = records[key] else { return .unknownTask(key: key) }
        guard record.state.kind == .failed || record.state.kind == .cancelled else {
            return .invalidTransition(key: key, state: record.state.kind, action: .retry)
        }
        if let cancelling {
            refused += 1
            return .cancelling(key: key, reason: cancelling.reason)
        }
        if queuedCount >= boundary.maxQueued {
            refused += 1
            return .queueSaturated(key: key, maxQueued: boundary.maxQueued)
        }
        history.removeAll { $0 == key }
        admit(key)
        return nil
    }

    mutating func requestCancellation(
        _ key: String, reason: String, now: GateInstant
    ) -> Result<TaskRuntime.TaskCancellation, TaskRuntimeError> {
        guard let record = records[key] else { return .failure(.unknownTask(key: key)) }
        switch record.state {
        case .queued(let seq):
            cancelled += 1
            retire(key, as: .cancelled(seq: seq, reason: reason))
            return .success(.cancelled)
        case .inFlight:
            let deadline = now + boundary.cancellationBudget
            if let existing = record.cancellation, existing.deadline <= deadline {
                return .success(.draining(deadline: existing.deadline))
            }
            records[key]!.cancellation = (reason, deadline)
            return .success(.draining(deadline: deadline))
        default:
            return .failure(.invalidTransition(key: key, state: record.state.kind, action: .requestCancellation))
        }
    }

    /// In-flight keys in start order.
    var startOrder: [String] {
        records.filter { $0.value.state.kind == .inFlight }.sorted { $0.value.startStamp < $1.value.startStamp }
            .map(\.key)
    }

    mutating func beginCancellation(reason: String, now: GateInstant) -> TaskRuntime.CancellationActions {
        if cancelling == nil { cancelling = (reason, now + boundary.cancellationBudget) }
        let (effectiveReason, deadline) = cancelling!
        let queued = records.filter { $0.value.state.kind == .queued }.sorted {
            $0.value.state.seq < $1.value.state.seq
        }
        var cancelledKeys: [String] = []
        for (key, record) in queued {
            cancelledKeys.append(key)
            cancelled += 1
            retire(key, as: .cancelled(seq: record.state.seq, reason: effectiveReason))
        }
        var draining: [String] = []
        for key in startOrder where records[key]?.state.kind == .inFlight {
            if records[key]!.cancellation.map({ $0.deadline > deadline }) ?? true {
                records[key]!.cancellation = (effectiveReason, deadline)
            }
            draining.append(key)
        }
        return TaskRuntime.CancellationActions(cancelled: cancelledKeys, draining: draining, deadline: deadline)
    }

    mutating func expireCancellation(now: GateInstant) -> [String] {
        var abandonedKeys: [String] = []
        for key in startOrder {
            guard let record = records[key], case .inFlight(let seq, _) = record.state,
                let pending = record.cancellation, pending.deadline <= now
            else { continue }
            abandonedKeys.append(key)
            cancelled += 1
            abandoned += 1
            retire(key, as: .cancelled(seq: seq, reason: pending.reason))
        }
        return abandonedKeys
    }

    mutating func reopen() {
        cancelling = nil
    }
}
