import Foundation
public import Hummingbird
import HummingbirdCore
import SluiceWebhooks
public import Logging
public import ServiceLifecycle
public import SluiceCore
import SluiceEngines
public import SluiceKafka

/// The running parts of Sluice, built by ``buildApplication(config:ledger:logger:)``: one pipeline
/// per adapter, the HTTP server, and every long-running part as a service of one group.
public struct SluiceApplication: Sendable {
    /// The pipelines, by adapter name.
    public let pipelines: [String: AdapterPipeline]
    /// The engines, by name.
    public let engines: [String: any WorkflowEngine]
    public let intake: Intake
    public let health: HealthMonitor
    public let status: StatusPage
    /// The services in start-up order; the group stops them in reverse order.
    public let services: [ServiceGroupConfiguration.ServiceConfiguration]
    /// Resolves once the HTTP server listens, with its port (useful with `http.port: 0`).
    public let listening: ListeningPort
    /// Resolves once the operations server listens, when `http.operations_port` is set.
    public let operationsListening: ListeningPort?
    /// The writer of the Kafka ingress topic when `kafka.inbox_topic` is set; closed once the group has stopped.
    public let kafkaInbox: KafkaWebhookInbox?
    let httpClient: EngineHTTPClient
    let logger: Logger
    let group = GroupHandle()

    /// Runs every service until ``shutdown()`` (what `sluice serve` calls on SIGTERM or SIGINT), a failing service,
    /// or cancellation: intake stops first, then sources, then the gates drain within their cancellation budgets,
    /// then the HTTP server stops.
    public func run() async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        await self.group.set(group)
        do {
            try await group.run()
        } catch {
            await closeSharedClients()
            throw error
        }
        await closeSharedClients()
    }

    /// Closes what the services shared, once none of them runs (the HTTP server included, so nothing
    /// produces to the Kafka inbox any more): the engines' HTTP client and the inbox's producer.
    private func closeSharedClients() async {
        // A server that never listened (its port taken) answers its waiters: nil, not a wait for ever.
        listening.finish()
        operationsListening?.finish()
        try? await httpClient.shutdown()
        await kafkaInbox?.close()
    }
}

extension SluiceApplication {
    /// Shuts down as SIGTERM does: intake first, then the drain, then the server.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }
}

/// The running service group, once ``SluiceApplication/run()`` made it.
actor GroupHandle {
    private var group: ServiceGroup?
    private var shutdownRequested = false

    func set(_ group: ServiceGroup) async {
        self.group = group
        if shutdownRequested { await group.triggerGracefulShutdown() }
    }

    func triggerGracefulShutdown() async {
        shutdownRequested = true
        await group?.triggerGracefulShutdown()
    }
}

/// The port the HTTP server listens on, once it does.
public final class ListeningPort: Sendable {
    private let stream: AsyncStream<Int>
    private let sink: AsyncStream<Int>.Continuation

    init() {
        (stream, sink) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
    }

    func resolve(_ port: Int) {
        sink.yield(port)
        sink.finish()
    }

    /// Ends the wait of those still waiting (the group stopped; the server listened or never will).
    func finish() {
        sink.finish()
    }

    /// Waits for the server to listen; nil when it stopped without listening.
    public var port: Int? {
        get async {
            for await port in stream { return port }
            return nil
        }
    }
}

/// Why Sluice cannot start.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Adds routes to the application's router: the composition root's hook for the sources that
/// serve HTTP (webhooks, the bridge endpoint).
public typealias RouteInstaller = @Sendable (Router<BasicRequestContext>, RouteContext) throws -> Void

/// What route installers get from the composition root.
public struct RouteContext: Sendable {
    public let pipelines: [String: AdapterPipeline]
    public let intake: Intake
    public let configuration: ServiceConfiguration
    public let logger: Logger
    /// Where a webhook adapter's verified events go before `202`: the ledger's inbox (the
    /// pipeline itself), or the Kafka ingress topic when `kafka.inbox_topic` is set.
    public let inboxSink: @Sendable (AdapterPipeline) -> any WebhookSink
}

/// The sources Sluice runs, one line each.
public enum StandardSources {
    /// The HTTP sources: webhook routes and the bridge endpoint.
    public static let routes: [RouteInstaller] = [WebhookSource.install]

