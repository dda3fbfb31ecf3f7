// A deterministic text of the runtime's whole state, for golden fixtures.

extension TaskRuntime {
    /// A stable, deterministic text of the whole state (seed 002's `signature`), for golden fixtures.
    ///
    /// Two runtimes driven by the same calls with the same instants print the same text; it does
    /// not depend on internal slot reuse. Lines:
    /// 1. `boundary <mode> maxInFlight=<n> maxQueued=<n> budget=<nanoseconds>ns history=<limit>`
    /// 2. `phase accepting`, or `phase cancelling reason=<quoted> deadline=<instant>`
    /// 3. `counts queued=… inFlight=… history=… admitted=… refused=… succeeded=… failed=… cancelled=… abandoned=…`
    /// 4. `ready [<quoted keys in start order>]`
    /// 5. one line per tracked task in `seq` order: `<quoted key> order=<quoted key or -> <state>`,
    ///    followed by ` drainBy=<instant> reason=<quoted>` when a cancellation is pending.
    ///
    /// Cost: O(n log n) in the tracked tasks; meant for tests and debugging, not the hot path.
    public var signature: String {
        var lines: [String] = []
        lines.append(
            "boundary \(boundary.mode.rawValue) maxInFlight=\(boundary.maxInFlight) maxQueued=\(boundary.maxQueued)"
                + " budget=\(GateInstant.nanoseconds(of: boundary.cancellationBudget))ns history=\(historyLimit)")
        switch phase {
        case .accepting:
            lines.append("phase accepting")
        case .cancelling(let reason, let deadline):
            lines.append("phase cancelling reason=\(reason.debugDescription) deadline=\(deadline)")
        }
        lines.append(
            "counts queued=\(queuedCount) inFlight=\(inFlightCount) history=\(historyCount)"
                + " admitted=\(admittedTotal) refused=\(refusedTotal) succeeded=\(succeededTotal)"
                + " failed=\(failedTotal) cancelled=\(cancelledTotal) abandoned=\(abandonedTotal)")
        let readyKeys = ready.indices(in: slots).map { slots[Int($0)].key.debugDescription }
        lines.append("ready [\(readyKeys.joined(separator: ", "))]")
        let tracked = slots.filter { $0.place != .free }.sorted { $0.state.seq < $1.state.seq }
        for slot in tracked {
            var line = "\(slot.key.debugDescription) order=\(slot.orderingKey?.debugDescription ?? "-") \(slot.state)"
            if let pending = slot.cancellation {
                line += " drainBy=\(pending.deadline) reason=\(pending.reason.debugDescription)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
