/// One engine call: the action, its target, its arguments, and the keys that make it idempotent.
public struct EngineCommand: Sendable, Hashable {
    /// The engine actions Sluice can perform.
    public enum Action: String, Sendable, Hashable, CaseIterable, Codable {
        case startWorkflow = "start_workflow"
        case signalWorkflow = "signal_workflow"
        case updateWorkflow = "update_workflow"
        /// Start with `use_existing`, then signal.
        case signalWithStart = "signal_with_start"
    }

    public var action: Action
    public var target: CommandTarget
    /// The arguments: for starts the workflow's, for signals and updates the handler's. Always a list.
    public var input: [JSONValue]
    /// For ``Action/signalWithStart``: the workflow's arguments if it has to be started.
    public var startInput: [JSONValue]
    /// Adapter, rule, step, event id and type, echoed back by the engine.
    public var correlation: JSONObject
    /// The key the engine dedupes on (the bridge's `idempotency_key`).
    public var idempotencyKey: String
    /// A deterministic id for this step of this event, stable across retries, restarts and replicas.
    public var requestID: String

    public init(
        action: Action, target: CommandTarget, input: [JSONValue] = [], startInput: [JSONValue] = [],
        correlation: JSONObject = JSONObject(), idempotencyKey: String, requestID: String
    ) {
        self.action = action
        self.target = target
        self.input = input
        self.startInput = startInput
        self.correlation = correlation
        self.idempotencyKey = idempotencyKey
        self.requestID = requestID
    }
}

/// What a command acts on (the contract's `target`).
public struct CommandTarget: Sendable, Hashable {
    public var workflowID: String?
    public var workflowType: String?
    public var taskQueue: String?
    public var businessKey: String?
    public var duplicatePolicy: DuplicatePolicy?
    public var signalName: String?
    public var updateName: String?
    public var waitFor: UpdateWaitStage?
    public var waitTimeout: Duration?
    public var executionTimeout: Duration?
    public var runTimeout: Duration?

    public init(
        workflowID: String? = nil, workflowType: String? = nil, taskQueue: String? = nil, businessKey: String? = nil,
        duplicatePolicy: DuplicatePolicy? = nil, signalName: String? = nil, updateName: String? = nil,
        waitFor: UpdateWaitStage? = nil, waitTimeout: Duration? = nil, executionTimeout: Duration? = nil,
        runTimeout: Duration? = nil
    ) {
        self.workflowID = workflowID
        self.workflowType = workflowType
        self.taskQueue = taskQueue
        self.businessKey = businessKey
        self.duplicatePolicy = duplicatePolicy
        self.signalName = signalName
        self.updateName = updateName
        self.waitFor = waitFor
        self.waitTimeout = waitTimeout
        self.executionTimeout = executionTimeout
        self.runTimeout = runTimeout
    }

    /// The target as the bridge endpoint takes it for `action`, members in the official client's order.
    public func bridgeJSON(for action: EngineCommand.Action) -> JSONObject {
        var object = JSONObject()
        switch action {
        case .startWorkflow, .signalWithStart:
            object["workflow_type"] = workflowType.map(JSONValue.string)
            object["workflow_id"] = workflowID.map(JSONValue.string)
            object["task_queue"] = taskQueue.map(JSONValue.string)
            object["business_key"] = businessKey.map(JSONValue.string)
            object["duplicate_policy"] = (action == .signalWithStart ? .useExisting : duplicatePolicy)
                .map { .string($0.rawValue) }
        case .signalWorkflow:
            object["workflow_id"] = workflowID.map(JSONValue.string)
            object["signal_name"] = signalName.map(JSONValue.string)
        case .updateWorkflow:
            object["workflow_id"] = workflowID.map(JSONValue.string)
            object["update_name"] = updateName.map(JSONValue.string)
            object["wait_for"] = waitFor.map { .string($0.rawValue) }
            object["wait_timeout_seconds"] = waitTimeout.map { .int(DurationText.seconds($0)) }
        }
        return object
    }
}
