import Yams

/// `sluice.yaml` as written: where the adapters are and which engines they may name.
public struct SluiceConfigSpec: Sendable, Hashable {
    /// The adapters directory, relative to `sluice.yaml`; default `adapters`.
    public var adaptersDirectory: String
    public var engines: [String: EngineSpec]
    /// The engine adapters use when they name none; default: the only engine, or the one named `default`.
    public var defaultEngine: String?
    /// Other sections (`http`, `ledger`, `kafka`, `logging`, `metrics`), checked for shape only.
    public var sections: Set<String>
    /// `kafka.inbox_topic` as the file sets it: webhooks then wait in Kafka and reach their gates through the
    /// ingress topic's consumer (a pull source). `SLUICE_KAFKA_INBOX_TOPIC` may still set it at start.
    public var kafkaInboxTopic: String? = nil
    /// The file it was read from, as the user named it (`deploy/prod.yaml`), for messages.
    public var file = "sluice.yaml"
    /// Where each key's value is in the file, for problems found after reading (an unset `${env:…}` in a token).
    public var sourceMap = SourceMap(file: "sluice.yaml")

    /// One engine.
    public struct EngineSpec: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, CaseIterable {
            case durableWorkflow = "durable-workflow"
            case temporal
        }

        /// How Sluice talks to Durable Workflow.
        public enum Mode: String, Sendable, Hashable, CaseIterable {
            case bridge
            case controlPlane = "control-plane"
        }

        public var kind: Kind
        public var url: String
        public var namespace: String
        /// Usually `${env:NAME}`; resolved only when the service starts.
        public var token: String?
        public var mode: Mode
        public var timeout: Duration
    }

    /// The sections of single values that ``ServiceSettings`` reads.
    static let settingSections: Set<String> = ["http", "logging", "metrics", "tracing"]

    static let topKeys = ["adapters", "engines", "default_engine", "http", "ledger", "kafka", "logging", "metrics", "bridge", "tracing"]

    /// Reads `sluice.yaml`. Never throws: problems become diagnostics.
    public static func read(_ text: String, file: String) -> (spec: SluiceConfigSpec?, diagnostics: [Diagnostic]) {
        var reader = YAMLReader(file: file)
        guard let root = reader.root(of: text),
            let members = reader.members(root, key: "", allowed: topKeys, required: ["engines"])
        else { return (nil, reader.diagnostics) }
        let adapters = members["adapters"].flatMap { reader.nonEmptyString($0, key: "adapters") } ?? "adapters"
        var engines: [String: EngineSpec] = [:]
        if let enginesNode = members["engines"], let entries = reader.freeMembers(enginesNode, key: "engines") {
            if entries.entries.isEmpty { reader.report("name at least one engine", at: enginesNode, key: "engines") }
            for entry in entries.entries {
                let key = "engines." + entry.name
                if !isValidAdapterName(entry.name) {
                    reader.report("an engine name uses letters, digits and . _ : -", at: entry.keyNode, key: key)
                }
                if let engine = reader.engineSpec(entry.value, key: key) { engines[entry.name] = engine }
            }
        }
        var defaultEngine = members["default_engine"].flatMap { reader.nonEmptyString($0, key: "default_engine") }
        if let name = defaultEngine, engines[name] == nil, let node = members["default_engine"] {
            reader.report("unknown engine '\(name)'" + Suggestions.didYouMean(name, in: engines.keys), at: node, key: "default_engine")
        }
        if defaultEngine == nil { defaultEngine = engines.count == 1 ? engines.keys.first : (engines["default"] != nil ? "default" : nil) }
        let sectionKeys: [String: [String]] = [
            "http": ["host", "port", "max_connections", "read_timeout", "body_timeout", "max_header_bytes", "max_buffered_bytes", "operations_port"],
            "ledger": ["type", "path", "url", "password", "retention", "max_outcomes"],
            "kafka": ["bootstrap_servers", "properties", "inbox_topic"],
            "logging": ["level", "format"],
            "metrics": ["enabled", "path"],
            "bridge": ["tokens"],
            "tracing": ["otlp_endpoint", "service_name"],
        ]
        var sections: Set<String> = []
        var kafkaInboxTopic: String?
        for (section, keys) in sectionKeys {
            guard let node = members[section] else { continue }
            sections.insert(section)
            // The ledger section's own reader checks it, as the service reads it (below).
            guard section != "ledger" else { continue }
            let sectionMembers = reader.members(node, key: section, allowed: keys)
            for entry in sectionMembers?.entries ?? [] where settingSections.contains(section) {
                reader.setting(entry.value, key: section + "." + entry.name)
            }
            // As `serve` refuses it: the operations port beside the webhook port (default 8080), not on it.
            if section == "http", let node = sectionMembers?["operations_port"], case .scalar(let operations) = node,
                let port = Int(operations.string), port != 0
            {
                let webhookPort = sectionMembers?["port"].flatMap { if case .scalar(let value) = $0 { Int(value.string) } else { nil } } ?? 8080
                if port == webhookPort {
                    reader.report("\(port) is http.port too; the operations port must be another", at: node, key: "http.operations_port")
                }
            }
            if section == "kafka", let properties = sectionMembers?["properties"] {
                _ = reader.freeMembers(properties, key: "kafka.properties")
            }
            if section == "kafka", let topic = sectionMembers?["inbox_topic"] {
                kafkaInboxTopic = reader.nonEmptyString(topic, key: "kafka.inbox_topic")
            }
            if section == "bridge", let tokensNode = sectionMembers?["tokens"],
                let tokens = reader.stringList(tokensNode, key: "bridge.tokens")
            {
                if tokens.contains(where: { !$0.hasPrefix("${env:") && !$0.hasPrefix("${file:") }) {
                    reader.report("write each token as ${env:NAME} or ${file:PATH}, not in the file", at: tokensNode, key: "bridge.tokens")
                }
            }
        }
        let spec = SluiceConfigSpec(
            adaptersDirectory: adapters, engines: engines, defaultEngine: defaultEngine, sections: sections, kafkaInboxTopic: kafkaInboxTopic,
            file: file, sourceMap: SourceMap(file: file, locations: reader.locations))
        let diagnostics = reader.diagnostics + LedgerSpec.read(text, file: file).diagnostics
        return (diagnostics.hasErrors ? nil : spec, diagnostics)
    }
}

