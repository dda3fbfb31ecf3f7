/// A request to the Durable Workflow bridge endpoint, `POST /api/bridge-adapters/webhook/{adapter}`,
/// shaped exactly as the engine's official client sends it.
public struct BridgeRequest: Sendable, Hashable {
    /// The path, with the adapter percent-escaped as the official client does.
    public var path: String
    /// `{action, idempotency_key, target, input, correlation}` in that order.
    public var body: JSONObject

    /// The bridge requests that perform `command` for `adapter`: one, or two for signal-with-start
    /// (a `use_existing` start, then the signal).
    public static func requests(for command: EngineCommand, adapter: String) -> [BridgeRequest] {
        let path = "/api/bridge-adapters/webhook/" + escapeAdapter(adapter)
        switch command.action {
        case .signalWithStart:
            // The signal must reach the workflow the start named: without an id of its own, the one the server
            // derives for the start (`bridge-{adapter}-…`), written out for both.
            var target = command.target
            if target.workflowID == nil {
                target.workflowID = CompiledAdapter.derivedWorkflowID(adapter: adapter, idempotencyKey: command.idempotencyKey)
            }
            let start = body(
                action: .startWorkflow, key: command.idempotencyKey, target: target.bridgeJSON(for: .signalWithStart),
                input: command.startInput, correlation: command.correlation)
            let signal = body(
                action: .signalWorkflow, key: command.idempotencyKey, target: target.bridgeJSON(for: .signalWorkflow),
                input: command.input, correlation: command.correlation)
            return [BridgeRequest(path: path, body: start), BridgeRequest(path: path, body: signal)]
        default:
            let single = body(
                action: command.action, key: command.idempotencyKey, target: command.target.bridgeJSON(for: command.action),
                input: command.input, correlation: command.correlation)
            return [BridgeRequest(path: path, body: single)]
        }
    }

    private static func body(
        action: EngineCommand.Action, key: String, target: JSONObject, input: [JSONValue], correlation: JSONObject
    ) -> JSONObject {
        var body = JSONObject()
        body["action"] = .string(action.rawValue)
        body["idempotency_key"] = .string(key)
        body["target"] = .object(target)
        body["input"] = .array(input)
        if !correlation.isEmpty { body["correlation"] = .object(correlation) }
        return body
    }

    /// Percent-escapes everything but letters, digits and `._:-` (Python's `quote(s, safe='._:-')`).
    public static func escapeAdapter(_ adapter: String) -> String {
        var escaped = ""
        for byte in adapter.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                UInt8(ascii: "-"), UInt8(ascii: "~"):
                escaped.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                escaped += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return escaped
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
