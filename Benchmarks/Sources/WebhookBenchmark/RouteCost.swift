import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceLedger
import SluiceWebhooks

/// The route's own cost, without HTTP: `WebhookHandler.respond` on prebuilt requests from
/// `concurrency` tasks, with a sink that stores nothing or the SQLite inbox (`--ledger PATH`). CPU time
/// of the whole process per request, so that a busy host barely moves it.
enum RouteCost {
    static func run(iterations: Int, concurrency: Int, ledgerPath: String?) async throws {
        var sink: any WebhookSink = DiscardingSink()
        if let ledgerPath {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledgerPath + suffix) }
            sink = InboxSink(ledger: try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: ledgerPath)))
        }
        let endpoint = WebhookEndpoint(
            adapter: "bench", path: "/webhooks/bench", verifier: GitHubVerifier(secrets: [Secret(BenchKey.secret)]),
            sink: sink)
        let handler = WebhookHandler(endpoint: endpoint, options: WebhookRouteOptions(), metrics: WebhookMetrics())
        let parsed = LoadGenerator.requests(path: "/webhooks/bench", count: 256).map(Self.parse)
        for request in parsed.prefix(64) { _ = await handler.respond(to: request.make()) }
        let cpuStart = clock()
        let wallStart = ContinuousClock.now
        let perTask = iterations / concurrency
        let statuses = await withTaskGroup(of: [Int: Int].self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var statuses: [Int: Int] = [:]
                    for index in 0..<perTask {
                        let response = await handler.respond(to: parsed[(worker + index * concurrency) % parsed.count].make())
                        statuses[response.status.code, default: 0] += 1
                    }
                    return statuses
                }
            }
            var merged: [Int: Int] = [:]
            for await part in group { merged.merge(part, uniquingKeysWith: +) }
            return merged
        }
        let done = perTask * concurrency
        let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
        let wall = (ContinuousClock.now - wallStart) / .microseconds(1)
        print(
            #"{"iterations":\#(done),"concurrency":\#(concurrency),"sink":"\#(ledgerPath == nil ? "none" : "inbox")","#
                + #""cpu_us_per_request":\#(String(format: "%.2f", cpu / Double(done) * 1e6)),"#
                + #""wall_us_per_request":\#(String(format: "%.2f", wall / Double(done))),"statuses":"\#(statuses)"}"#)
    }

    struct Prepared {
        let head: HTTPRequest
        let body: [UInt8]
        func make() -> Request {
            Request(head: head, body: RequestBody(buffer: ByteBuffer(bytes: body)))
        }
    }

    static func parse(_ bytes: [UInt8]) -> Prepared {
        let text = String(decoding: bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        var fields = HTTPFields()
        for line in lines.dropFirst() {
            let pair = line.split(separator: ":", maxSplits: 1)
            fields.append(HTTPField(name: HTTPField.Name(String(pair[0]))!, value: pair[1].trimmingCharacters(in: .whitespaces)))
        }
        let head = HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1", path: "/webhooks/bench", headerFields: fields)
        return Prepared(head: head, body: Array(parts[1].utf8))
    }
}