extension YAMLReader {
    /// Checks a service setting's value as `sluice serve` reads it (``ServiceSettings``).
    mutating func setting(_ node: Node, key: String) {
        // Left empty (`service_name:`, an empty Helm value): unset, the default applies.
        if isNull(node) { return }
        guard case .scalar(let scalar) = node else {
            report("expected a single value, found \(describe(node))", at: node, key: key)
            return
        }
        do {
            _ = try ServiceSettings.read(key, scalar.string)
        } catch {
            report(error.description, at: node, key: key)
        }
    }

    mutating func engineSpec(_ node: Node, key: String) -> SluiceConfigSpec.EngineSpec? {
        let allowed = ["type", "url", "namespace", "token", "mode", "timeout"]
        guard let members = members(node, key: key, allowed: allowed, required: ["type", "url"]) else { return nil }
        let kind = members["type"].flatMap { choice($0, key: key + ".type", as: SluiceConfigSpec.EngineSpec.Kind.self) }
        var url: String?
        if let urlNode = members["url"], let text = nonEmptyString(urlNode, key: key + ".url") {
            if text.hasPrefix("http://") || text.hasPrefix("https://") || text.hasPrefix("${env:") {
                url = text
            } else {
                report("'\(text)' is not an http:// or https:// URL", at: urlNode, key: key + ".url")
            }
        }
        let namespace = members["namespace"].flatMap { nonEmptyString($0, key: key + ".namespace") } ?? "default"
        var token: String?
        if let tokenNode = members["token"], let text = string(tokenNode, key: key + ".token") {
            if !text.hasPrefix("${env:"), !text.hasPrefix("${file:") {
                report("write the token as ${env:NAME} or ${file:PATH}, not in the file", at: tokenNode, key: key + ".token")
            }
            token = text
        }
        let mode = members["mode"].flatMap { choice($0, key: key + ".mode", as: SluiceConfigSpec.EngineSpec.Mode.self) } ?? .bridge
        if kind == .temporal, let modeNode = members["mode"] {
            report("'mode' applies to durable-workflow engines only", at: modeNode, key: key + ".mode")
        }
        let timeout = members["timeout"].flatMap { duration($0, key: key + ".timeout", minimum: .milliseconds(1)) } ?? .seconds(10)
        guard let kind, let url else { return nil }
        return SluiceConfigSpec.EngineSpec(kind: kind, url: url, namespace: namespace, token: token, mode: mode, timeout: timeout)
    }
}
