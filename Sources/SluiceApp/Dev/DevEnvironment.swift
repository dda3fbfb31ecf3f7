public import Foundation
import AsyncHTTPClient
public import Logging
public import ServiceLifecycle
public import SluiceCore
import SluiceEngines
import SluiceKafka
public import SluiceLaunch

/// What `sluice dev` runs on loopback besides Sluice: a real Temporal dev server, the sample
/// workflow worker, and the generated configuration (engines pointing at Temporal, a SQLite ledger
/// in a temporary directory, the example adapters with freshly generated webhook secrets).
public final class DevEnvironment: Sendable {
    /// The temporary directory holding `sluice.yaml`, the ledger and the logs.
    public let directory: URL
    public let temporal: TemporalDevServer
    let worker: ManagedProcess
    /// The webhook secret of each webhook adapter, by adapter name.
    let secrets: [String: String]
    let repository: URL
    /// The embedded Kafka's bootstrap servers, when one runs.
    public let kafkaBootstrap: String?

    private init(
        directory: URL, temporal: TemporalDevServer, worker: ManagedProcess, secrets: [String: String], repository: URL,
        kafkaBootstrap: String?
    ) {
        self.directory = directory
        self.temporal = temporal
        self.worker = worker
        self.secrets = secrets
        self.repository = repository
        self.kafkaBootstrap = kafkaBootstrap
    }

    /// Why `sluice dev` cannot start.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts Temporal and the worker and writes the configuration.
    ///
    /// - Parameters:
    ///   - repository: the Sluice checkout (its `adapters/`, `examples/` and `dev/worker.py`).
    ///   - httpPort: Sluice's port (0: a free one).
    ///   - kafkaBootstrap: the embedded Kafka's bootstrap servers, when one runs.
    public static func start(
        repository: URL, httpPort: Int, kafkaBootstrap: String?, logger: Logger
    ) async throws -> DevEnvironment {
        let adaptersDirectory = repository.appendingPathComponent("adapters")
        let workerScript = repository.appendingPathComponent("dev/worker.py")
        guard FileManager.default.fileExists(atPath: workerScript.path) else {
            throw Failure(description: "run `sluice dev` from the Sluice checkout: \(workerScript.path) is missing")
        }
        // Secrets first: the adapters read them from the environment when they are compiled.
        let schemes: [String: VerifySpec.Scheme] = [
            "STRIPE_WEBHOOK_SECRET": .stripe, "GITHUB_WEBHOOK_SECRET": .github, "SHOPIFY_WEBHOOK_SECRET": .shopify,
            "SLACK_SIGNING_SECRET": .slack, "BILLING_WEBHOOK_SECRET": .standardWebhooks,
        ]
        var environmentSecrets: [String: String] = [:]
        for (variable, scheme) in schemes {
            let secret = DevSigner.makeSecret(for: scheme)
            environmentSecrets[variable] = secret
            setenv(variable, secret, 1)
        }
        // A directory of its own (never an earlier run's, whose ledger it says it keeps).
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dev-XXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Failure(description: "cannot create a directory in \(FileManager.default.temporaryDirectory.path): \(String(cString: strerror(errno)))")
        }
        let directory = URL(fileURLWithPath: String(cString: made), isDirectory: true)

