import Configuration
public import Foundation
import SluiceCore
import Yams

/// Reads a ``ServiceConfiguration`` with swift-configuration, in this order of precedence:
/// command-line flags, then `SLUICE_*` environment variables (`http.port` is `SLUICE_HTTP_PORT`),
/// then `sluice.yaml`, then the defaults.
///
/// `sluice.yaml` is checked first, strictly (unknown keys are errors, with "did you mean"), so that a
/// typo never silently falls back to a default. Values that do not parse are reported with the key
/// and where they came from.
public struct ConfigurationLoader: Sendable {
    public var environment: [String: String]
    /// Flags given on the command line, by configuration key (`http.port`).
    public var flags: [String: String]

    /// - Parameter environment: the process's variables; a `SLUICE_*` one set to the empty string counts as unset
    ///   (compose's `${X:-}`), as an empty value in `sluice.yaml` would be refused.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, flags: [String: String] = [:]) {
        self.environment = environment.filter { !($0.key.hasPrefix("SLUICE_") && $0.value.isEmpty) }
        self.flags = flags
    }

    /// Why a configuration cannot be used: every problem, one per line.
    public struct Failure: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    /// The keys of `sluice.yaml`'s sections that the service reads through swift-configuration.
    static let scalarKeys = [
        "http.host", "http.port", "http.max_connections", "http.read_timeout", "http.body_timeout",
        "http.max_header_bytes", "http.max_buffered_bytes", "http.operations_port",
        "kafka.bootstrap_servers", "kafka.inbox_topic", "logging.level", "logging.format", "metrics.enabled",
        "metrics.path", "tracing.otlp_endpoint", "tracing.service_name",
    ]

    /// The command-line flag of a key, where it is not the key's own name (`--logging-level`).
    static let flagNames = ["logging.level": "--log-level", "logging.format": "--log-format"]

    /// Loads `sluice.yaml` from `directory` (or the file named `configFile`).
    public func load(directory: URL, configFile: String? = nil) throws(Failure) -> ServiceConfiguration {
        let fileURL = configFile.map { URL(fileURLWithPath: $0, relativeTo: directory) }
            ?? directory.appendingPathComponent("sluice.yaml")
        let displayName = configFile ?? "sluice.yaml"
        guard let text = try? String(contentsOf: fileURL, encoding: .utf8) else {
            throw Failure(problems: ["\(displayName): cannot be read (no such file?)"])
        }
        let baseDirectory = fileURL.deletingLastPathComponent()
        let (spec, diagnostics) = SluiceConfigSpec.read(text, file: displayName)
        let errors = diagnostics.filter { $0.severity == .error }
        guard let spec, errors.isEmpty else { throw Failure(problems: errors.map(\.description)) }

        let fileValues = Self.flatten(text)
        var providerValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in fileValues { providerValues[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: false) }
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags { flagValues[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: false) }
        let reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: flagValues),
            EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "sluice"),
            InMemoryProvider(name: displayName, values: providerValues),
        ])

        var problems: [String] = []
        func origin(_ key: String) -> String {
            if flags[key] != nil { return Self.flagNames[key] ?? "--" + key.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-") }
            let variable = "SLUICE_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            if environment[variable] != nil { return variable }
            return "\(displayName): \(key)"
        }
        func string(_ key: String) -> String? { reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) }
        /// The setting's value under the rules `sluice validate` applies to the file too; nil when unset or wrong.
        func value(_ key: String) -> ServiceSettings.Value? {
            guard let text = string(key) else { return nil }
            do {
                return try ServiceSettings.read(key, text)
            } catch {
                problems.append("\(origin(key)): \(error)")
                return nil
            }
        }
        func integer(_ key: String) -> Int? { if case .integer(let number)? = value(key) { number } else { nil } }
        func duration(_ key: String) -> Duration? { if case .duration(let duration)? = value(key) { duration } else { nil } }
        func boolean(_ key: String) -> Bool? { if case .boolean(let flag)? = value(key) { flag } else { nil } }
        func checked(_ key: String) -> String? { if case .text(let text)? = value(key) { text } else { nil } }

        var http = ServiceConfiguration.HTTP()
        if let host = string("http.host") { http.host = host }
        if let port = integer("http.port") { http.port = port }
        if let limit = integer("http.max_connections") { http.maxConnections = limit }
        if let timeout = duration("http.read_timeout") { http.readTimeout = timeout }
        if let timeout = duration("http.body_timeout") { http.bodyTimeout = timeout }
        if let limit = integer("http.max_header_bytes") { http.maxHeaderBytes = limit }
        if let limit = integer("http.max_buffered_bytes") { http.maxBufferedBytes = limit }
        if let port = integer("http.operations_port") {
            if port != 0, port == http.port {
                problems.append("\(origin("http.operations_port")): \(port) is http.port too; the operations port must be another")
            }
            http.operationsPort = port
        }

        // `${env:NAME}` and `${file:PATH}` are resolved where secrets live: `bridge.tokens` and the Kafka section
        // (SASL passwords, SSL keys in `kafka.properties`).
        let references = ConfigReferences(
            source: ProcessConfigValueSource(environment: environment, baseDirectory: baseDirectory), resolution: .strict)
        func resolved(_ text: String, _ key: String) -> String? {
            let (value, referenceProblems) = references.resolve(text)
            if let problem = referenceProblems.first(where: { $0.severity == .error }) {
                problems.append("\(origin(key)): \(problem.message)")
                return nil
            }
            return value
        }

        var kafka = ServiceConfiguration.Kafka()
        kafka.bootstrapServers = string("kafka.bootstrap_servers").flatMap { resolved($0, "kafka.bootstrap_servers") }
        kafka.inboxTopic = string("kafka.inbox_topic").flatMap { resolved($0, "kafka.inbox_topic") }
        for (name, value) in Self.kafkaProperties(text) {
            kafka.properties[name] = resolved(value, "kafka.properties." + name)
        }

        var logging = ServiceConfiguration.Logging()
        if let level = checked("logging.level") { logging.level = level }
        if let format = checked("logging.format") { logging.format = ServiceConfiguration.Logging.Format(rawValue: format) ?? .text }

        var metrics = ServiceConfiguration.Metrics()
        if let enabled = boolean("metrics.enabled") { metrics.enabled = enabled }
        if let path = checked("metrics.path") { metrics.path = path }

        var tracing = ServiceConfiguration.Tracing()
        if let endpoint = checked("tracing.otlp_endpoint") { tracing.otlpEndpoint = endpoint }
        if let name = string("tracing.service_name"), !name.isEmpty { tracing.serviceName = name }

        var bridge = ServiceConfiguration.Bridge()
        for text in Self.bridgeTokens(text) {
            if let value = resolved(text, "bridge.tokens"), !value.isEmpty { bridge.tokens.append(Secret(value)) }
        }

        let ledger: LedgerSelection
        do {
            // A relative path starts at the configuration's directory: `--ledger-path`, the variable and the file's.
            ledger = try LedgerSelection.resolve(
                path: flags["ledger.path"], url: flags["ledger.url"], directory: baseDirectory, environment: environment,
                configFile: configFile != nil ? fileURL : nil)
        } catch {
            problems.append(error.description)
            throw Failure(problems: problems)
        }
        guard problems.isEmpty else { throw Failure(problems: problems) }
        return ServiceConfiguration(
            directory: baseDirectory, project: spec, http: http, ledger: ledger, kafka: kafka, logging: logging,
            metrics: metrics, bridge: bridge, tracing: tracing)
    }

    /// The scalar values of the sections, by dotted key; only the keys the service reads.
    static func flatten(_ text: String) -> [String: String] {
        guard let root = try? Yams.compose(yaml: text), case .mapping(let top) = root else { return [:] }
        var values: [String: String] = [:]
        for (sectionKey, section) in top {
            guard let sectionName = sectionKey.string, case .mapping(let members) = section else { continue }
            for (memberKey, member) in members {
                guard let name = memberKey.string, case .scalar(let scalar) = member else { continue }
                // Left empty (`service_name:`, an empty Helm value): unset, as `sluice validate` reads it.
                if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { continue }
                let key = sectionName + "." + name
                if scalarKeys.contains(key) { values[key] = scalar.string }
            }
        }
        return values
    }

    /// `bridge.tokens` as written (references unresolved).
    static func bridgeTokens(_ text: String) -> [String] {
        guard let root = try? Yams.compose(yaml: text), case .mapping(let top) = root,
            case .mapping(let bridge)? = top.first(where: { $0.key.string == "bridge" })?.value,
            let tokens = bridge.first(where: { $0.key.string == "tokens" })?.value
        else { return [] }
        switch tokens {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let items): return items.compactMap { if case .scalar(let scalar) = $0 { scalar.string } else { nil } }
        default: return []
        }
    }

    /// `kafka.properties` as strings (librdkafka takes every property as text).
    static func kafkaProperties(_ text: String) -> [String: String] {
        guard let root = try? Yams.compose(yaml: text), case .mapping(let top) = root,
            case .mapping(let kafka)? = top.first(where: { $0.key.string == "kafka" })?.value,
            case .mapping(let properties)? = kafka.first(where: { $0.key.string == "properties" })?.value
        else { return [:] }
        var values: [String: String] = [:]
        for (key, value) in properties {
            guard let name = key.string, case .scalar(let scalar) = value else { continue }
            values[name] = scalar.string
        }
        return values
    }
}
