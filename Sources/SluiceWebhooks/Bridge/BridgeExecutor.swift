public import SluiceCore

/// Runs one plan synchronously for the bridge endpoint: ledger check, the gate, the engine, the record.
///
/// ``AdapterPipeline`` is the implementation; the protocol lets tests stand in for it.
public protocol BridgeExecutor: Sendable {
    /// The adapter's `version`: the bridge's plans are made under it, since the gate delivers only plans
    /// of the adapter's current version (any other is `incompatible_state`).
    var adapterVersion: Int { get }

    /// The plan's outcome once it is decided, or why there is none yet.
    func execute(_ plan: Plan) async -> SynchronousResult
}

extension AdapterPipeline: BridgeExecutor {
    public var adapterVersion: Int { adapter.version }
}
