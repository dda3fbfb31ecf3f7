import Foundation
public import Logging
public import SluiceCore

/// Builds engines from `sluice.yaml`'s `engines:` entries, resolving `${env:…}` and `${file:…}` in
/// their URL and token at build time.
public enum EngineFactory {
    /// One engine.
    ///
    /// - Parameters:
    ///   - name: the engine's name in `sluice.yaml`, for messages.
    ///   - spec: its entry.
    ///   - references: resolves `${env:NAME}` and `${file:PATH}`; strict resolution makes a missing
    ///     variable an error.
    ///   - http: the shared client.
    ///   - logger: the parent logger; the engine adds `engine.name`.
    /// - Throws: a fatal `configuration` ``EngineError`` naming the field and the variable, never its value.
    public static func makeEngine(
        name: String, spec: SluiceConfigSpec.EngineSpec, references: ConfigReferences, http: EngineHTTPClient,
        logger: Logger = Logger(label: "sluice.engine")
    ) throws(EngineError) -> any WorkflowEngine {
        let url = try resolve(spec.url, field: "engines.\(name).url", references: references)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw .fatal("configuration", "engines.\(name).url is not an http:// or https:// URL")
        }
        let token = try spec.token.map { (text) throws(EngineError) in
            try headerSafeToken(
                resolve(text, field: "engines.\(name).token", references: references), field: "engines.\(name).token")
        }
        let endpoint = EngineEndpoint(
            baseURL: url, namespace: spec.namespace, token: token.flatMap { $0.isEmpty ? nil : Secret($0) },
            timeout: spec.timeout)
        var engineLogger = logger
        engineLogger[metadataKey: "engine.name"] = "\(name)"
        switch spec.kind {
        case .durableWorkflow: return DurableWorkflowEngine(endpoint: endpoint, mode: spec.mode, http: http, logger: engineLogger)
        case .temporal: return TemporalEngine(endpoint: endpoint, http: http, logger: engineLogger)
        }
    }

    /// Every engine of a configuration, by name.
    public static func makeEngines(
        _ config: SluiceConfigSpec, references: ConfigReferences, http: EngineHTTPClient,
        logger: Logger = Logger(label: "sluice.engine")
    ) throws(EngineError) -> [String: any WorkflowEngine] {
        var engines: [String: any WorkflowEngine] = [:]
        for (name, spec) in config.engines.sorted(by: { $0.key < $1.key }) {
            engines[name] = try makeEngine(name: name, spec: spec, references: references, http: http, logger: logger)
        }
        return engines
    }

    /// The token without the whitespace around it (a secret written with `echo` ends with a newline), and
    /// refused when what is left cannot travel in an HTTP header: every request would fail, and the HTTP
    /// client's error would quote the header, token included.
    static func headerSafeToken(_ token: String, field: String) throws(EngineError) -> String {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value <= 0x7E }) else {
            throw .fatal(
                "configuration",
                "\(field) holds a character a bearer token cannot carry (a space, a control character or non-ASCII)")
        }
        return trimmed
    }

    private static func resolve(_ text: String, field: String, references: ConfigReferences) throws(EngineError) -> String {
        let (value, problems) = references.resolve(text)
        if let problem = problems.first(where: { $0.severity == .error }) {
            throw .fatal("configuration", "\(field): \(problem.message)")
        }
        return value
    }
}