    /// The pull sources (Kafka consumers), as services fed with the pipelines.
    public static func pullSources(
        config: ServiceConfiguration, logger: Logger
    ) -> @Sendable ([String: AdapterPipeline], Intake, HealthMonitor) throws -> [any Service] {
        { pipelines, _, health in try KafkaSources.make(config: config, pipelines: pipelines, health: health, logger: logger) }
    }
}

/// The composition root, used by `sluice serve`, `sluice dev` and the tests: compiles the adapters,
/// makes the engines, builds one gate and pipeline per adapter on the given ledger, and assembles
/// the services in start-up order — health checks, the gates, re-admission of pending inbox rows,
/// the HTTP server (operations routes and the sources' routes), the pull sources, and intake.
///
/// - Parameters:
///   - config: the configuration.
///   - ledger: the opened, migrated ledger.
///   - routes: installers for HTTP sources (webhooks, the bridge endpoint).
///   - sources: the services that feed the pipelines (Kafka consumers), started after
///     re-admission; nil: ``StandardSources/pullSources(config:logger:)``.
///   - healthInterval: how often the ledger and engines are checked for `/readyz`.
///   - telemetry: exporters (OTLP tracing), started first and stopped last.
///   - adapters: the project's adapters, when the caller compiled them already; nil: compiled here.
///   - logger: the root logger.
public func buildApplication(
    config: ServiceConfiguration, ledger: any OutcomeLedger, routes: [RouteInstaller] = StandardSources.routes,
    sources: (@Sendable ([String: AdapterPipeline], Intake, HealthMonitor) throws -> [any Service])? = nil,
    healthInterval: Duration = .seconds(5), telemetry: [any Service] = [], adapters compiled: [CompiledAdapter]? = nil,
    logger: Logger = Logger(label: "sluice")
) throws -> SluiceApplication {
    Observability.bootstrapMetrics()
    let adapters = try compiled ?? config.compiledAdapters()
    try checkWebhookModes(adapters, kafkaInbox: config.kafka.inboxTopic != nil)
    let httpClient = EngineHTTPClient()
    do {
        return try assembleApplication(
            config: config, ledger: ledger, routes: routes, sources: sources, healthInterval: healthInterval,
            telemetry: telemetry, adapters: adapters, httpClient: httpClient, logger: logger)
    } catch {
        // A configuration error found while assembling: the HTTP client must be shut down before it is released
        // (AsyncHTTPClient traps otherwise in debug builds, `swift run sluice` among them).
        Task { try? await httpClient.shutdown() }
        throw error
    }
}

