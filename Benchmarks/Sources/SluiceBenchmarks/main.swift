import Foundation
import SluiceApp
import SluiceCore

// Mapping throughput, release build, one core: a 2 KB Stripe event through normalisation (JSON
// parse, convention detection), mapping (rule match, templates) and encoding of the bridge request
// bodies. Baseline in the same run: Foundation's JSONSerialization parsing the same bytes, which is
// the least any JSON-reading bridge must do per event.

/// Runs `body` repeatedly for about `seconds` and returns operations per second (best of 3 rounds).
func measure(_ name: String, seconds: Double = 2.0, _ body: () -> Int) -> Double {
    var best = 0.0
    for _ in 0..<3 {
        let clock = ContinuousClock()
        let start = clock.now
        var operations = 0
        var checksum = 0
        while (clock.now - start).secondsDouble < seconds {
            for _ in 0..<1000 { checksum &+= body() }
            operations += 1000
        }
        let elapsed = (clock.now - start).secondsDouble
        best = max(best, Double(operations) / elapsed)
        if checksum == 42 { print("") }  // keeps the work observable
    }
    print("  \(name): \(Int(best)) ops/s")
    return best
}

let adapterText = try String(contentsOf: URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "adapters/stripe-orders.yaml"), encoding: .utf8)
struct NoValues: ConfigValueSource {
    func environment(_ name: String) -> String? { "benchmark-secret" }
    func file(_ path: String) throws -> String { "" }
}
let compiler = AdapterCompiler(references: ConfigReferences(source: NoValues(), resolution: .lenient))
guard let adapter = compiler.compile(text: adapterText, file: "stripe-orders.yaml").adapter else {
    fatalError("the benchmark adapter does not compile")
}
let body = Array(stripeEvent2KB.utf8)
let headers: HeaderFields = ["Content-Type": "application/json", "Stripe-Signature": "t=1730000000,v1=00"]
let request = EventOrigin.WebhookRequest(path: "/webhooks/stripe")
let received = Date()

// Sanity: the event maps to a one-step plan.
let sample = try Event.webhook(source: "/webhooks/stripe", request: request, headers: headers, body: body, receivedAt: received)
guard case .plan(let plan) = adapter.map(sample, now: received), plan.steps.count == 1 else { fatalError("no plan") }

print("Mapping benchmark: \(body.count)-byte Stripe event, one core, release build")
let baseline = measure("baseline: JSONSerialization parse") {
    let data = Data(body)
    let object = try! JSONSerialization.jsonObject(with: data)
    return (object as? [String: Any])?.count ?? 0
}
let parseOnly = measure("sluice: JSON parse only") {
    (try? JSONParser.parse(body)).map { $0["id"] == nil ? 0 : 1 } ?? 0
}
let mapping = measure("sluice: normalise + map") {
    let event = try! Event.webhook(source: "/webhooks/stripe", request: request, headers: headers, body: body, receivedAt: received)
    guard case .plan(let plan) = adapter.map(event, now: received) else { return 0 }
    return plan.steps.count
}
let mappingAndEncoding = measure("sluice: normalise + map + encode bridge requests") {
    let event = try! Event.webhook(source: "/webhooks/stripe", request: request, headers: headers, body: body, receivedAt: received)
    guard case .plan(let plan) = adapter.map(event, now: received) else { return 0 }
    var bytes = 0
    for step in plan.steps {
        for bridgeRequest in BridgeRequest.requests(for: step.command, adapter: adapter.name) {
            bytes += JSONWriter.bytes(.object(bridgeRequest.body)).count
        }
    }
    return bytes
}

// Encoding the outcome the ledger stores for every event (about 1 KB): written directly, built as
// a JSONValue tree and then written, and Foundation's JSONSerialization writing the same outcome from
// an already built dictionary (serialisation only: the least a Foundation-based ledger must do).
print("")
print("Outcome encoding benchmark: the ledger's ~1 KB outcome, one core, release build")
let outcome = sampleOutcome(plan: plan, received: received)
let foundationObject = try JSONSerialization.jsonObject(with: Data(outcome.jsonBytes))
let encodingBaseline = measure("baseline: JSONSerialization.data of the outcome's dictionary") {
    (try? JSONSerialization.data(withJSONObject: foundationObject))?.count ?? 0
}
let treeEncoding = measure("sluice: outcome as a JSONValue tree, then written") { JSONWriter.bytes(outcome.json).count }
let directEncoding = measure("sluice: outcome written directly (Outcome.jsonBytes)") { outcome.jsonBytes.count }

func row(_ name: String, _ rate: Double, against base: Double = baseline) -> String {
    "| \(name) | \(Int(rate).formatted()) | \(String(format: "%.2f", rate / base))× |"
}
let table = """
    | stage (2 KB Stripe event, 1 core) | events/s | vs JSONSerialization parse |
    | --- | ---: | ---: |
    \(row("baseline: Foundation JSONSerialization parse only", baseline))
    \(row("Sluice JSON parse only", parseOnly))
    \(row("Sluice normalise + map (plan)", mapping))
    \(row("Sluice normalise + map + encode bridge request", mappingAndEncoding))

    | outcome encoding (\(outcome.jsonBytes.count) bytes, 1 core) | outcomes/s | vs JSONSerialization |
    | --- | ---: | ---: |
    \(row("baseline: Foundation JSONSerialization.data (dictionary built beforehand)", encodingBaseline, against: encodingBaseline))
    \(row("Sluice JSONValue tree, then written (before)", treeEncoding, against: encodingBaseline))
    \(row("Sluice written directly (`Outcome.jsonBytes`)", directEncoding, against: encodingBaseline))
    """
print("")
print(table)
