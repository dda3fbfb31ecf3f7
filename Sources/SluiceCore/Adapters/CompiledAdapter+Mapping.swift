public import Foundation

extension CompiledAdapter {
    /// Maps an event to a plan with the first rule whose conditions all hold.
    ///
    /// An event no rule matches is `rejected` with reason `unmatched`; an event a rule matches but
    /// cannot be mapped (a missing path, a workflow id the engine would refuse) is `rejected` with
    /// reason `malformed_payload` and the problem in the message. Mapping reads the event and the
    /// compiled templates only: no I/O, no parsing.
    public func map(_ event: Event, now: Date = Date()) -> MappingDecision {
        let context = EvaluationContext(event: event, adapterName: name, adapterVersion: version)
        guard let rule = rules.first(where: { $0.matches(context) }) else {
            return .rejected(
                rejection(
                    event, context: context, action: "none", rule: nil, reason: .unmatched,
                    message: "no rule of adapter '\(name)' matches event type '\(event.type ?? "(none)")'", now: now))
        }
        do throws(MappingError) {
            return .plan(try plan(for: event, rule: rule, context: context))
        } catch {
            return .rejected(
                rejection(
                    event, context: context, action: rule.steps.first?.action.rawValue ?? "none", rule: rule.name,
                    reason: .malformedPayload, message: error.description, now: now))
        }
    }

    private func plan(for event: Event, rule: Rule, context: EvaluationContext) throws(MappingError) -> Plan {
        let key = Self.canonical(try idempotencyKey.evaluateText(in: context, field: "idempotency_key"))
        try Self.check(key, field: "idempotency_key", maxLength: 255)
        let orderingKey: String?
        switch ordering {
        case .none: orderingKey = nil
        case .partition, .recordKey:
            if case .kafka(let record) = event.origin {
                orderingKey = ordering.isRecordKey ? (event.key ?? "\(record.topic)-\(record.partition)") : "\(record.topic)-\(record.partition)"
            } else {
                orderingKey = event.key
            }
        case .key(let template): orderingKey = try template.evaluateText(in: context, field: "ordering.key")
        }
        var steps: [PlanStep] = []
        steps.reserveCapacity(rule.steps.count)
        for step in rule.steps {
            let command = try step.command(
                adapter: name, version: version, rule: rule.name, event: event, key: key,
                engineKey: CompiledAdapter.engineKey(key, step: step.id, of: rule.steps.count), context: context)
            steps.append(PlanStep(id: step.id, needs: step.needs, command: command))
        }
        return Plan(
            adapter: name, adapterVersion: version, rule: rule.name, eventID: event.id, eventType: event.type,
            idempotencyKey: key, orderingKey: orderingKey, steps: steps, sourcePosition: event.position,
            receivedAt: event.receivedAt)
    }

    private func rejection(
        _ event: Event, context: EvaluationContext, action: String, rule: String?, reason: OutcomeReason,
        message: String, now: Date
    ) -> Outcome {
        // Composed as a plan's key is. A key the plan refused (empty, too long, holding a NUL) could not be stored
        // either: the event's id stands in, and, when it is no key either (an empty or oversized unsigned header),
        // its hash.
        func usable(_ key: String?) -> String? {
            key.map(Self.canonical).flatMap { (try? Self.check($0, field: "", maxLength: 255)) != nil ? $0 : nil }
        }
        let key = usable(try? idempotencyKey.evaluateText(in: context, field: "idempotency_key")) ?? usable(event.id)
            ?? "sha256:" + Digest.sha256Hex(event.id)
        return Outcome(
            adapter: name, action: action, idempotencyKey: key, kind: .rejected, reason: reason,
            correlation: .object(Self.correlation(adapter: name, version: version, rule: rule, step: nil, event: event)),
            message: message,
            sluice: OutcomeDetails(
                eventID: event.id, eventType: event.type, sourcePosition: event.position, adapterVersion: version,
                rule: rule, attempts: 0, steps: [], receivedAt: event.receivedAt, decidedAt: now))
    }

