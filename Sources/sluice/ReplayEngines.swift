import Foundation
import SluiceApp
import SluiceCore
import SluiceEngines

/// The engine of each adapter whose dead letters are replayed, built from `sluice.yaml` and the
/// adapter files it points to.
enum ReplayEngines {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    static func make(
        for adapters: Set<String>, config: String, directory: URL, http: EngineHTTPClient
    ) throws -> [String: any WorkflowEngine] {
        guard !adapters.isEmpty else { return [:] }
        // Lenient: the files are read to learn each adapter's engine, and a replay uses no other secret of theirs (a
        // webhook's signing secret may well be unset where the operator runs it). The engines' own tokens and URLs
        // are resolved strictly below, for the engines the letters go to.
        let loaded = ProjectLoader(resolution: .lenient).load(paths: [], directory: directory, configuration: config)
        guard let spec = loaded.config else {
            let problems = loaded.diagnostics.filter { $0.severity == .error && $0.file == config }.map(\.description)
            throw Problem(description: "no engines to replay to: " + (problems.first ?? "\(config) cannot be read"))
        }
        // `${file:…}` starts at the configuration's directory, as in `sluice serve`, wherever replay runs.
        let configDirectory = URL(fileURLWithPath: config, relativeTo: directory).deletingLastPathComponent()
        let references = ConfigReferences(
            source: ProcessConfigValueSource(baseDirectory: configDirectory), resolution: .strict)
        var engines: [String: any WorkflowEngine] = [:]
        // Never guess among several engines: a letter sent to the wrong one could be marked re-driven without
        // reaching its own. With one engine there is nothing to guess (no adapter files, or an adapter removed).
        if loaded.adapters == nil, spec.engines.count > 1 {
            let problem = loaded.diagnostics.first { $0.severity == .error }?.description ?? "the adapter files cannot be loaded"
            throw Problem(description: "cannot tell which of the engines each adapter uses: \(problem)")
        }
        for name in adapters.sorted() {
            let compiled = loaded.adapters?.adapter(named: name)
            guard compiled != nil || spec.engines.count == 1 else {
                throw Problem(
                    description: "adapter '\(name)' is not in the adapter files of \(config), which names several engines: "
                        + "its letters stay until its file is back")
            }
            guard let engineName = compiled?.engine ?? spec.defaultEngine, let engineSpec = spec.engines[engineName] else {
                throw Problem(description: "adapter '\(name)' has no engine in \(config) (set engine: in its file, or default_engine)")
            }
            do {
                engines[name] = try EngineFactory.makeEngine(name: engineName, spec: engineSpec, references: references, http: http)
            } catch {
                throw Problem(description: error.description)
            }
        }
        return engines
    }
}
