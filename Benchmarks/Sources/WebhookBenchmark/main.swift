// Webhook benchmark: `serve` runs Sluice's webhook route (GitHub-style HMAC verification, the SQLite
// inbox) on loopback; `load` is an open-loop, constant-rate load generator that measures each
// request's latency from its *intended* send time, so that a slow server cannot hide its queueing
// (no coordinated omission). See Benchmarks/run-webhooks.sh and Benchmarks/results/webhooks.md.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: String) -> String {
    guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

switch arguments.first {
case "serve":
    try await BenchServer.run(
        port: Int(option("port", "18080"))!, ledgerPath: option("ledger", "/tmp/sluice-webhook-bench.sqlite"),
        discard: option("sink", "inbox") == "none", bare: arguments.contains("--bare"))
case "route-cost":
    try await RouteCost.run(
        iterations: Int(option("iterations", "200000"))!, concurrency: Int(option("concurrency", "1"))!,
        ledgerPath: arguments.contains("--ledger") ? option("ledger", "") : nil)
case "load":
    let result = try LoadGenerator(
        port: Int(option("port", "18080"))!, path: option("path", "/webhooks/bench"),
        rate: Double(option("rate", "1000"))!, duration: Double(option("duration", "10"))!,
        connections: Int(option("connections", "64"))!, warmup: Double(option("warmup", "2"))!
    ).run()
    print(result.json)
default:
    print("usage: WebhookBenchmark serve [--port P] [--ledger PATH] [--sink inbox|none] [--bare] | load --port P --rate R --duration S --connections C | route-cost [--iterations N] [--concurrency C] [--ledger PATH]")
    exit(2)
}
