public import Foundation
public import SluiceCore

/// Reads the engine's bridge request body (`action`, `idempotency_key`, `target`, `input`,
/// `correlation`) into a one-step ``Plan``, validating it as the engine does.
public enum BridgeRequestParser {
    /// A request the engine would reject: answered `422` with a `rejected` outcome and this reason.
    public struct Rejection: Error, Sendable, Hashable {
        public var reason: OutcomeReason
        public var message: String
        /// The request's action, key and target as far as they could be read, for the outcome.
        public var action: String
        public var idempotencyKey: String
        public var target: JSONObject?
        public var correlation: JSONValue?
    }

    /// The adapter label the engine accepts: `^[a-zA-Z0-9._:-]+$`.
    public static func isValidAdapter(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && EngineIdentifier.accepts(name)
    }

    /// The plan for a bridge request to `adapter`.
    ///
    /// - Parameters:
    ///   - body: the parsed JSON body.
    ///   - adapterVersion: the adapter's current version (the executor's ``BridgeExecutor/adapterVersion``),
    ///     recorded in the outcome.
    /// - Throws: ``Rejection`` with `unsupported_action` or `malformed_payload`.
    public static func plan(
        adapter: String, adapterVersion: Int, body: JSONValue, receivedAt: Date
    ) throws(Rejection) -> Plan {
        let actionText = body["action"]?.stringValue ?? ""
        let key = body["idempotency_key"]?.stringValue ?? ""
        let rawTarget = body["target"]?.objectValue
        let correlation = body["correlation"]
        func reject(_ reason: OutcomeReason, _ message: String) -> Rejection {
            Rejection(
                reason: reason, message: message, action: actionText, idempotencyKey: key,
                target: rawTarget.map(redacted), correlation: correlation?.objectValue.map(JSONValue.object))
        }
        guard body.objectValue != nil else { throw reject(.malformedPayload, "The request body must be a JSON object.") }
        guard let action = EngineCommand.Action(rawValue: actionText), action != .signalWithStart else {
            throw reject(.unsupportedAction, "Bridge action is unsupported.")
        }
        // No NUL (U+0000) in a key or a target's text: a shared ledger (PostgreSQL `text`) cannot store one, and the
        // request would fail as unavailable at every retry instead of being refused once.
        guard !key.isEmpty, key.utf8.count <= 255, !key.containsNUL else {
            throw reject(.malformedPayload, "idempotency_key must be a string of 1 to 255 characters, without NUL.")
        }
        guard let target = rawTarget else { throw reject(.malformedPayload, "target must be an object.") }
        let input: [JSONValue]
        switch body["input"] {
        case nil, .null?: input = []
        case .array(let items)?: input = items
        case .object(let object)?: input = object.members.map(\.value)
        default: throw reject(.malformedPayload, "input must be an array or an object.")
        }
        var correlationObject = JSONObject()
        switch correlation {
        case nil, .null?: break
        case .object(let object)?: correlationObject = object
        default: throw reject(.malformedPayload, "correlation must be an object.")
        }
        var commandTarget = CommandTarget()
        func text(_ name: String, required: Bool, limit: Int = 255) throws(Rejection) -> String? {
            switch target[name] {
            case nil, .null?:
                if required { throw reject(.malformedPayload, "target.\(name) is required.") }
                return nil
            case .string(let value)? where !value.isEmpty && value.utf8.count <= limit && !value.containsNUL: return value
            default: throw reject(.malformedPayload, "target.\(name) must be a string of 1 to \(limit) characters, without NUL.")
            }
        }
        switch action {
        case .startWorkflow:
            commandTarget.workflowType = try text("workflow_type", required: true)
            if let id = try text("workflow_id", required: false, limit: 128) {
                guard EngineIdentifier.accepts(id) else {
                    throw reject(.malformedPayload, "target.workflow_id may hold only letters, digits and ._:-")
                }
                commandTarget.workflowID = id
            } else {
                commandTarget.workflowID = "bridge-\(adapter)-" + Digest.sha256Hex(key).prefix(32)
            }
            commandTarget.taskQueue = try text("task_queue", required: false)
            commandTarget.businessKey = try text("business_key", required: false)
            let policy = try text("duplicate_policy", required: false) ?? DuplicatePolicy.useExisting.rawValue
            guard let duplicatePolicy = DuplicatePolicy(rawValue: policy) else {
                throw reject(.malformedPayload, "target.duplicate_policy must be reject_duplicate or use_existing.")
            }
            commandTarget.duplicatePolicy = duplicatePolicy
        case .signalWorkflow:
            commandTarget.workflowID = try text("workflow_id", required: true, limit: 128)
            commandTarget.signalName = try text("signal_name", required: true)
        case .updateWorkflow:
            commandTarget.workflowID = try text("workflow_id", required: true, limit: 128)
            commandTarget.updateName = try text("update_name", required: true)
            if let stage = try text("wait_for", required: false) {
                guard let waitFor = UpdateWaitStage(rawValue: stage) else {
                    throw reject(.malformedPayload, "target.wait_for must be accepted or completed.")
                }
                commandTarget.waitFor = waitFor
            }
            switch target["wait_timeout_seconds"] {
            case nil, .null?: break
            case .int(let seconds)? where seconds >= 1: commandTarget.waitTimeout = .seconds(seconds)
            default: throw reject(.malformedPayload, "target.wait_timeout_seconds must be a positive integer.")
            }
        case .signalWithStart:
            throw reject(.unsupportedAction, "Bridge action is unsupported.")
        }
        let step = "bridge"
        let command = EngineCommand(
            action: action, target: commandTarget, input: input, correlation: correlationObject, idempotencyKey: key,
            requestID: CompiledAdapter.requestID(adapter: adapter, idempotencyKey: key, rule: step, step: step))
        return Plan(
            adapter: adapter, adapterVersion: adapterVersion, rule: step, eventID: key, eventType: action.rawValue,
            idempotencyKey: key, orderingKey: commandTarget.workflowID,
            steps: [PlanStep(id: step, needs: [], command: command)], receivedAt: receivedAt)
    }

    /// The target summary the engine echoes: only ids, names, queue and business key.
    static func redacted(_ target: JSONObject) -> JSONObject {
        var summary = JSONObject()
        for name in ["workflow_id", "workflow_type", "signal_name", "update_name", "task_queue", "business_key"] {
            if let value = target[name]?.stringValue { summary[name] = .string(value) }
        }
        return summary
    }
}
