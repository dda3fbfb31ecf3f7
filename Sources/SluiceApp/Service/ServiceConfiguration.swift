public import Foundation
public import SluiceCore

/// Everything `sluice serve` runs with: `sluice.yaml`, overridden by `SLUICE_*` environment
/// variables, overridden by command-line flags, over the defaults below. Every key and its default
/// is listed in `docs/configuration.md`.
public struct ServiceConfiguration: Sendable {
    /// The directory `sluice.yaml` and relative paths are read from.
    public var directory: URL
    /// The engines and adapters directory of `sluice.yaml`.
    public var project: SluiceConfigSpec
    public var http: HTTP
    public var ledger: LedgerSelection
    public var kafka: Kafka
    public var logging: Logging
    public var metrics: Metrics
    public var bridge: Bridge
    public var tracing: Tracing

    /// The `http:` section.
    public struct HTTP: Sendable, Hashable {
        /// `http.host`, default `127.0.0.1` (the container image sets `0.0.0.0`).
        public var host = "127.0.0.1"
        /// `http.port`, default 8080; 0 picks a free port (tests).
        public var port = 8080
        /// `http.max_connections`, default 512: connections beyond it wait to be accepted.
        public var maxConnections = 512
        /// `http.read_timeout`, default 30 s: a client that sends nothing for this long is dropped.
        public var readTimeout: Duration = .seconds(30)
        /// `http.body_timeout`, default 10 s: a request body that has not fully arrived this long after
        /// its head is answered `408` and its connection closed.
        public var bodyTimeout: Duration = .seconds(10)
        /// `http.max_header_bytes`, default 16 KiB.
        public var maxHeaderBytes = 16 * 1024
        /// `http.max_buffered_bytes`, default 64 MiB: what the request bodies being read may hold together (past it,
        /// a body is answered `503` unless it is the only one being read).
        public var maxBufferedBytes = 64 << 20
        /// `http.operations_port`: when set, the status page, `/healthz`, `/readyz` and the metrics are served on this
        /// port (same host) and not on the webhook port, which may face the internet; 0 picks a free port (tests).
        public var operationsPort: Int?
        public init() {}
    }

    /// The `kafka:` section.
    public struct Kafka: Sendable, Hashable {
        /// `kafka.bootstrap_servers`; nil when no Kafka is configured.
        public var bootstrapServers: String?
        /// `kafka.properties`: librdkafka properties passed through as they are.
        public var properties: [String: String] = [:]
        /// `kafka.inbox_topic`: the ingress topic of webhooks when the inbox is Kafka.
        public var inboxTopic: String?
        public init() {}
    }

    /// The `logging:` section.
    public struct Logging: Sendable, Hashable {
        public enum Format: String, Sendable, Hashable, CaseIterable {
            case text
            case json
        }
        /// `logging.level`: trace, debug, info (default), notice, warning, error, critical.
        public var level = "info"
        /// `logging.format`: text (default) or json.
        public var format = Format.text
        public init() {}
    }

    /// The `bridge:` section: Sluice's copy of the engine's bridge endpoint.
    public struct Bridge: Sendable, Hashable {
        /// `bridge.tokens`: the bearer tokens clients may use (`${env:…}`/`${file:…}`, resolved).
        /// No tokens: the endpoint is not served.
        public var tokens: [Secret] = []
        public init() {}
    }

    /// The `tracing:` section: where spans go.
    public struct Tracing: Sendable, Hashable {
        /// `tracing.otlp_endpoint`: an OTLP/HTTP collector (`http://collector:4318`); spans are
        /// exported to its `/v1/traces`. Nil: spans are not exported.
        public var otlpEndpoint: String?
        /// `tracing.service_name`, default `sluice`.
        public var serviceName = "sluice"
        public init() {}
    }

    /// The `metrics:` section.
    public struct Metrics: Sendable, Hashable {
        /// `metrics.enabled`, default true.
        public var enabled = true
        /// `metrics.path`, default `/metrics`.
        public var path = "/metrics"
        public init() {}
    }

    public init(
        directory: URL, project: SluiceConfigSpec, http: HTTP = HTTP(), ledger: LedgerSelection, kafka: Kafka = Kafka(),
        logging: Logging = Logging(), metrics: Metrics = Metrics(), bridge: Bridge = Bridge(),
        tracing: Tracing = Tracing()
    ) {
        self.directory = directory
        self.project = project
        self.http = http
        self.ledger = ledger
        self.kafka = kafka
        self.logging = logging
        self.metrics = metrics
        self.bridge = bridge
        self.tracing = tracing
    }
}

extension ServiceConfiguration {
    /// The adapters of the project's adapters directory, compiled with every reference resolved.
    ///
    /// - Throws: ``StartupError`` with every diagnostic of severity error.
    public func compiledAdapters() throws -> [CompiledAdapter] {
        let adaptersDirectory = project.adaptersDirectory
        let adaptersPath =
            adaptersDirectory.hasPrefix("/") ? adaptersDirectory : directory.appendingPathComponent(adaptersDirectory).path
        let loaded = ProjectLoader(resolution: .strict).load(
            paths: [adaptersPath], directory: directory, readsConfiguration: false, knownConfiguration: project)
        let errors = loaded.diagnostics.filter { $0.severity == .error }
        guard errors.isEmpty, let adapters = loaded.adapters else {
            throw StartupError(errors.map(\.description).joined(separator: "\n"))
        }
        return adapters.adapters
    }
}

extension DedupePolicy {
    /// Each adapter's `dedupe_window` (forever for those without one).
    public init(adapters: [CompiledAdapter]) {
        var windows: [String: Duration] = [:]
        for adapter in adapters { windows[adapter.name] = adapter.dedupeWindow }
        self.init(windows: windows)
    }
}
