import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SluiceApp
import SluiceCore
import UnixSignals

/// Options shared by `serve` and `dev`: each overrides the `SLUICE_*` variable and `sluice.yaml`.
struct ServiceOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file.", valueName: "FILE"))
    var config = "sluice.yaml"

    @Option(name: .customLong("http-host"), help: "The address to listen on (http.host).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "The port to listen on; 0 picks a free one (http.port).")
    var httpPort: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (logging.level).")
    var logLevel: String?

    @Option(name: .customLong("log-format"), help: "text or json (logging.format).")
    var logFormat: String?

    @Option(name: .customLong("ledger-path"), help: "A SQLite ledger file (ledger.path).")
    var ledgerPath: String?

    @Option(name: .customLong("ledger-url"), help: "A PostgreSQL ledger: postgres://user@host:port/database (ledger.url).")
    var ledgerURL: String?

    func validate() throws {
        if ledgerPath != nil && ledgerURL != nil { throw ValidationError("give --ledger-path or --ledger-url, not both") }
    }

    /// The flags as configuration keys.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["http.host"] = httpHost
        flags["http.port"] = httpPort
        flags["logging.level"] = logLevel
        flags["logging.format"] = logFormat
        flags["ledger.path"] = ledgerPath
        flags["ledger.url"] = ledgerURL
        return flags
    }

    /// Loads the configuration, or exits with status 2 and every problem on standard error.
    func load(directory: URL, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServiceConfiguration {
        do {
            return try ConfigurationLoader(environment: environment, flags: flags).load(directory: directory, configFile: config)
        } catch {
            FileHandle.standardError.write(Data("error: the configuration cannot be used:\n\(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Sluice: the webhook routes, the Kafka consumers, the gates and the ledger.",
        discussion: """
            Reads sluice.yaml and the adapters it names. Precedence: flags, then SLUICE_* environment \
            variables (http.port is SLUICE_HTTP_PORT), then sluice.yaml, then the defaults \
            (docs/configuration.md). SIGTERM or SIGINT stops intake, drains in-flight work within each \
            boundary's cancellation budget and exits 0; a second signal exits at once. Exit status 2 \
            when the configuration or the ledger cannot be used.
            """
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        // Watched from the first step: a signal before the service runs (while the ledger opens) exits at once. Nothing
        // has been accepted yet, and PID 1, which Sluice is in its container, would otherwise ignore it.
        let shutdown = await ShutdownSignals.watch(.sigterm, .sigint)
        await shutdown.onSignal {
            FileHandle.standardError.write(Data("sluice: stopped during start-up\n".utf8))
            Foundation.exit(0)
        }
        await shutdown.onSecondSignal {
            Logger(label: "sluice").warning("second signal: exiting at once; work in flight is delivered again after the restart")
            Foundation.exit(1)
        }
        let directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let config = try options.load(directory: directory)
        try await ServiceRunner.run(config, shutdown: shutdown)
    }
}

/// Opens the ledger, builds the application with every source, and runs it.
enum ServiceRunner {
    /// - Parameters:
    ///   - shutdown: the process's stop signals; once the application is built, the first one shuts it down as
    ///     ``SluiceApplication/shutdown()`` does (intake first, then the drain). The caller sets what a signal does
    ///     before that, and what a second one does.
    ///   - extra: more services fed with the pipelines (`sluice dev`'s feed and summary).
    static func run(
        _ config: ServiceConfiguration, shutdown: ShutdownSignals,
        extra: @escaping @Sendable ([String: AdapterPipeline], Intake, HealthMonitor) -> [any Service] = { _, _, _ in [] }
    ) async throws {
        Observability.bootstrapLogging(format: config.logging.format, level: config.logging.level)
        var logger = Logger(label: "sluice")
        logger.logLevel = Logger.Level(rawValue: config.logging.level) ?? .info
        do {
            // The ledger applies the adapters' dedupe windows: they are compiled before it opens.
            let adapters = try config.compiledAdapters()
            let dedupe = DedupePolicy(adapters: adapters)
            // Before the ledger opens (and migrates): a tracing set-up that cannot work stops the start at once.
            let telemetry = try Observability.bootstrapTracing(config.tracing)
            try await config.ledger.withLedger(mustExist: false, checkpoints: true, dedupe: dedupe) { ledger in
                let pullSources = StandardSources.pullSources(config: config, logger: logger)
                let application = try buildApplication(
                    config: config, ledger: ledger, routes: StandardSources.routes,
                    sources: { pipelines, intake, health in
                        try pullSources(pipelines, intake, health) + extra(pipelines, intake, health)
                    },
                    telemetry: telemetry.map { [$0] } ?? [], adapters: adapters, logger: logger)
                logger.notice(
                    "sluice starting",
                    metadata: [
                        "adapters": "\(application.pipelines.keys.sorted().joined(separator: ","))",
                        "ledger": "\(config.ledger.displayName)", "http": "\(config.http.host):\(config.http.port)",
                    ])
                await shutdown.onSignal { await application.shutdown() }
                try await application.run()
                logger.notice("sluice stopped")
            }
        } catch let error as LedgerError {
            FileHandle.standardError.write(Data("error: the ledger cannot be used: \(error.detail)\n".utf8))
            throw ExitCode(2)
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