/// ``buildApplication(config:ledger:routes:sources:healthInterval:telemetry:adapters:logger:)`` once the adapters are
/// compiled and the engines' HTTP client made.
private func assembleApplication(
    config: ServiceConfiguration, ledger: any OutcomeLedger, routes: [RouteInstaller],
    sources: (@Sendable ([String: AdapterPipeline], Intake, HealthMonitor) throws -> [any Service])?,
    healthInterval: Duration, telemetry: [any Service], adapters: [CompiledAdapter], httpClient: EngineHTTPClient,
    logger: Logger
) throws -> SluiceApplication {
    let references = ConfigReferences(
        source: ProcessConfigValueSource(baseDirectory: config.directory), resolution: .strict)
    let engines: [String: any WorkflowEngine]
    do {
        engines = try EngineFactory.makeEngines(config.project, references: references, http: httpClient, logger: logger)
    } catch {
        throw StartupError(error.description)
    }
    let options = PipelineOptions(claimOwner: config.ledger.isShared ? ReplicaName.current : nil)
    var pipelines: [String: AdapterPipeline] = [:]
    for adapter in adapters {
        guard let engineName = adapter.engine ?? config.project.defaultEngine, let engine = engines[engineName] else {
            throw StartupError(
                "adapter '\(adapter.name)' names no engine and sluice.yaml has no default_engine (engines: \(engines.keys.sorted().joined(separator: ", ")))")
        }
        let dispatcher = Dispatcher(
            adapter: adapter.name, boundary: adapter.boundary, retry: adapter.retry, engine: engine,
            clock: ContinuousClock(), currentVersion: { [version = adapter.version] in version })
        pipelines[adapter.name] = AdapterPipeline(
            adapter: adapter, dispatcher: dispatcher, ledger: ledger, options: options, logger: logger)
    }
    let intake = Intake()
    let health = HealthMonitor(
        ledger: ledger, engines: engines, pipelines: pipelines, checkTimeout: max(healthInterval, .seconds(1)), logger: logger)
    health.addCheck("intake") {
        intake.isDraining ? (false, "draining") : intake.isOpen ? (true, "open") : (false, "re-admitting the inbox")
    }
    let status = StatusPage(health: health, pipelines: Array(pipelines.values), ledger: ledger)

    let router = Router(context: BasicRequestContext.self)
    let metricsPath = config.metrics.enabled ? config.metrics.path : nil
    // With an operations port, the status page, health and metrics are served there only: the webhook port may face
    // the internet, and the page lists recent keys and workflow ids, readiness the ledger's and engines' errors.
    if config.http.operationsPort == nil { OperationsRoutes.register(on: router, status: status, metricsPath: metricsPath) }
    let kafkaInbox = try KafkaSources.inbox(config: config, logger: logger)
    // A start that fails from here on (a route, a Kafka consumer refused) must not leave the producer's threads running.
    var assembled = false
    defer { if !assembled { kafkaInbox?.closeInBackground() } }
    let inboxSink: @Sendable (AdapterPipeline) -> any WebhookSink
    if let kafkaInbox {
        // A load balancer that reads `/readyz` stops sending webhooks that would each be answered `503`.
        health.addCheck("kafka inbox") {
            kafkaInbox.isRefused
                ? (false, "every new producer hits a fatal error before delivering anything (see the log)") : (true, "producing")
        }
        inboxSink = { pipeline in KafkaInboxSink(inbox: kafkaInbox, pipeline: pipeline, logger: logger) }
    } else {
        inboxSink = { pipeline in pipeline }
    }
    let routeContext = RouteContext(
        pipelines: pipelines, intake: intake, configuration: config, logger: logger, inboxSink: inboxSink)
    for install in routes { try install(router, routeContext) }
    // After every route, so that it wraps the not-found answer only.
    let webhookPaths = pipelines.values.compactMap { pipeline -> String? in
        if case .webhook(let route) = pipeline.adapter.source { route.path } else { nil }
    }
    router.add(middleware: RouteMisses(postPaths: webhookPaths, bridge: !config.bridge.tokens.isEmpty))
    let listening = ListeningPort()
    let limits = WebhookServerLimits(
        idleTimeout: config.http.readTimeout, bodyTimeout: config.http.bodyTimeout, maxHeaderFieldSize: config.http.maxHeaderBytes,
        maxHeaderListSize: config.http.maxHeaderBytes, maxConnections: config.http.maxConnections)
    let server = Application(
        router: router, server: limits.server,
        configuration: limits.configuration(
            address: .hostname(config.http.host, port: config.http.port), serverName: "sluice", logger: logger),
        onServerRunning: { channel in listening.resolve(channel.localAddress?.port ?? config.http.port) },
        logger: logger)

    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    // A service that fails (a Kafka consumer's fatal error, a port taken) stops the others as SIGTERM does: intake
    // closes and the gates drain within their budgets, instead of every engine call in flight being cut; `run()`
    // then throws its error.
    func add(_ service: any Service, _ name: String, returns: ServiceGroupConfiguration.ServiceConfiguration.TerminationBehavior = .cancelGroup) {
        services.append(
            .init(service: service, successTerminationBehavior: returns, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name))
    }
    for exporter in telemetry { add(exporter, "telemetry") }
    var operationsListening: ListeningPort?
    if let operationsPort = config.http.operationsPort {
        let operationsRouter = Router(context: BasicRequestContext.self)
        OperationsRoutes.register(on: operationsRouter, status: status, metricsPath: metricsPath)
        operationsRouter.add(middleware: RouteMisses(postPaths: [], bridge: false))
        let resolved = ListeningPort()
        operationsListening = resolved
        // Stopped after the webhook server: readiness and metrics stay observable while everything drains.
        add(
            Application(
                router: operationsRouter, server: limits.server,
                configuration: limits.configuration(
                    address: .hostname(config.http.host, port: operationsPort), serverName: "sluice", logger: logger),
                onServerRunning: { channel in resolved.resolve(channel.localAddress?.port ?? operationsPort) },
                logger: logger),
            "operations http")
    }
    // Stopped last but for telemetry: the server answers (503 for new webhooks) while everything
    // else drains.
    add(server, "http")
    add(
        HealthMonitorService(monitor: health, checkInterval: healthInterval, sampleInterval: min(healthInterval, .seconds(2))),
        "health")
    add(
        RetentionService(ledger: ledger, policy: config.ledger.spec.retentionPolicy, interval: .seconds(60), logger: logger),
        "retention", returns: .ignore)
    // Every gate drains at once, within its own budget: a shutdown takes the longest budget, not their sum.
    add(ConcurrentServices(services: pipelines.keys.sorted().map { DispatcherService(dispatcher: pipelines[$0]!.dispatcher) }), "gates")
    if options.claimOwner != nil {
        add(
            ClaimRenewalService(pipelines: pipelines.keys.sorted().map { pipelines[$0]! }, logger: logger), "claim renewal",
            returns: .ignore)
    }
    var readmission = InboxReadmission(ledger: ledger, pipelines: pipelines, intake: intake, logger: logger)
    readmission.sweepInterval = .seconds(60)
    add(readmission, "inbox re-admission", returns: .ignore)
    // Sources start once re-admission opened intake. The Kafka consumers stop together: each drains within its
    // budget at the same time (its revoke). Any other source (`sluice dev`'s feed and summary) is a service of
    // its own: one that returns is done, and the group shuts down gracefully.
    let makeSources = sources ?? StandardSources.pullSources(config: config, logger: logger)
    let made = try makeSources(pipelines, intake, health)
    let consumers = made.compactMap { $0 as? KafkaSource }
    // Consumers that never run (a start that fails from here on, or a stop before intake opens) close their producers.
    let closeConsumers: @Sendable () -> Void = { for consumer in consumers { consumer.closeUnstarted() } }
    defer { if !assembled { closeConsumers() } }
    if !consumers.isEmpty {
        add(
            AfterIntakeOpens(
                intake: intake, source: ConcurrentServices(services: consumers.map { $0 as any Service }), unstarted: closeConsumers),
            "kafka consumers", returns: .gracefullyShutdownGroup)
    }
    for source in made where !(source is KafkaSource) {
        add(AfterIntakeOpens(intake: intake, source: source), String(describing: type(of: source)), returns: .gracefullyShutdownGroup)
    }
    // Stopped first: intake closes before anything drains.
    add(IntakeService(intake: intake), "intake")
    assembled = true
    return SluiceApplication(
        pipelines: pipelines, engines: engines, intake: intake, health: health, status: status, services: services,
        listening: listening, operationsListening: operationsListening, kafkaInbox: kafkaInbox, httpClient: httpClient,
        logger: logger)
}

