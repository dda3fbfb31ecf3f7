import Foundation
import CoreMetrics
import Logging
import Prometheus
import Synchronization
import OTel
public import ServiceLifecycle
import Tracing

/// The process-wide metrics and logging set-up. swift-metrics and swift-log can be bootstrapped
/// once per process, so `sluice serve` and every test share one Prometheus registry.
public enum Observability {
    private static let registryOnce = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Bootstraps swift-metrics with the Prometheus registry (once; later calls do nothing).
    public static func bootstrapMetrics() {
        _ = registry
    }

    /// The registry `/metrics` renders, bootstrapping swift-metrics on first use.
    static var registry: PrometheusCollectorRegistry {
        registryOnce.withLock { existing in
            if let existing { return existing }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            existing = registry
            return registry
        }
    }

    /// The metrics in Prometheus's text format.
    public static func renderMetrics() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Exports spans to an OTLP/HTTP collector when `tracing.otlp_endpoint` is set: bootstraps the
    /// process's tracer (once) and returns the exporter's service, to run first in the group (so
    /// that it stops last and flushes the spans of the drain). Nil when tracing is not configured, or when
    /// `OTEL_SDK_DISABLED` is `true`.
    ///
    /// - Throws: ``StartupError`` when the exporter cannot be made.
    public static func bootstrapTracing(_ tracing: ServiceConfiguration.Tracing) throws -> (any Service)? {
        guard let endpoint = tracing.otlpEndpoint else { return nil }
        // The OpenTelemetry switch every SDK honours: off means no spans, not a refusal to start.
        if ProcessInfo.processInfo.environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return nil }
        var configuration = OTel.Configuration.default
        configuration.serviceName = tracing.serviceName
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/v1/traces")
            ? endpoint : endpoint.trimmingSuffix("/") + "/v1/traces"
        do {
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            InstrumentationSystem.bootstrap(backend.factory)
            return backend.service
        } catch {
            // A start-up error like any other (exit status 2), whatever the exporter threw (an `OTEL_*` variable it
            // cannot read, say).
            throw StartupError("tracing: \(error)")
        }
    }

    private static let loggingOnce = Mutex(false)

    /// Sets the process's log format and level (once; later calls do nothing).
    public static func bootstrapLogging(format: ServiceConfiguration.Logging.Format, level: String) {
        loggingOnce.withLock { done in
            guard !done else { return }
            done = true
            let logLevel = Logger.Level(rawValue: level) ?? .info
            LoggingSystem.bootstrap { label in
                var handler = LogLineHandler(label: label, format: format)
                handler.logLevel = logLevel
                return handler
            }
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
