extension EngineCommand {
    /// The command as JSON, everything needed to send it again (dead letters, `sluice replay`).
    public var json: JSONValue {
        var object = JSONObject()
        object["action"] = .string(action.rawValue)
        object["idempotency_key"] = .string(idempotencyKey)
        object["request_id"] = .string(requestID)
        object["target"] = .object(target.json)
        object["input"] = .array(input)
        if !startInput.isEmpty { object["start_input"] = .array(startInput) }
        if !correlation.isEmpty { object["correlation"] = .object(correlation) }
        return .object(object)
    }

    /// Reads a command written by ``json``; nil when the JSON is not that shape.
    public init?(json: JSONValue) {
        guard let action = json["action"]?.stringValue.flatMap(Action.init(rawValue:)),
            let key = json["idempotency_key"]?.stringValue, let requestID = json["request_id"]?.stringValue,
            let target = json["target"].flatMap(CommandTarget.init(json:))
        else { return nil }
        let correlation: JSONObject
        switch json["correlation"] {
        case nil: correlation = JSONObject()
        case .object(let object)?: correlation = object
        default: return nil
        }
        self.init(
            action: action, target: target, input: json["input"]?.arrayValue ?? [],
            startInput: json["start_input"]?.arrayValue ?? [], correlation: correlation, idempotencyKey: key,
            requestID: requestID)
    }
}

extension CommandTarget {
    /// Every field, durations in milliseconds.
    public var json: JSONObject {
        var object = JSONObject()
        object["workflow_id"] = workflowID.map(JSONValue.string)
        object["workflow_type"] = workflowType.map(JSONValue.string)
        object["task_queue"] = taskQueue.map(JSONValue.string)
        object["business_key"] = businessKey.map(JSONValue.string)
        object["duplicate_policy"] = duplicatePolicy.map { .string($0.rawValue) }
        object["signal_name"] = signalName.map(JSONValue.string)
        object["update_name"] = updateName.map(JSONValue.string)
        object["wait_for"] = waitFor.map { .string($0.rawValue) }
        object["wait_timeout_ms"] = waitTimeout.map { .int(Self.milliseconds($0)) }
        object["execution_timeout_ms"] = executionTimeout.map { .int(Self.milliseconds($0)) }
        object["run_timeout_ms"] = runTimeout.map { .int(Self.milliseconds($0)) }
        return object
    }

    /// Reads a target written by ``json``.
    public init?(json: JSONValue) {
        guard case .object = json else { return nil }
        func duration(_ key: String) -> Duration? { json[key]?.intValue.map { .milliseconds($0) } }
        self.init(
            workflowID: json["workflow_id"]?.stringValue, workflowType: json["workflow_type"]?.stringValue,
            taskQueue: json["task_queue"]?.stringValue, businessKey: json["business_key"]?.stringValue,
            duplicatePolicy: json["duplicate_policy"]?.stringValue.flatMap(DuplicatePolicy.init(rawValue:)),
            signalName: json["signal_name"]?.stringValue, updateName: json["update_name"]?.stringValue,
            waitFor: json["wait_for"]?.stringValue.flatMap(UpdateWaitStage.init(rawValue:)),
            waitTimeout: duration("wait_timeout_ms"), executionTimeout: duration("execution_timeout_ms"),
            runTimeout: duration("run_timeout_ms"))
    }

    /// Whole milliseconds, saturating at `Int64`'s bounds (a bridge caller's timeout can be any integer).
    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return sumOverflow ? .max : total
    }
}
