public import SluiceCore

/// One command to send by hand (`sluice send`), as its JSON texts.
public struct SendRequest: Sendable {
    /// The engine's name in `sluice.yaml`; nil for the default engine.
    public var engine: String?
    public var adapter: String
    public var action: EngineCommand.Action
    public var idempotencyKey: String
    /// The target object: `workflow_id`, `workflow_type`, `task_queue`, `business_key`, `duplicate_policy`,
    /// `signal_name`, `update_name`, `wait_for`, `wait_timeout_seconds`, `execution_timeout_seconds`,
    /// `run_timeout_seconds`.
    public var target: String
    /// The arguments: a JSON array, or one value that becomes the only argument.
    public var input: String?
    /// For signal-with-start: the workflow's arguments.
    public var startInput: String?
    /// An object echoed back in the outcome.
    public var correlation: String?
    /// The request id; default: derived from adapter, action and idempotency key, so that sending the
    /// same command twice is a replay.
    public var requestID: String?

    public init(
        engine: String?, adapter: String, action: EngineCommand.Action, idempotencyKey: String, target: String,
        input: String? = nil, startInput: String? = nil, correlation: String? = nil, requestID: String? = nil
    ) {
        self.engine = engine
        self.adapter = adapter
        self.action = action
        self.idempotencyKey = idempotencyKey
        self.target = target
        self.input = input
        self.startInput = startInput
        self.correlation = correlation
        self.requestID = requestID
    }

    /// The engine command, or a message saying which option is wrong.
    public func command() -> Result<EngineCommand, SendProblem> {
        guard case .object(let object)? = try? JSONParser.parse(target) else {
            return .failure(SendProblem("--target is not a JSON object"))
        }
        var target = CommandTarget()
        let textMembers: Set<String> = ["workflow_id", "workflow_type", "task_queue", "business_key", "signal_name", "update_name"]
        for member in object {
            let value = member.value
            // A number where text is expected would otherwise read as absent: a start under a derived workflow id.
            if textMembers.contains(member.key), value.stringValue == nil {
                return .failure(SendProblem("--target \(member.key) is text (a JSON string)"))
            }
            switch member.key {
            case "workflow_id": target.workflowID = value.stringValue
            case "workflow_type": target.workflowType = value.stringValue
            case "task_queue": target.taskQueue = value.stringValue
            case "business_key": target.businessKey = value.stringValue
            case "signal_name": target.signalName = value.stringValue
            case "update_name": target.updateName = value.stringValue
            case "duplicate_policy":
                guard let policy = value.stringValue.flatMap(DuplicatePolicy.init(rawValue:)) else {
                    return .failure(SendProblem("--target duplicate_policy is reject_duplicate or use_existing"))
                }
                target.duplicatePolicy = policy
            case "wait_for":
                guard let stage = value.stringValue.flatMap(UpdateWaitStage.init(rawValue:)) else {
                    return .failure(SendProblem("--target wait_for is accepted or completed"))
                }
                target.waitFor = stage
            case "wait_timeout_seconds", "execution_timeout_seconds", "run_timeout_seconds":
                guard let seconds = value.intValue, seconds > 0 else {
                    return .failure(SendProblem("--target \(member.key) is a positive number of seconds"))
                }
                switch member.key {
                case "wait_timeout_seconds": target.waitTimeout = .seconds(seconds)
                case "execution_timeout_seconds": target.executionTimeout = .seconds(seconds)
                default: target.runTimeout = .seconds(seconds)
                }
            default:
                return .failure(SendProblem("--target has an unknown member '\(member.key)'"))
            }
            if value.stringValue == nil, value.intValue == nil {
                return .failure(SendProblem("--target \(member.key) has the wrong type"))
            }
        }
        let arguments: [JSONValue]
        let startArguments: [JSONValue]
        switch (Self.arguments(input, option: "--input"), Self.arguments(startInput, option: "--start-input")) {
        case (.failure(let problem), _), (_, .failure(let problem)): return .failure(problem)
        case (.success(let parsed), .success(let parsedStart)):
            arguments = parsed
            startArguments = parsedStart
        }
        var correlationObject = JSONObject()
        if let correlation {
            guard case .object(let object)? = try? JSONParser.parse(correlation) else {
                return .failure(SendProblem("--correlation is not a JSON object"))
            }
            correlationObject = object
        }
        guard !idempotencyKey.isEmpty else { return .failure(SendProblem("--idempotency-key is empty")) }
        let derived = "sluice-send-" + String(Digest.sha256Hex("\(adapter)\n\(action.rawValue)\n\(idempotencyKey)").prefix(32))
        return .success(
            EngineCommand(
                action: action, target: target, input: arguments, startInput: startArguments,
                correlation: correlationObject, idempotencyKey: idempotencyKey, requestID: requestID ?? derived))
    }

    private static func arguments(_ text: String?, option: String) -> Result<[JSONValue], SendProblem> {
        guard let text else { return .success([]) }
        guard let value = try? JSONParser.parse(text) else { return .failure(SendProblem("\(option) is not JSON")) }
        if case .array(let elements) = value { return .success(elements) }
        return .success([value])
    }
}

/// Why a ``SendRequest`` cannot be sent.
public struct SendProblem: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
