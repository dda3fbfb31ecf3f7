import Foundation
import SluiceApp
import SluiceCore
import Testing

@Suite("Configuration: flags > SLUICE_* environment > sluice.yaml > defaults")
struct ConfigurationLoaderTests {
    func project(_ sections: String) throws -> ServiceProject {
        try ServiceProject(engineURL: "http://127.0.0.1:9", adapters: [:], extra: sections)
    }

    @Test("defaults apply where nothing is set")
    func defaults() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "engines: { e: { type: temporal, url: 'http://127.0.0.1:7243' } }\n"
            .write(to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        let config = try ConfigurationLoader(environment: [:]).load(directory: directory)
        #expect(config.http.host == "127.0.0.1")
        #expect(config.http.port == 8080)
        #expect(config.http.maxConnections == 512)
        #expect(config.http.readTimeout == .seconds(30))
        #expect(config.http.bodyTimeout == .seconds(10))
        #expect(config.http.maxBufferedBytes == 64 << 20)
        #expect(config.logging.level == "info")
        #expect(config.logging.format == .text)
        #expect(config.metrics.enabled)
        #expect(config.metrics.path == "/metrics")
        #expect(config.kafka.bootstrapServers == nil)
        #expect(config.ledger.location == .sqlite(path: directory.appendingPathComponent(".sluice/ledger.sqlite").path))
    }

    @Test("the file overrides defaults, the environment overrides the file, flags override both")
    func precedence() throws {
        let project = try project("""
            logging: { level: warning, format: json }
            kafka:
              bootstrap_servers: 127.0.0.1:9092
              properties: { security.protocol: SASL_SSL, linger.ms: 5 }
            """)
        defer { project.cleanUp() }
        let fromFile = try project.configuration()
        #expect(fromFile.http.port == 0)
        #expect(fromFile.logging.level == "warning")
        #expect(fromFile.logging.format == .json)
        #expect(fromFile.kafka.bootstrapServers == "127.0.0.1:9092")
        #expect(fromFile.kafka.properties == ["security.protocol": "SASL_SSL", "linger.ms": "5"])

        let fromEnvironment = try project.configuration(environment: [
            "SLUICE_HTTP_PORT": "9123", "SLUICE_LOGGING_LEVEL": "debug", "SLUICE_HTTP_MAX_CONNECTIONS": "64",
            "SLUICE_HTTP_READ_TIMEOUT": "5s", "SLUICE_HTTP_BODY_TIMEOUT": "2s", "SLUICE_HTTP_MAX_BUFFERED_BYTES": "1048576",
        ])
        #expect(fromEnvironment.http.maxBufferedBytes == 1 << 20)
        #expect(fromEnvironment.http.port == 9123)
        #expect(fromEnvironment.logging.level == "debug")
        #expect(fromEnvironment.http.maxConnections == 64)
        #expect(fromEnvironment.http.readTimeout == .seconds(5))
        #expect(fromEnvironment.http.bodyTimeout == .seconds(2))
        #expect(fromEnvironment.logging.format == .json)

        let fromFlags = try project.configuration(
            environment: ["SLUICE_HTTP_PORT": "9123"], flags: ["http.port": "9555", "logging.format": "text"])
        #expect(fromFlags.http.port == 9555)
        #expect(fromFlags.logging.format == .text)
    }

