public import SluiceCore

/// One adapter's ``AdapterPipeline`` as a Kafka source's handler: mapping, the idempotency check, the
/// gate, the engine and the ledger, with the source fetching only what the gate admits.
public struct PipelineRecordHandler: KafkaRecordHandler {
    public let pipeline: AdapterPipeline

    public init(pipeline: AdapterPipeline) {
        self.pipeline = pipeline
    }

    public var capacity: Int { get async { await pipeline.dispatcher.pullCapacity } }

    public func waitForCapacity() async { await pipeline.dispatcher.waitForPullCapacity() }

    /// Whether the adapter orders its events (`ordering` other than `none`).
    public var preservesOrder: Bool { pipeline.adapter.isOrdered }

    public func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        try await pipeline.submit(event, unless: takenBack) { settlement in await settled(KafkaSettlement(settlement)) }
    }

    /// The pipeline's batch path: one ledger round trip and one gate turn per fetch.
    public func submit(
        batch events: [Event], unless takenBack: (@Sendable (Int) -> Bool)?,
        settled: @escaping @Sendable (Int, KafkaSettlement) async -> Void
    ) async -> [DispatchAdmissionError?] {
        await pipeline.submit(batch: events, unless: takenBack) { index, settlement in
            await settled(index, KafkaSettlement(settlement))
        }
    }

    public func reject(_ event: Event, reason: String, message: String) async -> KafkaSettlement {
        KafkaSettlement(await pipeline.rejectUnreadable(event, reason: OutcomeReason(rawValue: reason), message: message))
    }

    public func cancel(events: [Event], reason: String) async {
        let keys = events.compactMap { pipeline.adapter.map($0).plan?.idempotencyKey }
        await pipeline.dispatcher.cancel(keys: keys, reason: reason)
    }
}

extension KafkaSettlement {
    /// The pipeline's settlement, case for case.
    public init(_ settlement: Settlement) {
        switch settlement {
        case .recorded(let outcome, let deadLetter): self = .recorded(outcome, deadLetter: deadLetter)
        case .abandoned(let reason): self = .abandoned(reason: reason)
        case .unrecorded(let error): self = .unrecorded(error)
        }
    }
}
