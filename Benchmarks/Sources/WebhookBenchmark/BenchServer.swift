import Foundation
import Hummingbird
import Logging
import SluiceApp
import SluiceCore
import SluiceLedger
import SluiceWebhooks

/// A sink that stores nothing: isolates the route's own cost (verification, normalisation, HTTP).
struct DiscardingSink: WebhookSink {
    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        .accepted(eventID: event.id, idempotencyKey: event.id)
    }
}

/// The sink under test: the SQLite inbox, written before the `202` (group commit, `synchronous=FULL`).
struct InboxSink: WebhookSink {
    let ledger: SQLiteLedger

    func accept(_ event: Event, delivery: Delivery) async -> WebhookAcceptance {
        do {
            _ = try await ledger.appendInbox(delivery)
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
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath, synchronous: synchronous))
        let endpoint = WebhookEndpoint(
            adapter: "bench", path: "/webhooks/bench", verifier: GitHubVerifier(secrets: [Secret(secret)]),
            sink: discard ? DiscardingSink() : InboxSink(ledger: ledger))
        let router = try WebhookRoutes.buildRouter([endpoint])
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
        try await app.runService()
    }
}
