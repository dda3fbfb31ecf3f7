public import Foundation
public import SluiceCore

/// Loads `sluice.yaml` and adapter files from disk and compiles them, collecting every problem.
public struct ProjectLoader: Sendable {
    public let environment: [String: String]
    public let resolution: ReferenceResolution

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, resolution: ReferenceResolution) {
        self.environment = environment
        self.resolution = resolution
    }

    /// What loading found.
    public struct Result: Sendable {
        /// `sluice.yaml`, when one was read and is valid.
        public var config: SluiceConfigSpec?
        /// The adapters, when every file compiled.
        public var adapters: AdapterSet?
        public var diagnostics: [Diagnostic]
        /// The files that were checked, for the summary.
        public var files: [String]
    }

    /// Loads a project.
    ///
    /// - Parameters:
    ///   - paths: adapter files or directories and/or a `sluice.yaml`. Empty means `sluice.yaml` in
    ///     `directory` when present (and its adapters directory), else `adapters/` in `directory`.
    ///   - directory: the working directory.
    ///   - readsConfiguration: whether to read `sluice.yaml` from `directory` when `paths` name none
    ///     (false for `sluice map`, which works on a lone adapter file).
    ///   - configuration: the configuration file, whatever its name (`--config prod.yaml`); otherwise a path
    ///     named `sluice.yaml` or `sluice.yml` in `paths` is the configuration.
    ///   - knownConfiguration: the configuration, already read (`sluice serve`), when no file is to be: adapters are checked
    ///     against its engines as against a file's.
    public func load(
        paths: [String], directory: URL, readsConfiguration: Bool = true, configuration: String? = nil, knownConfiguration: SluiceConfigSpec? = nil
    ) -> Result {
        var diagnostics: [Diagnostic] = []
        var files: [String] = []
        var configPath: String? = configuration
        var adapterPaths: [String] = []
        for path in paths where path != configuration {
            let name = (path as NSString).lastPathComponent
            if name == "sluice.yaml" || name == "sluice.yml" { configPath = path } else { adapterPaths.append(path) }
        }
        let defaultConfig = directory.appendingPathComponent("sluice.yaml").path
        if readsConfiguration, configPath == nil, FileManager.default.fileExists(atPath: defaultConfig) {
            configPath = "sluice.yaml"
        }
        var config = knownConfiguration
        if let configPath {
            files.append(configPath)
            switch read(configPath, directory: directory) {
            case .success(let text):
                let (spec, problems) = SluiceConfigSpec.read(text, file: configPath)
                diagnostics += problems
                config = spec
                if let spec {
                    diagnostics += engineReferenceProblems(spec, file: configPath, directory: directory)
                    if adapterPaths.isEmpty {
                        let base = (configPath as NSString).deletingLastPathComponent
                        let adapters = spec.adaptersDirectory
                        adapterPaths = [base.isEmpty || adapters.hasPrefix("/") ? adapters : base + "/" + adapters]
                    }
                }
            case .failure(let problem):
                diagnostics.append(problem)
            }
        }
        if adapterPaths.isEmpty { adapterPaths = ["adapters"] }
        var adapterFiles: [AdapterSet.File] = []
        for path in adapterPaths {
            for file in expand(path, directory: directory, diagnostics: &diagnostics) {
                files.append(file)
                switch read(file, directory: directory) {
                case .success(let text): adapterFiles.append(AdapterSet.File(name: file, text: text))
                case .failure(let problem): diagnostics.append(problem)
                }
            }
        }
        let references = ConfigReferences(
            source: ProcessConfigValueSource(environment: environment, baseDirectory: referenceBase(configPath, directory: directory)),
            resolution: resolution)
        // Where webhooks wait, as `sluice serve` will see it: the file's `kafka.inbox_topic` or the variable.
        let inboxVariable = !(environment["SLUICE_KAFKA_INBOX_TOPIC"] ?? "").isEmpty
        let compiler = AdapterCompiler(
            references: references, engineNames: config.map { Set($0.engines.keys) },
            kafkaInbox: config.map { $0.kafkaInboxTopic != nil || inboxVariable })
        let (set, problems) = AdapterSet.compile(adapterFiles, compiler: compiler)
        diagnostics += problems
        if let config, let set {
            for adapter in set.adapters where adapter.engine == nil && config.defaultEngine == nil {
                diagnostics.append(
                    Diagnostic(file: configPath ?? config.file, line: 1, column: 1, key: "default_engine",
                        message: "adapter '\(adapter.name)' names no engine and \(config.file) has several: set default_engine or the adapter's engine"))
            }
        }
        return Result(config: config, adapters: diagnostics.hasErrors ? nil : set, diagnostics: diagnostics.sorted(), files: files)
    }

    /// Where a relative `${file:…}` path starts: `sluice.yaml`'s directory, as the service resolves it; the working
    /// directory for adapter files checked without one.
    private func referenceBase(_ configPath: String?, directory: URL) -> URL {
        guard let configPath else { return directory }
        let file = configPath.hasPrefix("/") ? URL(fileURLWithPath: configPath) : directory.appendingPathComponent(configPath)
        return file.deletingLastPathComponent()
    }

    private func engineReferenceProblems(_ spec: SluiceConfigSpec, file: String, directory: URL) -> [Diagnostic] {
        let references = ConfigReferences(
            source: ProcessConfigValueSource(environment: environment, baseDirectory: referenceBase(file, directory: directory)),
            resolution: resolution)
        var problems: [Diagnostic] = []
        for (name, engine) in spec.engines.sorted(by: { $0.key < $1.key }) {
            for (field, value) in [("token", engine.token), ("url", engine.url)] {
                guard let value else { continue }
                for problem in references.resolve(value).problems {
                    var located = spec.sourceMap.diagnostic(problem.message, key: "engines.\(name).\(field)", severity: problem.severity)
                    located.file = file
                    problems.append(located)
                }
            }
        }
        return problems
    }

    /// A file, or the `.yaml`/`.yml` files of a directory in name order.
    private func expand(_ path: String, directory: URL, diagnostics: inout [Diagnostic]) -> [String] {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            diagnostics.append(Diagnostic(file: path, line: 1, column: 1, key: "", message: "no such file or directory"))
            return []
        }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        let yaml = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        if yaml.isEmpty {
            diagnostics.append(Diagnostic(severity: .warning, file: path, line: 1, column: 1, key: "", message: "no .yaml adapter files in this directory"))
        }
        return yaml.map { (path.hasSuffix("/") ? path : path + "/") + $0 }
    }

    private func read(_ path: String, directory: URL) -> Swift.Result<String, Diagnostic> {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            return .failure(Diagnostic(file: path, line: 1, column: 1, key: "", message: "cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(Diagnostic(file: path, line: 1, column: 1, key: "", message: "the file is not UTF-8 text"))
        }
        return .success(text)
    }
}

extension Diagnostic: Error {}
