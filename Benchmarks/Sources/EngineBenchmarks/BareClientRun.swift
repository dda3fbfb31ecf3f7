import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
@_spi(Benchmarks) import SluiceEngines

/// The ceiling under the engine client: AsyncHTTPClient alone, with the engines' shared client's own
/// configuration (`EngineHTTPClient.configuration`), posting the request of `wrk_bridge.lua` with a
/// per-call deadline and reading the whole answer, with no Sluice code around it.
enum BareClientRun {
    static let body = ByteBuffer(
        string: #"{"action":"start_workflow","idempotency_key":"bench-0-1","target":{"workflow_type":"BenchWorkflow","workflow_id":"bench-0-1","task_queue":"bench-q","duplicate_policy":"reject_duplicate"},"input":[{"n":1}]}"#
    )

    static func run(url: String, concurrency: Int, seconds: Double) async -> LoadRun.Result {
        let configuration = EngineHTTPClient.configuration(maximumConnectionsPerHost: concurrency)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        var merged = LoadRun.Result(latencies: [], errors: 0, outcomes: [:], elapsed: 0)
        await withTaskGroup(of: LoadRun.Result.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var result = LoadRun.Result(latencies: [], errors: 0, outcomes: [:], elapsed: 0)
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "Accept", value: "application/json")
                        request.headers.add(name: "Authorization", value: "Bearer bench-token")
                        request.headers.add(name: "X-Namespace", value: "default")
                        request.headers.add(name: "X-Durable-Workflow-Control-Plane-Version", value: "2")
                        request.body = .bytes(body)
                        let began = ContinuousClock.now
                        do {
                            let response = try await client.execute(request, deadline: .now() + .seconds(30))
                            _ = try await response.body.collect(upTo: 4 * 1024 * 1024)
                            let took = ContinuousClock.now - began
                            result.latencies.append(
                                Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
                            result.outcomes["\(response.status.code)", default: 0] += 1
                        } catch {
                            result.errors += 1
                        }
                    }
                    return result
                }
            }
            for await part in group {
                merged.latencies += part.latencies
                merged.errors += part.errors
                merged.outcomes.merge(part.outcomes, uniquingKeysWith: +)
            }
        }
        let elapsed = ContinuousClock.now - start
        try? await client.shutdown()
        merged.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return merged
    }
}
