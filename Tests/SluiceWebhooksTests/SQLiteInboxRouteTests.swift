import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceCore
import SluiceLedger
import SluiceWebhooks
import Testing

/// The route over the real SQLite inbox: a `202` means the delivery is on disk.
@Suite struct SQLiteInboxRouteTests {
    @Test func a202IsDurableBeforeTheAnswer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-inbox-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("ledger.sqlite").path
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        let genuine = try RouteTestSupport.fixtureCase("standard-webhooks", "v1a genuine")
        let app = Application(router: try RouteTestSupport.router(for: genuine, sink: LedgerInboxSink(ledger: ledger)))
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: "/webhooks/test", method: .post, headers: RouteTestSupport.headers(genuine),
                body: ByteBuffer(string: genuine.body))
            #expect(response.status == .accepted)
            #expect(try RouteTestSupport.json(response)["event_id"]?.stringValue == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        }
        // Another connection to the same file, as a restarted process would open it, without closing the first.
        let reopened = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        let pending = try await reopened.pendingInbox(after: nil, limit: 10)
        #expect(pending.count == 1)
        let delivery = try #require(pending.first?.delivery)
        #expect(delivery.adapter == "test")
        #expect(delivery.body == Array(genuine.body.utf8))
        #expect(delivery.headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(!delivery.headers.contains("webhook-signature"))
        await reopened.close()
        await ledger.close()
    }
}