/// Runs a source once intake is open (the inbox re-admission is done).
struct AfterIntakeOpens: Service {
    let intake: Intake
    let source: any Service
    /// Called when the source will not run (stopping before intake opened).
    var unstarted: @Sendable () -> Void = {}

    func run() async throws {
        await intake.waitUntilOpen()
        guard !intake.isDraining, !Task.isShuttingDownGracefully, !Task.isCancelled else {
            // Stopping before the source started: return only at this service's own turn to stop. A service that
            // ends while the group waits for another one during a graceful shutdown cancels the whole group (and
            // with it every gate's drain).
            unstarted()
            try? await gracefulShutdown()
            return
        }
        try await source.run()
    }
}

/// This process's name among replicas sharing a ledger, the owner of its claims: `host-pid-random`.
///
/// Host and pid alone are not unique: containers often run as pid 1, and replicas can share a host name
/// (`network_mode: host`, a fixed `hostname:`). Two replicas with one name would each take the other's claims.
enum ReplicaName {
    static let current: String = {
        var generator = SystemRandomNumberGenerator()
        let suffix = String(generator.next() as UInt64, radix: 16)
        return "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(suffix)"
    }()
}

/// Refuses, at start, a webhook adapter whose boundary mode refuses the way its webhooks reach the gate
/// (``BoundaryMode/webhookRefusal(kafkaInbox:)``). `sluice validate` checks it too when `sluice.yaml` sets
/// `kafka.inbox_topic`; here the environment's `SLUICE_KAFKA_INBOX_TOPIC` counts as well.
func checkWebhookModes(_ adapters: [CompiledAdapter], kafkaInbox: Bool) throws {
    for adapter in adapters {
        guard case .webhook = adapter.source, let refusal = adapter.boundary.mode.webhookRefusal(kafkaInbox: kafkaInbox) else { continue }
        throw StartupError("adapter '\(adapter.name)': \(refusal)")
    }
}