    /// The rejection of a record that could not become an event (a Kafka value over the size limit, an invalid
    /// CloudEvent), under the event's id (the record's position) as its key.
    public func unreadable(_ event: Event, reason: OutcomeReason, message: String, now: Date = Date()) -> Outcome {
        Outcome(
            adapter: name, action: "none", idempotencyKey: event.id, kind: .rejected, reason: reason,
            correlation: .object(Self.correlation(adapter: name, version: version, rule: nil, step: nil, event: event)),
            message: message,
            sluice: OutcomeDetails(
                eventID: event.id, eventType: event.type, sourcePosition: event.position, adapterVersion: version,
                rule: nil, attempts: 0, steps: [], receivedAt: event.receivedAt, decidedAt: now))
    }

    static func correlation(adapter: String, version: Int, rule: String?, step: String?, event: Event) -> JSONObject {
        var correlation = JSONObject()
        correlation["source"] = .string("sluice")
        correlation["adapter"] = .string(adapter)
        correlation["adapter_version"] = .int(Int64(version))
        correlation["rule"] = rule.map(JSONValue.string)
        correlation["step"] = step.map(JSONValue.string)
        correlation["event_id"] = .string(event.id)
        correlation["event_type"] = event.type.map(JSONValue.string)
        return correlation
    }

    /// The field's name is built only for an error: this runs for every field of every event.
    static func check(_ value: String, field: @autoclosure () -> String, maxLength: Int) throws(MappingError) {
        if value.isEmpty { throw .invalidField(field: field(), problem: "is empty") }
        if value.utf8.count > maxLength {
            throw .invalidField(field: field(), problem: "is longer than \(maxLength) bytes")
        }
        // PostgreSQL's text cannot hold it: a shared ledger could never store the key or the workflow id.
        if value.containsNUL { throw .invalidField(field: field(), problem: "contains a NUL character (U+0000)") }
    }

    /// The key in Unicode's composed form (NFC). The ledger compares keys by their bytes, Swift's dictionaries as
    /// canonically equivalent text: `café` written composed and decomposed were one key in the gate and two in
    /// the ledger. In one form they are one everywhere. ASCII, the usual key, is returned as it is.
    static func canonical(_ key: String) -> String {
        key.utf8.allSatisfy { $0 < 0x80 } ? key : key.precomposedStringWithCanonicalMapping
    }

    /// A step's idempotency key at the engine: the event's key for a one-step plan, `key#stepId` otherwise; when
    /// that would pass the engine's 255 bytes, `sha256:{64 hex of the key}#stepId` (still one per event and step,
    /// and the same on every redelivery).
    public static func engineKey(_ key: String, step: String, of steps: Int) -> String {
        guard steps > 1 else { return key }
        let joined = key + "#" + step
        return joined.utf8.count <= 255 ? joined : "sha256:" + Digest.sha256Hex(key) + "#" + step
    }

    /// The workflow id the engine derives when a start names none: `bridge-{adapter}-{32 hex}`.
    public static func derivedWorkflowID(adapter: String, idempotencyKey: String) -> String {
        "bridge-\(adapter)-" + Digest.sha256Hex(idempotencyKey).prefix(32)
    }

    /// The deterministic request id of one step of one event.
    public static func requestID(adapter: String, idempotencyKey: String, rule: String, step: String) -> String {
        "sluice-" + Digest.sha256Hex("\(adapter)\u{1F}\(idempotencyKey)\u{1F}\(rule)\u{1F}\(step)").prefix(40)
    }
}

extension CompiledAdapter.Ordering {
    var isRecordKey: Bool {
        if case .recordKey = self { true } else { false }
    }
}

extension CompiledAdapter.Rule {
    func matches(_ context: EvaluationContext) -> Bool {
        conditions.allSatisfy { $0.holds(in: context) }
    }
}

