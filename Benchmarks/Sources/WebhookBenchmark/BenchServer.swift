import Foundation
import Hummingbird
import Logging
import SluiceCore
import SluiceLedger
import SluiceWebhooks

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

    static func run(port: Int, ledgerPath: String) async throws {
        try? FileManager.default.removeItem(atPath: ledgerPath)
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledgerPath + suffix) }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath))
        let endpoint = WebhookEndpoint(
            adapter: "bench", path: "/webhooks/bench", verifier: GitHubVerifier(secrets: [Secret(secret)]),
            sink: InboxSink(ledger: ledger))
        let router = try WebhookRoutes.buildRouter([endpoint])
        var logger = Logger(label: "webhook-bench")
        logger.logLevel = .warning
        let limits = WebhookServerLimits(maxConnections: 4096, backlog: 1024)
        let app = Application(
            router: router, server: limits.server,
            configuration: limits.configuration(address: .hostname("127.0.0.1", port: port), logger: logger),
            logger: logger)
        print("serving on 127.0.0.1:\(port), inbox \(ledgerPath)")
        try await app.runService()
    }
}
