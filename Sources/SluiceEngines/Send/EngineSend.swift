public import Logging
public import SluiceCore

/// Sends one command through a configured engine and reports the outcome (the logic of `sluice send`).
public enum EngineSend {
    /// What sending produced: JSON to print and the process exit status.
    public struct Report: Sendable {
        /// The outcome, or `{"error": {…}}`.
        public var json: JSONValue
        /// 0 accepted or duplicate, 1 rejected, 2 errors.
        public var exitCode: Int32
        /// A line for standard error, when something went wrong.
        public var message: String?
    }

    /// Sends `request` with the engine `sluice.yaml` names.
    ///
    /// - Parameters:
    ///   - request: the command.
    ///   - config: the loaded `sluice.yaml`.
    ///   - references: resolves the engine's `${env:…}` token strictly.
    ///   - http: the shared client (the caller shuts it down).
    public static func send(
        _ request: SendRequest, config: SluiceConfigSpec, references: ConfigReferences, http: EngineHTTPClient,
        logger: Logger = Logger(label: "sluice.send")
    ) async -> Report {
        guard let name = request.engine ?? config.defaultEngine else {
            return problem("sluice.yaml has several engines and no default_engine: pass --engine")
        }
        guard let spec = config.engines[name] else {
            let known = config.engines.keys.sorted().joined(separator: ", ")
            return problem("unknown engine '\(name)' (sluice.yaml has: \(known))")
        }
        let command: EngineCommand
        switch request.command() {
        case .success(let built): command = built
        case .failure(let failure): return problem(failure.description)
        }
        do {
            let engine = try EngineFactory.makeEngine(name: name, spec: spec, references: references, http: http, logger: logger)
            let outcome = try await engine.execute(command, adapter: request.adapter)
            return Report(json: outcome.json, exitCode: outcome.kind == .rejected ? 1 : 0, message: nil)
        } catch {
            var details = JSONObject()
            details["kind"] = .string(error.kind.rawValue)
            details["reason"] = .string(error.reason)
            details["detail"] = .string(error.detail)
            details["status"] = error.statusCode.map { .int(Int64($0)) }
            details["retry_after_seconds"] = error.retryAfter.map { .int(DurationText.seconds($0)) }
            return Report(
                json: .object(JSONObject([.init(key: "error", value: .object(details))])), exitCode: 2,
                message: error.description)
        }
    }

    /// The report of a command that could not be sent as given (options, configuration): exit 2.
    public static func problem(_ message: String) -> Report {
        var details = JSONObject()
        details["kind"] = "fatal"
        details["reason"] = "configuration"
        details["detail"] = .string(message)
        return Report(json: .object(JSONObject([.init(key: "error", value: .object(details))])), exitCode: 2, message: message)
    }
}
