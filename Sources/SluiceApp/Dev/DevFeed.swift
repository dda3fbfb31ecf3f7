import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SluiceCore
import SluiceKafka

/// `sluice dev`'s feed of sample events: the examples in `examples/<adapter>/` posted to their
/// webhook routes, signed with the dev secrets, each round with fresh delivery ids so that every
/// round is new work (and the same workflows get their signals and updates).
struct DevFeed: Sendable {
    /// One sample webhook.
    struct Sample: Sendable {
        var adapter: String
        var path: String
        var signer: DevSigner
        var headers: [(String, String)]
        var body: [UInt8]
    }

    /// One sample Kafka record.
    struct KafkaSample: Sendable {
        var topic: String
        var key: String?
        var headers: [(String, String)]
        var value: [UInt8]
    }

    let samples: [Sample]
    let kafkaSamples: [KafkaSample]
    let producer: KafkaProducer?
    let baseURL: String
    let http: HTTPClient
    let logger: Logger

    /// Reads the samples of every adapter from `examples/<adapter>/*.json` and their `.args`
    /// (`--header NAME:VALUE`, `--kafka-key KEY`).
    static func samples(
        examples: URL, adapters: [CompiledAdapter], secrets: [String: String]
    ) -> (webhooks: [Sample], kafka: [KafkaSample]) {
        var samples: [Sample] = []
        var kafkaSamples: [KafkaSample] = []
        for adapter in adapters {
            let directory = examples.appendingPathComponent(adapter.name)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") && !name.hasSuffix(".plan.json") {
                guard let body = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { continue }
                let argsPath = directory.appendingPathComponent(String(name.dropLast(5)) + ".args").path
                let args = (try? String(contentsOfFile: argsPath, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
                var headers: [(String, String)] = []
                var key: String?
                var index = 0
                while index + 1 < args.count {
                    if args[index] == "--header", let colon = args[index + 1].firstIndex(of: ":") {
                        let header = args[index + 1]
                        headers.append((String(header[..<colon]), String(header[header.index(after: colon)...])))
                    } else if args[index] == "--kafka-key" {
                        key = args[index + 1]
                    }
                    index += 1
                }
                switch adapter.source {
                case .webhook(let route):
                    guard let secret = secrets[adapter.name] else { continue }
                    samples.append(
                        Sample(
                            adapter: adapter.name, path: route.path,
                            signer: DevSigner(scheme: route.verification.scheme, secret: secret), headers: headers,
                            body: Array(body)))
                case .kafka(let subscription):
                    guard let topic = subscription.topics.first else { continue }
                    kafkaSamples.append(KafkaSample(topic: topic, key: key, headers: headers, value: Array(body)))
                }
            }
        }
        return (samples, kafkaSamples)
    }

    /// Produces one round of Kafka samples, with their CloudEvents ids made unique to the round.
    func kafkaRound(_ number: Int) async {
        guard let producer else { return }
        for sample in kafkaSamples where !Task.isCancelled {
            let headers = sample.headers.map { name, value in
                KafkaProducer.Message.Header(name, name.lowercased() == "ce_id" ? "\(value)-r\(number)" : value)
            }
            var value = sample.value
            if case .object(var object)? = try? JSONParser.parse(sample.value), let id = object["id"]?.stringValue {
                object["id"] = .string("\(id)-r\(number)")
                value = JSONWriter.bytes(.object(object))
            }
            do {
                _ = try await producer.send(
                    KafkaProducer.Message(topic: sample.topic, key: sample.key.map { Array($0.utf8) }, value: value, headers: headers))
            } catch {
                logger.warning("the dev feed could not produce a sample", metadata: ["topic": "\(sample.topic)", "error": "\(error)"])
            }
        }
    }

    /// Posts one round of samples; returns the status codes by adapter.
    func round(_ number: Int) async -> [String: [Int]] {
        var statuses: [String: [Int]] = [:]
        for sample in samples where !Task.isCancelled {
            let (headers, body) = Self.fresh(sample, round: number)
            var request = HTTPClientRequest(url: baseURL + sample.path)
            request.method = .POST
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let id = headers.first { ["webhook-id", "X-GitHub-Delivery", "X-Shopify-Webhook-Id"].contains($0.0) }?.1 ?? "r\(number)"
            for (name, value) in sample.signer.headers(body: body, id: id, now: Date()) {
                request.headers.replaceOrAdd(name: name, value: value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await http.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 20)
                statuses[sample.adapter, default: []].append(Int(response.status.code))
            } catch {
                logger.debug("the dev feed could not post", metadata: ["adapter": "\(sample.adapter)", "error": "\(error)"])
                statuses[sample.adapter, default: []].append(0)
            }
        }
        return statuses
    }

    /// The sample with its delivery ids made unique to the round: id headers get a suffix, and so do
    /// the body's top-level `id` / `event_id` (Stripe, Slack).
    static func fresh(_ sample: Sample, round: Int) -> ([(String, String)], [UInt8]) {
        let idHeaders: Set<String> = ["x-github-delivery", "x-shopify-webhook-id", "webhook-id"]
        let signatureHeaders: Set<String> = [
            "stripe-signature", "x-hub-signature-256", "x-shopify-hmac-sha256", "x-slack-signature",
            "x-slack-request-timestamp", "webhook-signature", "webhook-timestamp",
        ]
        var headers: [(String, String)] = []
        for (name, value) in sample.headers where !signatureHeaders.contains(name.lowercased()) {
            headers.append((name, idHeaders.contains(name.lowercased()) ? "\(value)-r\(round)" : value))
        }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        var body = sample.body
        if case .object(var object)? = try? JSONParser.parse(sample.body) {
            for key in ["id", "event_id"] {
                if let id = object[key]?.stringValue { object[key] = .string("\(id)-r\(round)") }
            }
            body = JSONWriter.bytes(.object(object))
        }
        return (headers, body)
    }
}