    @Test("a value that does not parse names its key and where it came from")
    func badValues() throws {
        let project = try project("metrics: { enabled: maybe }")
        defer { project.cleanUp() }
        do {
            _ = try project.configuration()
            Issue.record("the configuration should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            // The file's own problems come with their line and column, as `sluice validate` gives them.
            #expect(failure.problems.contains { $0.hasSuffix(": metrics.enabled: 'maybe' is not true or false") }, "\(failure.problems)")
            #expect(failure.problems.first?.hasPrefix("sluice.yaml:") == true, "\(failure.problems)")
        }
        let fine = try self.project("metrics: { enabled: yes }")
        defer { fine.cleanUp() }
        do {
            _ = try fine.configuration(environment: ["SLUICE_HTTP_PORT": "eighty", "SLUICE_LOGGING_FORMAT": "xml"])
            Issue.record("the configuration should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.problems.contains("SLUICE_HTTP_PORT: 'eighty' is not a whole number in 0...65535"))
            #expect(failure.problems.contains("SLUICE_LOGGING_FORMAT: 'xml' is not text or json"))
        }
        do {
            _ = try fine.configuration(environment: ["SLUICE_HTTP_PORT": "9200", "SLUICE_HTTP_OPERATIONS_PORT": "9200"])
            Issue.record("an operations port equal to the webhook port should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.problems.contains("SLUICE_HTTP_OPERATIONS_PORT: 9200 is http.port too; the operations port must be another"), "\(failure.problems)")
        }
        #expect(try fine.configuration(environment: ["SLUICE_HTTP_OPERATIONS_PORT": "9201"]).http.operationsPort == 9201)
    }

    /// A setting left empty (an empty Helm value) is unset, in `sluice validate` and `sluice serve` alike.
    @Test("an empty setting is unset: its default applies")
    func emptySettings() throws {
        let project = try project("tracing: { service_name: }\nlogging: { level: ~, format: }")
        defer { project.cleanUp() }
        let config = try project.configuration()
        #expect(config.tracing.serviceName == "sluice")
        #expect(config.logging.level == "info")
        let (spec, diagnostics) = SluiceConfigSpec.read(try String(contentsOf: project.directory.appendingPathComponent("sluice.yaml"), encoding: .utf8), file: "sluice.yaml")
        #expect(spec != nil, "\(diagnostics)")
    }

    /// A SASL password or an SSL key has nowhere to come from but a reference: the Kafka section resolves them as
    /// `bridge.tokens` does, relative files from the configuration's directory.
    @Test("the Kafka section resolves ${env:} and ${file:} references")
    func kafkaReferences() throws {
        let project = try project("""
            kafka:
              bootstrap_servers: "${env:BROKERS}"
              properties: { sasl.username: sluice, sasl.password: "${env:KAFKA_PASSWORD}", ssl.key.password: "${file:key-password}" }
            """)
        defer { project.cleanUp() }
        try "from-a-file\n".write(to: project.directory.appendingPathComponent("key-password"), atomically: true, encoding: .utf8)
        let config = try project.configuration(environment: ["BROKERS": "10.0.0.1:9092", "KAFKA_PASSWORD": "s3cret"])
        #expect(config.kafka.bootstrapServers == "10.0.0.1:9092")
        #expect(config.kafka.properties == ["sasl.username": "sluice", "sasl.password": "s3cret", "ssl.key.password": "from-a-file"])
        do {
            _ = try project.configuration(environment: ["BROKERS": "10.0.0.1:9092"])
            Issue.record("an unset variable should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.problems.count == 1, "\(failure.problems)")
            #expect(failure.problems.first?.hasPrefix("sluice.yaml: kafka.properties.sasl.password: ") == true, "\(failure.problems)")
            #expect(failure.problems.first?.contains("KAFKA_PASSWORD") == true, "\(failure.problems)")
        }
    }

    /// The router stops the process when a route is registered twice: a metrics path that reads as an operations
    /// route (`//` is `/`, the status page) is refused with its origin instead.
    @Test("metrics.path is a route of its own", arguments: [
        ("/healthz", "is taken by the status page or a health route"),
        ("/readyz/", "is taken by the status page or a health route"),
        ("//", "is taken by the status page or a health route"),
        ("/metrics/{x}", "is not a path such as /metrics: '{' is not allowed"),
        ("metrics", "is not a path such as /metrics: a path starts with '/'"),
    ])
    func metricsPath(path: String, problem: String) throws {
        let project = try project("metrics: { path: '\(path)' }")
        defer { project.cleanUp() }
        do {
            _ = try project.configuration()
            Issue.record("'\(path)' should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.problems.contains { $0.hasPrefix("sluice.yaml:") && $0.contains(": metrics.path: '\(path)' \(problem)") }, "\(failure.problems)")
        }
        let unset = try self.project("logging: { level: info }")
        defer { unset.cleanUp() }
        do {
            _ = try unset.configuration(environment: ["SLUICE_METRICS_PATH": path])
            Issue.record("'\(path)' should have been refused from the environment")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.problems.contains { $0.hasPrefix("SLUICE_METRICS_PATH: '\(path)' \(problem)") }, "\(failure.problems)")
        }
        let normal = try self.project("metrics: { path: '//prom/metrics/' }")
        defer { normal.cleanUp() }
        #expect(try normal.configuration().metrics.path == "/prom/metrics")
    }

    @Test("an unknown key in sluice.yaml is an error with a suggestion, never a silent default")
    func unknownKey() throws {
        let project = try project("logging: { levle: debug }")
        defer { project.cleanUp() }
        do {
            _ = try project.configuration()
            Issue.record("the configuration should have been refused")
        } catch let failure as ConfigurationLoader.Failure {
            #expect(failure.description.contains("levle"))
            #expect(failure.description.contains("did you mean 'level'"))
        }
    }
}
