/// What an adapter decided about an event: a plan to run, or an outcome already (an unmatched or
/// malformed event is `rejected` without reaching the engine).
public enum MappingDecision: Sendable, Hashable {
    case plan(Plan)
    case rejected(Outcome)

    /// The plan, when there is one.
    public var plan: Plan? {
        if case .plan(let plan) = self { return plan }
        return nil
    }
}
