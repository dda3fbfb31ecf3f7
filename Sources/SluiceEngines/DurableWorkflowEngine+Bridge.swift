import SluiceCore

extension DurableWorkflowEngine {
    /// Sends the command to the bridge endpoint: one request, or for signal-with-start a `use_existing`
    /// start then the signal (the signal is not sent when the start is rejected).
    func executeBridge(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        var outcomes: [Outcome] = []
        for bridgeRequest in BridgeRequest.requests(for: command, adapter: adapter) {
            let response = try await send(
                .POST, path: bridgeRequest.path, body: .object(bridgeRequest.body), timeout: endpoint.timeout(for: command))
            let outcome = try Self.bridgeOutcome(from: response, for: bridgeRequest.body)
            outcomes.append(outcome)
            if outcome.kind == .rejected { break }
        }
        guard command.action == .signalWithStart else { return outcomes[0] }
        return SignalWithStart.combine(start: outcomes[0], signal: outcomes.count > 1 ? outcomes[1] : nil)
    }

    /// Reads a bridge answer by its body's `schema`: an outcome whatever the status, otherwise a
    /// classified error (400, 401, 403, 404, 413, 415, 429, 5xx are not outcome-shaped).
    ///
    /// The server leaves `action` and `idempotency_key` out of rejections it makes before reading the command
    /// (`unsupported_routing`, a body-level `malformed_payload`): they are those of the request, `sent`.
    static func bridgeOutcome(from response: EngineHTTPResponse, for sent: JSONObject) throws(EngineError) -> Outcome {
        guard var json = response.json, json["schema"]?.stringValue == Outcome.schema else {
            throw ResponseClassifier.error(for: response)
        }
        if case .object(var object) = json {
            for member in ["action", "idempotency_key"] where object[member] == nil || object[member] == .null {
                object[member] = sent[member]
            }
            json = .object(object)
        }
        do {
            return try Outcome(json: json)
        } catch .unsupportedVersion(let version) {
            throw .nonRetryable(
                "unsupported_version",
                "the outcome has contract version \(version.map(JSONWriter.string) ?? "(missing)"), Sluice reads 1: "
                    + response.bodyExcerpt, statusCode: response.status)
        } catch {
            throw .nonRetryable("malformed_response", "\(error): \(response.bodyExcerpt)", statusCode: response.status)
        }
    }
}
