// Engine client benchmark: requests/s and latency of Sluice's engine clients, next to wrk on the same
// endpoint (driven by Benchmarks/run-engines.sh).
//
//   EngineBenchmarks serve [--port P]                 a minimal loopback bridge endpoint (canned 202 outcome)
//   EngineBenchmarks bridge --url U -c C -d SECONDS   DurableWorkflowEngine (bridge mode) against U
//   EngineBenchmarks temporal --url U -c C -d SECONDS TemporalEngine starts (unique workflow ids) against U
//   EngineBenchmarks ahc --url U -c C -d SECONDS      AsyncHTTPClient alone, configured as the engines' shared
//                                                     client, posting wrk_bridge.lua's request (no Sluice code)
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import SluiceCore
import SluiceEngines
import SluiceTesting

let arguments = CommandLine.arguments
// Swift concurrency runs on NIO's event loops (as a Sluice server would): no hop between the cooperative
// pool and the loop that owns the connection. `--hops` keeps the default executor, for comparison.
if !arguments.contains("--hops") {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

let mode = arguments.count > 1 ? arguments[1] : "help"
switch mode {
case "serve":
    try await serve(port: Int(option("--port", "0")) ?? 0)
case "ahc":
    let concurrency = Int(option("-c", "16")) ?? 16
    let seconds = Double(option("-d", "10")) ?? 10
    let url = option("--url", "http://127.0.0.1:18090") + "/api/bridge-adapters/webhook/bench"
    _ = await BareClientRun.run(url: url, concurrency: concurrency, seconds: 1)
    let result = await BareClientRun.run(url: url, concurrency: concurrency, seconds: seconds)
    print(result.summary(label: "ahc c=\(concurrency)"))
case "bridge", "temporal":
    let url = option("--url", "http://127.0.0.1:18090")
    let concurrency = Int(option("-c", "16")) ?? 16
    let seconds = Double(option("-d", "10")) ?? 10
    let http = EngineHTTPClient(maximumConnectionsPerHost: concurrency)
    let endpoint = EngineEndpoint(baseURL: url, token: Secret("bench-token"), timeout: .seconds(30))
    let engine: any WorkflowEngine =
        mode == "bridge"
        ? DurableWorkflowEngine(endpoint: endpoint, http: http) : TemporalEngine(endpoint: endpoint, http: http)
    let prefix = option("--prefix", String(UInt32.random(in: 0...UInt32.max), radix: 36))
    if mode == "bridge" {
        _ = await LoadRun.run(engine: engine, concurrency: concurrency, seconds: 1, prefix: prefix + "-warm")
    }
    let result = await LoadRun.run(engine: engine, concurrency: concurrency, seconds: seconds, prefix: prefix)
    print(result.summary(label: "\(mode) c=\(concurrency)"))
    try await http.shutdown()
default:
    print("usage: EngineBenchmarks serve [--port P] | bridge|temporal|ahc --url U -c C -d SECONDS")
}

/// Serves a canned bridge outcome until killed; prints the port.
func serve(port: Int) async throws {
    let outcome = JSONWriter.bytes(
        [
            "schema": "durable-workflow.v2.bridge-adapter-outcome.contract", "version": 1, "adapter": "bench",
            "action": "start_workflow", "idempotency_key": "k", "accepted": true, "outcome": "accepted",
            "target": ["workflow_type": "bench.Workflow", "workflow_id": "wf-1"], "workflow_id": "wf-1",
            "run_id": "01JRUN000000000000000000001", "workflow_type": "bench.Workflow", "control_plane_outcome": "started_new",
        ] as JSONValue)
    let response = ScriptedResponse(status: 202, headers: [("Content-Type", "application/json")], body: outcome)
    let server = try await LoopbackHTTPServer.start(port: port, recordingLimit: 0) { _ in response }
    FileHandle.standardOutput.write(Data("listening \(server.port)\n".utf8))
    while true { try await Task.sleep(for: .seconds(3600)) }
}

/// A closed-loop run: `concurrency` tasks each sending commands back to back until the time is up.
enum LoadRun {
    struct Result {
        var latencies: [Double]  // milliseconds
        var errors: Int
        var outcomes: [String: Int]
        var elapsed: Double

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let sorted = latencies.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }

        func summary(label: String) -> String {
            let rate = Double(latencies.count) / elapsed
            return String(
                format: "%@: %d calls in %.2f s = %.0f req/s; p50 %.3f ms, p90 %.3f ms, p99 %.3f ms; errors %d; outcomes %@",
                label, latencies.count, elapsed, rate, percentile(0.5), percentile(0.9), percentile(0.99), errors,
                outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        }
    }

    static func run(engine: any WorkflowEngine, concurrency: Int, seconds: Double, prefix: String) async -> Result {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let parts = await withTaskGroup(of: Result.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var result = Result(latencies: [], errors: 0, outcomes: [:], elapsed: 0)
                    var sequence = 0
                    while ContinuousClock.now < deadline {
                        sequence += 1
                        let key = "\(prefix)-\(worker)-\(sequence)"
                        let command = EngineCommand(
                            action: .startWorkflow,
                            target: CommandTarget(
                                workflowID: key, workflowType: "BenchWorkflow", taskQueue: "bench-q",
                                duplicatePolicy: .rejectDuplicate),
                            input: [["n": .int(Int64(sequence))]], idempotencyKey: key, requestID: key)
                        let began = ContinuousClock.now
                        do {
                            let outcome = try await engine.execute(command, adapter: "bench")
                            let took = ContinuousClock.now - began
                            result.latencies.append(Double(took.components.attoseconds) / 1e15 + Double(took.components.seconds) * 1000)
                            result.outcomes[outcome.kind.rawValue, default: 0] += 1
                        } catch {
                            result.errors += 1
                        }
                    }
                    return result
                }
            }
            var merged = Result(latencies: [], errors: 0, outcomes: [:], elapsed: 0)
            for await part in group {
                merged.latencies += part.latencies
                merged.errors += part.errors
                merged.outcomes.merge(part.outcomes, uniquingKeysWith: +)
            }
            return merged
        }
        var result = parts
        let elapsed = ContinuousClock.now - start
        result.elapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return result
    }
}