extension CompiledAdapter.Condition {
    func holds(in context: EvaluationContext) -> Bool {
        let value = try? context.value(of: expression)
        switch match {
        case .exists(let wanted): return (value != nil && value != .null) == wanted
        case .equals(let expected): return value.map { Self.equal($0, expected) } ?? false
        case .anyOf(let candidates): return value.map { v in candidates.contains { Self.equal(v, $0) } } ?? false
        case .prefix(let prefixes):
            guard let text = value?.scalarText else { return false }
            return prefixes.contains { text.hasPrefix($0) }
        }
    }

    /// Scalars compare by their text (so `200` matches `"200"`); arrays and objects as JSON.
    static func equal(_ value: JSONValue, _ expected: JSONValue) -> Bool {
        if let left = value.scalarText, let right = expected.scalarText { return left == right }
        return value == expected
    }
}

extension JSONValue {
    /// The text of a string, number or boolean; nil for null, arrays and objects.
    var scalarText: String? {
        switch self {
        case .string(let text): text
        case .int, .double, .exactNumber, .bool: interpolatedText
        default: nil
        }
    }
}

extension CompiledAdapter.Step {
    func command(
        adapter: String, version: Int, rule: String, event: Event, key: String, engineKey: String,
        context: EvaluationContext
    ) throws(MappingError) -> EngineCommand {
        // A field's name in errors, `start_workflow.workflow_id`: built only when one is thrown.
        func field(_ name: String) -> String { action.rawValue + "." + name }
        var target = CommandTarget()
        if let workflowID {
            target.workflowID = try workflowID.evaluateText(in: context, field: field("workflow_id"))
        } else if action == .startWorkflow || action == .signalWithStart {
            target.workflowID = CompiledAdapter.derivedWorkflowID(adapter: adapter, idempotencyKey: key)
        }
        if let id = target.workflowID {
            try CompiledAdapter.check(id, field: field("workflow_id"), maxLength: 128)
            guard EngineIdentifier.accepts(id) else {
                throw .invalidField(
                    field: field("workflow_id"),
                    problem: "'\(id.prefix(64))' has characters the engine refuses (allowed: letters, digits, . _ : -)")
            }
        }
        target.workflowType = try workflowType?.evaluateText(in: context, field: field("workflow_type"))
        target.taskQueue = try taskQueue?.evaluateText(in: context, field: field("task_queue"))
        target.businessKey = try businessKey?.evaluateText(in: context, field: field("business_key"))
        target.signalName = try signalName?.evaluateText(in: context, field: field("signal_name"))
        target.updateName = try updateName?.evaluateText(in: context, field: field("update_name"))
        func checkName(_ value: String?, _ name: String) throws(MappingError) {
            if let value { try CompiledAdapter.check(value, field: field(name), maxLength: 255) }
        }
        try checkName(target.workflowType, "workflow_type")
        try checkName(target.taskQueue, "task_queue")
        try checkName(target.signalName, "signal_name")
        try checkName(target.updateName, "update_name")
        target.duplicatePolicy = duplicatePolicy
        target.waitFor = waitFor
        target.waitTimeout = waitTimeout
        target.executionTimeout = executionTimeout
        target.runTimeout = runTimeout
        return EngineCommand(
            action: action, target: target, input: try Self.arguments(input, context: context),
            startInput: try Self.arguments(startInput, context: context),
            correlation: CompiledAdapter.correlation(adapter: adapter, version: version, rule: rule, step: id, event: event),
            idempotencyKey: engineKey,
            requestID: CompiledAdapter.requestID(adapter: adapter, idempotencyKey: key, rule: rule, step: id))
    }

    /// Arguments are always a list: a YAML list gives the arguments, any other value is the only one.
    static func arguments(_ template: Template?, context: EvaluationContext) throws(MappingError) -> [JSONValue] {
        guard let template else { return [] }
        switch template {
        case .array:
            guard case .array(let values) = try template.evaluate(in: context) else { return [] }
            return values
        case .literal(.array(let values)): return values
        default: return [try template.evaluate(in: context)]
        }
    }
}
