import Foundation
import Hummingbird
import Logging
import SluiceApp
import SluiceCore
import SluiceLedger
import SluiceWebhooks
import UnixSignals

/// A sink that stores nothing: isolates the route's own cost (verification, normalisation, HTTP).
struct DiscardingSink: WebhookSink {
    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        .accepted(eventID: event.id, idempotencyKey: event.id)
    }
}

/// The sink under test: the SQLite inbox, written before the `202` (group commit, `synchronous=FULL`).
struct InboxSink: WebhookSink {
    let ledger: SQLiteLedger
    /// With `SLUICE_BENCH_INBOX_TIMES=1`: how long each inbox write took, printed when the server stops, to
    /// set the write's share of a request's latency against the generator's figures.
    var writeTimes: Locked<[Duration]>? = nil

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        do {
            let started = ContinuousClock.now
            _ = try await ledger.appendInbox(delivery)
            if let writeTimes {
                let took = ContinuousClock.now - started
                writeTimes.withLock { $0.append(took) }
            }
            return .accepted(eventID: event.id, idempotencyKey: event.id)
        } catch {
            return .unavailable(reason: error.reason, retryAfter: .seconds(1))
        }
    }

}

enum BenchServer {
    static let secret = "bench-secret"

    static func run(port: Int, ledgerPath: String, discard: Bool = false, bare: Bool = false) async throws {
        try? FileManager.default.removeItem(atPath: ledgerPath)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledgerPath + suffix) }
        // `SLUICE_BENCH_SYNC=normal`: no fsync per commit (durable against a crash of the process, not of the
        // machine), to tell the disk's share of the latency from the rest; the product's default is FULL.
        let synchronous: SQLiteLedgerConfiguration.Synchronous =
            ProcessInfo.processInfo.environment["SLUICE_BENCH_SYNC"] == "normal" ? .normal : .full
        // `SLUICE_BENCH_CHECKPOINT_PAGES=N`: the log size (pages) at which the ledger checkpoints, to tell the
        // checkpoints' share of the latency (the product's default is 4,096).
        var configuration = SQLiteLedgerConfiguration(path: ledgerPath, synchronous: synchronous)
        if let pages = ProcessInfo.processInfo.environment["SLUICE_BENCH_CHECKPOINT_PAGES"].flatMap(Int.init) {
            configuration.checkpointPages = pages
        }
        let ledger = try await SQLiteLedger.open(configuration)
        let writeTimes = ProcessInfo.processInfo.environment["SLUICE_BENCH_INBOX_TIMES"] == "1" ? Locked<[Duration]>([]) : nil
        let endpoint = WebhookEndpoint(
            adapter: "bench", path: "/webhooks/bench", verifier: GitHubVerifier(secrets: [Secret(secret)]),
            sink: discard ? DiscardingSink() : InboxSink(ledger: ledger, writeTimes: writeTimes))
        let router = Router()
        // `SLUICE_BENCH_REQUEST_TIMES=1`: how long each request took inside the server (routing, body, handler;
        // not the socket reads before nor the response write after), printed when the server stops.
        let requestTimes = ProcessInfo.processInfo.environment["SLUICE_BENCH_REQUEST_TIMES"] == "1" ? Locked<[Duration]>([]) : nil
        if let requestTimes { router.add(middleware: TimingMiddleware(times: requestTimes)) }
        try WebhookRoutes.register([endpoint], on: router)
        if bare {
            // Hummingbird's own floor: read the body, answer a canned 202, nothing else.
            router.post("/bare") { request, _ -> Response in
                _ = try await request.body.collect(upTo: 1 << 20)
                return Response(
                    status: .accepted, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"event_id":"sha256:0","adapter":"bench"}"#)))
            }
        }
        // The service's own text logging, as `sluice serve` sets it up.
        Observability.bootstrapLogging(format: .text, level: "warning")
        let logger = Logger(label: "webhook-bench")
        let limits = WebhookServerLimits(maxConnections: 4096, backlog: 1024)
        let app = Application(
            router: router, server: limits.server,
            configuration: limits.configuration(address: .hostname("127.0.0.1", port: port), logger: logger),
            logger: logger)
        print("serving on 127.0.0.1:\(port), inbox \(ledgerPath)")
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        if let writeTimes { print(LatencySummary.jsonLine(writeTimes.withLock { $0 }, name: "inbox_writes")) }
        if let requestTimes { print(LatencySummary.jsonLine(requestTimes.withLock { $0 }, name: "requests_in_server")) }
    }
}

/// Times each request from the router's first middleware to the response it returns.
struct TimingMiddleware<Context: RequestContext>: RouterMiddleware {
    let times: Locked<[Duration]>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let took = ContinuousClock.now - started
        times.withLock { $0.append(took) }
        return response
    }
}