        logger.notice("starting the Temporal dev server")
        let http = EngineHTTPClient(connectTimeout: .seconds(1))
        let temporal: TemporalDevServer
        do {
            temporal = try await TemporalDevServer.start(timeout: .seconds(90), logDirectory: directory) { url in
                let engine = TemporalEngine(endpoint: EngineEndpoint(baseURL: url, timeout: .seconds(2)), http: http)
                return (try? await engine.checkReadiness()) != nil
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()

        logger.notice("starting the sample workflow worker")
        let worker: ManagedProcess
        do {
            guard let python = ManagedProcess.find("python3") else { throw Failure(description: "python3 is not on PATH") }
            worker = try ManagedProcess.launch(
                python, arguments: [workerScript.path, temporal.grpcAddress, "orders", "support", "billing", "deployments"],
                logFile: directory.appendingPathComponent("worker.log"), stopsWithThisProcess: true)
        } catch {
            await temporal.stop()
            throw error
        }
        do {
            try await worker.waitUntil("the sample worker", timeout: .seconds(60)) {
                ((try? String(contentsOf: worker.logFile, encoding: .utf8)) ?? "").split(separator: "\n").contains("ready")
            }
        } catch {
            await worker.stop()
            await temporal.stop()
            throw error
        }

        var yaml = """
            # Written by `sluice dev`: the example adapters against a local Temporal dev server.
            adapters: \(Self.quoted(adaptersDirectory.path))
            engines:
              primary:
                type: temporal
                url: \(temporal.httpURL)
                namespace: default
                timeout: 10s
            default_engine: primary
            http:
              host: 127.0.0.1
              port: \(httpPort)
            ledger:
              path: \(Self.quoted(directory.appendingPathComponent("ledger.sqlite").path))
            logging:
              level: warning
            """
        if let kafkaBootstrap {
            yaml += "\nkafka:\n  bootstrap_servers: \(kafkaBootstrap)\n"
        }
        do {
            try yaml.write(to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        } catch {
            await worker.stop()
            await temporal.stop()
            throw error
        }

        var secrets: [String: String] = [:]
        for (adapter, variable) in [
            ("stripe-orders", "STRIPE_WEBHOOK_SECRET"), ("github-deployments", "GITHUB_WEBHOOK_SECRET"),
            ("shopify-orders", "SHOPIFY_WEBHOOK_SECRET"), ("slack-events", "SLACK_SIGNING_SECRET"),
            ("billing", "BILLING_WEBHOOK_SECRET"),
        ] {
            secrets[adapter] = environmentSecrets[variable]
        }
        return DevEnvironment(
            directory: directory, temporal: temporal, worker: worker, secrets: secrets, repository: repository,
            kafkaBootstrap: kafkaBootstrap)
    }

    /// The configuration `sluice serve` would read from the generated `sluice.yaml`, with no `SLUICE_*` variable of
    /// the shell: one set for a real deployment (`SLUICE_LEDGER_URL`, `SLUICE_KAFKA_BOOTSTRAP_SERVERS`) must not
    /// point the local setup at it.
    public func configuration() throws -> ServiceConfiguration {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLUICE_") }
        do {
            return try ConfigurationLoader(environment: environment).load(directory: directory)
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// The feed of signed sample webhooks and the live summary, as services of the group.
    public func feedAndSummary(
        pipelines: [String: AdapterPipeline], port: Int, interval: Duration, rounds: Int?,
        write: @escaping @Sendable (String) -> Void
    ) -> [any Service] {
        let baseURL = "http://127.0.0.1:\(port)"
        let (samples, kafkaSamples) = DevFeed.samples(
            examples: repository.appendingPathComponent("examples"), adapters: pipelines.values.map(\.adapter),
            secrets: secrets)
        let logger = {
            var logger = Logger(label: "sluice.dev.feed")
            logger.logLevel = .warning
            return logger
        }()
        let kafkaBootstrap = self.kafkaBootstrap
        // Made when the feed starts, which it may never do (the service group stops before intake opens): a client
        // made here would then be released without its shutdown, which AsyncHTTPClient treats as a programming error.
        let makeFeed: @Sendable () -> DevFeed = {
            var producer: KafkaProducer?
            if let kafkaBootstrap {
                do {
                    producer = try KafkaProducer(bootstrapServers: kafkaBootstrap, logger: logger)
                } catch {
                    logger.warning("the dev feed sends no Kafka samples: its producer cannot start", metadata: ["error": "\(error)"])
                }
            }
            return DevFeed(
                samples: samples, kafkaSamples: kafkaSamples, producer: producer, baseURL: baseURL,
                http: HTTPClient(eventLoopGroupProvider: .singleton), logger: logger)
        }
        return [
            DevFeedService(makeFeed: makeFeed, interval: interval),
            DevSummaryService(pipelines: pipelines, statusURL: baseURL + "/", interval: .seconds(3), rounds: rounds, write: write),
        ]
    }

    /// A YAML double-quoted scalar (JSON's string syntax): a path with ` #` or `: ` in it stays one value.
    static func quoted(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case _ where scalar.value < 0x20: quoted += String(format: "\\u%04X", scalar.value)
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\""
    }

    /// Stops the worker and Temporal: SIGTERM, then SIGKILL after their grace periods, or at once with `now`.
    public func stop(now: Bool = false) async {
        if now {
            await worker.stop(grace: .zero)
            await temporal.stop(grace: .zero)
        } else {
            await worker.stop()
            await temporal.stop()
        }
    }
}
