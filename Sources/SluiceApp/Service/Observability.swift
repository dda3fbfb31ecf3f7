import CoreMetrics
import Logging
import Prometheus
import Synchronization

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

    private static let loggingOnce = Mutex(false)

    /// Sets the process's log format and level (once; later calls do nothing).
    public static func bootstrapLogging(format: ServiceConfiguration.Logging.Format, level: String) {
        loggingOnce.withLock { done in
            guard !done else { return }
            done = true
            let logLevel = Logger.Level(rawValue: level) ?? .info
            LoggingSystem.bootstrap { label in
                switch format {
                case .json:
                    var handler = JSONLogHandler(label: label)
                    handler.logLevel = logLevel
                    return handler
                case .text:
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = logLevel
                    return handler
                }
            }
        }
    }
}
