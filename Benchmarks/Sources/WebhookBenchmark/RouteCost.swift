import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceWebhooks

/// The route's own cost, without HTTP: `WebhookHandler.respond` on prebuilt requests, in one task,
/// with a sink that stores nothing. CPU time per request, so that a busy host barely moves it.
enum RouteCost {
    static func run(iterations: Int) async {
        let endpoint = WebhookEndpoint(
            adapter: "bench", path: "/webhooks/bench", verifier: GitHubVerifier(secrets: [Secret(BenchKey.secret)]),
            sink: DiscardingSink())
        let handler = WebhookHandler(endpoint: endpoint, options: WebhookRouteOptions(), metrics: WebhookMetrics())
        let raw = LoadGenerator.requests(path: "/webhooks/bench", count: 256)
        let parsed = raw.map(Self.parse)
        var statuses: [Int: Int] = [:]
        for (index, request) in parsed.prefix(64).enumerated() {
            _ = index
            statuses[await handler.respond(to: request.make()).status.code, default: 0] += 1
        }
        let cpuStart = clock()
        let wallStart = ContinuousClock.now
        for index in 0..<iterations {
            let response = await handler.respond(to: parsed[index % parsed.count].make())
            statuses[response.status.code, default: 0] += 1
        }
        let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
        let wall = ContinuousClock.now - wallStart
        print(
            #"{"iterations":\#(iterations),"cpu_us_per_request":\#(String(format: "%.2f", cpu / Double(iterations) * 1e6)),"#
                + #""wall_us_per_request":\#(String(format: "%.2f", Double(wall.components.attoseconds / 1_000_000_000_000 + wall.components.seconds * 1_000_000) / Double(iterations))),"#
                + #""statuses":"\#(statuses)"}"#)
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
