public import SluiceCore

/// What became of one event handed to a ``KafkaRecordHandler``: whether its offset may be committed.
///
/// Mirrors the pipeline's `Settlement` case for case, so that the glue is a plain `switch`.
public enum KafkaSettlement: Sendable {
    /// The outcome is durable in the ledger: the offset may be committed (after producing the record to the
    /// dead-letter topic when `deadLetter` is true).
    case recorded(Outcome, deadLetter: Bool)
    /// Not decided (cancelled, shut down): do not commit; the record is delivered again.
    case abandoned(reason: String)
    /// The ledger write failed: do not commit; the record is submitted again after a backoff.
    case unrecorded(LedgerError)
}

/// What the Kafka source hands its events to: one adapter's pipeline (mapping, gate, engine, ledger).
///
/// The source calls `waitForCapacity()` and reads `capacity` before each `submit(batch:settled:)`, so it only
/// takes from Kafka what the gate admits; while the gate is full, records wait in a bounded buffer and the
/// partitions are paused.
public protocol KafkaRecordHandler: Sendable {
    /// How many more events the gate would admit now.
    var capacity: Int { get async }

    /// Returns when the gate has room for at least one more event, or when the calling task is cancelled.
    func waitForCapacity() async

    /// Maps and admits one event; `settled` receives exactly one settlement, after the outcome is durable
    /// (or the event was abandoned). `settled` returns quickly: the source does slow follow-up work
    /// (dead letters, retries) on its own tasks.
    ///
    /// - Parameter takenBack: given by a source whose handler ``preservesOrder``: asked just before the event enters
    ///   the gate, in the same step as its admission (on the gate's actor). True means the source took the event
    ///   back (an earlier record of its partition ended undecided meanwhile and is to be submitted again first): the
    ///   handler does not admit it, does not call `settled`, and returns normally.
    /// - Throws: ``DispatchAdmissionError`` at once when the event cannot be taken now; the source submits it
    ///   again later, whatever the refusal (a decision found in the ledger is settled, not thrown).
    func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError)

    /// ``submit(_:unless:settled:)`` for several events of one fetch, in order: `settled` receives each taken
    /// event's index and its one settlement; `takenBack` is asked with an event's index.
    ///
    /// - Returns: for each event, nil when it was taken or taken back, or why it was refused now (then `settled` is
    ///   not called for it).
    func submit(
        batch events: [Event], unless takenBack: (@Sendable (Int) -> Bool)?,
        settled: @escaping @Sendable (Int, KafkaSettlement) async -> Void
    ) async -> [DispatchAdmissionError?]

    /// Whether the handler orders events (by partition or by key): then the source hands a partition's records
    /// to it in offset order even when one must be submitted again (refused, abandoned, not recorded), holding
    /// back the partition's later records meanwhile. Unordered handlers get independent retries.
    var preservesOrder: Bool { get }

    /// Records the rejection of a record that could not become an event (a value over the size limit, an invalid
    /// CloudEvent) as its outcome, a dead letter, under the record's position as its key (`topic-partition-offset@timestamp`):
    /// every record ends with one outcome in the ledger. The source produces it to the dead-letter topic, when there
    /// is one, once this settles it `recorded`, and submits it again after a backoff when it settles `unrecorded`.
    ///
    /// - Parameters:
    ///   - event: the placeholder event standing for the record (its position, no body).
    ///   - reason: `value_too_large` or `invalid_event`.
    ///   - message: what was wrong, for people.
    func reject(_ event: Event, reason: String, message: String) async -> KafkaSettlement

    /// Cancels the admitted events of a partition being revoked, within the gate's cancellation budget: those not
    /// started at once, running ones when the budget ends unless they finish first. Cancelled events settle
    /// `.abandoned` and are delivered again to the partition's next owner.
    func cancel(events: [Event], reason: String) async
}

extension KafkaRecordHandler {
    /// Ordered unless the handler says otherwise.
    public var preservesOrder: Bool { true }

    /// The rejection as a dead letter, recorded nowhere: for handlers without a ledger (tests, benchmarks).
    public func reject(_ event: Event, reason: String, message: String) async -> KafkaSettlement {
        let outcome = Outcome(
            adapter: event.source, action: "none", idempotencyKey: event.id, kind: .rejected,
            reason: OutcomeReason(rawValue: reason), message: message)
        return .recorded(outcome, deadLetter: true)
    }

    /// One ``submit(_:unless:settled:)`` after the other.
    public func submit(
        batch events: [Event], unless takenBack: (@Sendable (Int) -> Bool)?,
        settled: @escaping @Sendable (Int, KafkaSettlement) async -> Void
    ) async -> [DispatchAdmissionError?] {
        var refusals: [DispatchAdmissionError?] = []
        for (index, event) in events.enumerated() {
            do throws(DispatchAdmissionError) {
                let check: (@Sendable () -> Bool)?
                if let takenBack { check = { takenBack(index) } } else { check = nil }
                try await submit(event, unless: check) { settlement in
                    await settled(index, settlement)
                }
                refusals.append(nil)
            } catch {
                refusals.append(error)
            }
        }
        return refusals
    }
}
