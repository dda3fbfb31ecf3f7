import Foundation
import Testing

@testable import SluiceCore

/// Deterministic fuzzing of the three parsers that read untrusted or hand-written text: expressions,
/// adapter files and JSON. Each test counts its cases and checks the count, so that a loop that
/// silently stops early fails.
@Suite("Fuzz")
struct FuzzTests {
    // MARK: Expressions

    static let expressionSeeds = [
        "${body.a.b[0] | upper}", "order-${body.data.object.metadata.order_id}", "${body[\"a.b\"]['c d'][12]}",
        "${headers.X-GitHub-Event | lower | default(\"none\")}", "$${literal} and ${event.id}", "${kafka.topic}",
        "${kafka.partition}-${kafka.offset}", "${webhook.query.tenant | default(null)}", "${adapter.name}@${adapter.version}",
        "${body.x | default(1.5) | string | sha256}", "${event.extensions.partitionkey}", "${body | json}",
        "a${body.b}c${body.d}e", "${ body . x }", "${body.items[0].id | trim}", "plain text", "",
        "${event.type | default('x') | upper}", "${body.a | default(true)}", "${body[\"}\"]}", "${body['\\'']}",
    ]

    static let bareSeeds = [
        "body.a.b[0] | upper", "body[\"a.b\"]['c d'][12]", "headers.X-GitHub-Event | lower | default(\"none\")",
        "event.id", "kafka.topic", "webhook.query.tenant | default(null)", "adapter.version | string",
        "body.x | default(1.5) | string | sha256", "event.extensions.partitionkey", " body . items [ 0 ] . id | trim ",
        "body | json", "event.type | default('x') | upper", "body['\\'']",
    ]

    static let expressionAlphabet: [Unicode.Scalar] = Array(
        "${}[]|().,'\"\\ -_:0123456789abcdefghijklmnopqrstuvwxyzABCXYZ$${{}}||  \t\n".unicodeScalars)
        + ["é", "😀", "\u{0}", "\u{7F}", "\u{2028}", "\u{FEFF}", "日"]

    static func mutate(_ scalars: inout [Unicode.Scalar], _ rng: inout FuzzRandom, alphabet: [Unicode.Scalar]) {
        switch rng.below(7) {
        case 0:  // insert
            scalars.insert(rng.pick(alphabet), at: rng.below(scalars.count + 1))
        case 1:  // delete
            if !scalars.isEmpty { scalars.remove(at: rng.below(scalars.count)) }
        case 2:  // replace
            if !scalars.isEmpty { scalars[rng.below(scalars.count)] = rng.pick(alphabet) }
        case 3:  // duplicate a range
            if !scalars.isEmpty {
                let start = rng.below(scalars.count)
                let end = min(scalars.count, start + 1 + rng.below(8))
                scalars.insert(contentsOf: scalars[start..<end], at: rng.below(scalars.count + 1))
            }
        case 4:  // truncate
            if !scalars.isEmpty { scalars.removeLast(rng.below(scalars.count) + 1) }
        case 5:  // swap two
            if scalars.count > 1 { scalars.swapAt(rng.below(scalars.count), rng.below(scalars.count)) }
        default:  // splice in another seed
            let other = Array(rng.pick(expressionSeeds).unicodeScalars)
            scalars.insert(contentsOf: other, at: rng.below(scalars.count + 1))
        }
    }

    static func string(_ scalars: [Unicode.Scalar]) -> String {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }

    @Test("fuzz: 100,000 templates and 100,000 bare expressions never crash; failures are located ExpressionErrors")
    func expressions() async throws {
        var rng = FuzzRandom(seed: 0x5EED_0001)
        let context = CoreTestSupport.context(
            CoreTestSupport.event(
                body: ["a": ["b": ["x"]], "x": "y", "items": [["id": " i "]], "a.b": ["c d": [1]]],
                headers: ["X-GitHub-Event": "Push"]))
        let cases = 100_000
        var templates = 0
        var bare = 0
        var compiled = 0
        var parsed = 0
        var badOffsets: [String] = []  // and other broken properties
        var evaluated = 0
        for index in 0..<cases {
            // Let other tests' tasks run: this loop would otherwise hold a cooperative thread for seconds.
            if index % 256 == 0 { await Task.yield() }
            // A template: a mutated seed, or random text.
            var scalars: [Unicode.Scalar]
            if index % 4 == 0 {
                scalars = (0..<rng.below(40)).map { _ in rng.pick(Self.expressionAlphabet) }
            } else {
                scalars = Array(rng.pick(Self.expressionSeeds).unicodeScalars)
                for _ in 0...rng.below(4) { Self.mutate(&scalars, &rng, alphabet: Self.expressionAlphabet) }
            }
            let text = Self.string(scalars)
            do {
                let template = try Template.compile(text)
                compiled += 1
                if !text.contains("${"), template != .literal(.string(text)) {
                    badOffsets.append("\(text.debugDescription) is not its own literal")
                }
                do {
                    _ = try template.evaluate(in: context)
                    evaluated += 1
                } catch {
                    _ = error.description  // A MappingError, by type.
                }
            } catch {
                if error.offset < 0 || error.offset > scalars.count || error.message.isEmpty {
                    badOffsets.append("\(text.debugDescription): \(error.offset) \(error.message)")
                }
            }
            templates += 1

            // The inside of ${...} straight into the parser.
            var inner = Array(rng.pick(Self.bareSeeds).unicodeScalars)
            for _ in 0...rng.below(3) { Self.mutate(&inner, &rng, alphabet: Self.expressionAlphabet) }
            do {
                let expression = try ExpressionParser.parse(Self.string(inner), baseOffset: 3)
                parsed += 1
                _ = expression.description
                _ = context.resolve(expression)
            } catch {
                if error.offset < 3 || error.offset > inner.count + 3 {
                    badOffsets.append("bare \(Self.string(inner).debugDescription): \(error.offset) \(error.message)")
                }
            }
            bare += 1
        }
        #expect(templates == cases)
        #expect(bare == cases)
        #expect(badOffsets.isEmpty, "\(badOffsets.prefix(10))")
        // The corpus exercises both outcomes.
        #expect(compiled > cases / 10)
        #expect(compiled < cases)
        #expect(parsed > cases / 20)
        #expect(evaluated > 0)
    }

    // MARK: Adapter files

    static let kafkaAdapterText = """
        adapter: kafka.orders
        version: 1
        source:
          kafka: { topics: [orders.events], group: sluice-orders, dead_letter_topic: orders.events.dlq }
        engine: primary
        boundary: { mode: pull-only, max_in_flight: 128, max_queued: 5000, cancellation_budget: 3s }
        ordering: partition
        idempotency_key: "${event.source}/${event.id}"
        rules:
          - name: shipped
            when: { event.type: com.example.order.shipped, body.carrier: { exists: true } }
            do:
              - id: sws
                signal_with_start:
                  workflow_type: orders.fulfillment
                  workflow_id: "order-${event.subject}"
                  signal_name: shipped
                  input: [{ carrier: "${body.carrier}", at: "${event.time | default(null)}" }]
                  start_input: [{ order_id: "${event.subject}", by: "${adapter.name}" }]
              - needs: [sws]
                update_workflow: { workflow_id: "order-${event.subject}", update_name: track, wait_for: completed, wait_timeout: 30s }
          - name: delivered
            when: { event.type: { prefix: com.example.order.deliv } }
            do:
              - signal_workflow: { workflow_id: "order-${event.subject}", signal_name: delivered, input: ["${body}"] }
        unmatched: dead_letter

        """

    static let yamlTokens = [
        "adapter:", "version:", "source:", "webhook:", "kafka:", "rules:", "- name: x", "do:", "when:", "- start_workflow:",
        "workflow_type: t", "workflow_id: \"${body.id}\"", "needs: [1]", "id: a", "engine: primary", "ordering: partition",
        "{", "}", "[", "]", ":", "- ", "  ", "\t", "\"", "'", "#", "&anchor", "*anchor", "!!str", "---", "...", "|", ">",
        "${", "}", "${env:STRIPE_WEBHOOK_SECRET}", "${env:MISSING}", "${file:/nope}", "null", "~", "true", "0", "-1",
        "99999999999999999999", "1.5", "5m", "5 minutes", "é", "😀", "\u{0}", "? complex", "<<: *a", "%YAML 1.2",
        "exists: true", "prefix: [a]", "any_of: [1]", "equals: {a: 1}", "input: [\"${body}\"]", "\"${bdy.x | lowr}\"",
    ]

    static func mutateYAML(_ lines: inout [String], _ rng: inout FuzzRandom) {
        guard !lines.isEmpty else {
            lines.append(rng.pick(yamlTokens))
            return
        }
        let index = rng.below(lines.count)
        switch rng.below(8) {
        case 0: lines.remove(at: index)
        case 1: lines.insert(lines[index], at: rng.below(lines.count + 1))
        case 2: lines.swapAt(index, rng.below(lines.count))
        case 3:  // insert characters
            var scalars = Array(lines[index].unicodeScalars)
            for _ in 0...rng.below(3) {
                scalars.insert(rng.pick(expressionAlphabet), at: rng.below(scalars.count + 1))
            }
            lines[index] = string(scalars)
        case 4:  // change indentation
            if rng.chance(50) {
                lines[index] = String(repeating: " ", count: 1 + rng.below(4)) + lines[index]
            } else {
                lines[index] = String(lines[index].drop { $0 == " " })
                if rng.chance(30) { lines[index] = String(repeating: " ", count: rng.below(3)) + lines[index] }
            }
        case 5:  // insert a token line or a token inside a line
            if rng.chance(50) {
                lines.insert(String(repeating: " ", count: rng.below(8)) + rng.pick(yamlTokens), at: rng.below(lines.count + 1))
            } else {
                var line = lines[index]
                let offset = line.index(line.startIndex, offsetBy: rng.below(line.count + 1))
                line.insert(contentsOf: rng.pick(yamlTokens), at: offset)
                lines[index] = line
            }
        case 6:  // cut a line short
            let line = lines[index]
            lines[index] = String(line.prefix(rng.below(line.count + 1)))
        default:  // replace a value after ':'
            if let colon = lines[index].firstIndex(of: ":") {
                lines[index] = String(lines[index][...colon]) + " " + rng.pick(yamlTokens)
            }
        }
    }

    /// Lines as YAML counts them: it breaks lines at LF, CR (CRLF once), NEL, LS and PS.
    static func lineCount(_ text: String) -> Int {
        var count = 1
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": if previous != "\r" { count += 1 }
            case "\r", "\u{85}", "\u{2028}", "\u{2029}": count += 1
            default: break
            }
            previous = scalar
        }
        return count
    }

    static let yamlFuzzSecret = "whsec_FUZZ-SECRET-91c2e"

    /// YAML parsing dominates: a debug build reads about 3,500 mutated adapter files a second on one
    /// core, so the 100,000 cases run as four batches of 25,000 with their own seeds, in parallel.
    @Test(
        "fuzz: 100,000 mutated adapter files (4 × 25,000) never crash; diagnostics are located and never hold the secret",
        arguments: 0..<4)
    func adapterFiles(batch: UInt64) async throws {
        var rng = FuzzRandom(seed: 0x5EED_0002 &+ batch &* 0x9E37_79B9)
        let seeds = [stripeAdapterText, Self.kafkaAdapterText, minimalAdapter()].map { $0.components(separatedBy: "\n") }
        let lenient = CoreTestSupport.compiler(env: ["STRIPE_WEBHOOK_SECRET": Self.yamlFuzzSecret], engines: ["primary"])
        let strict = CoreTestSupport.compiler(env: ["STRIPE_WEBHOOK_SECRET": Self.yamlFuzzSecret], strict: true)
        let event = CoreTestSupport.event(
            type: "checkout.session.completed",
            body: ["data": ["object": ["metadata": ["order_id": "1"], "payment_status": "paid", "amount_total": 1]]])
        let cases = 25_000
        var count = 0
        var compiled = 0
        var rejected = 0
        var problems: [String] = []
        for index in 0..<cases {
            // Let other tests' tasks run: this loop would otherwise hold a cooperative thread for seconds.
            if index % 256 == 0 { await Task.yield() }
            var lines = rng.pick(seeds)
            for _ in 0...rng.below(3) { Self.mutateYAML(&lines, &rng) }
            let text = lines.joined(separator: "\n")
            let compiler = index % 5 == 0 ? strict : lenient
            let (adapter, diagnostics) = compiler.compile(text: text, file: "fuzz.yaml")

            count += 1
            for diagnostic in diagnostics {
                if diagnostic.line < 1 || diagnostic.column < 1
                    || (diagnostic.line > lines.count + 1 && diagnostic.line > Self.lineCount(text) + 1)
                    || diagnostic.file != "fuzz.yaml" || diagnostic.message.isEmpty
                    || diagnostic.description.contains(Self.yamlFuzzSecret)
                {
                    problems.append("\(diagnostic) (\(Self.lineCount(text)) lines) in\n\(text.debugDescription)")
                }
            }
            if let adapter {
                compiled += 1
                if diagnostics.hasErrors { problems.append("compiled despite errors: \(diagnostics)") }
                _ = adapter.map(event, now: CoreTestSupport.receivedAt)
            } else {
                rejected += 1
                if !diagnostics.hasErrors { problems.append("no adapter and no error:\n\(text)") }
            }
            if problems.count > 20 { break }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5).joined(separator: "\n---\n"))")
        #expect(count == cases)
        #expect(compiled > 0)
        #expect(rejected > cases / 4)
    }

    // MARK: JSON

    static let jsonSeeds = [
        #"{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"amount":4200,"ok":true,"none":null}}}"#,
        #"[1,-0,2.5e-3,1E+2,-9223372036854775808,9223372036854775808,"\u00e9\ud83d\ude00\n\"\\\/"]"#,
        #"{"a":[{"b":[[],{}]}],"c":"é😀","d":-0.0,"e":1e308}"#,
        #"  "just a string"  "#, "0", "true", "null", "[]", "{}",
        #"{"schema":"durable-workflow.v2.bridge-adapter-outcome.contract","version":1,"adapter":"stripe"}"#,
    ]

    static let jsonAlphabet: [UInt8] = Array(#"{}[]",:0123456789.eE+-\/ubfnrt aluxs"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF, 0x0A, 0x09]

    @Test("fuzz: 100,000 random and mutated byte strings parse or fail at an offset; what parses round-trips")
    func json() async throws {
        var rng = FuzzRandom(seed: 0x5EED_0003)
        let seeds = Self.jsonSeeds.map { Array($0.utf8) }
        let cases = 100_000
        var count = 0
        var parsedCount = 0
        var problems: [String] = []
        for index in 0..<cases {
            // Let other tests' tasks run: this loop would otherwise hold a cooperative thread for seconds.
            if index % 256 == 0 { await Task.yield() }
            var bytes: [UInt8]
            switch index % 5 {
            case 0:
                bytes = (0..<rng.below(24)).map { _ in rng.chance(70) ? rng.pick(Self.jsonAlphabet) : UInt8(truncatingIfNeeded: rng.next()) }
            case 1:  // nesting around a seed, now and then right at the depth limit
                let depth = rng.chance(2) ? JSONParser.maximumDepth - 3 + rng.below(6) : rng.below(12)
                bytes = Array(repeating: UInt8(ascii: "["), count: depth) + rng.pick(seeds)
                    + Array(repeating: UInt8(ascii: "]"), count: max(0, depth - (rng.chance(20) ? 1 : 0)))
            default:
                bytes = rng.pick(seeds)
                for _ in 0...rng.below(4) {
                    switch rng.below(5) {
                    case 0: bytes.insert(rng.pick(Self.jsonAlphabet), at: rng.below(bytes.count + 1))
                    case 1: if !bytes.isEmpty { bytes.remove(at: rng.below(bytes.count)) }
                    case 2: if !bytes.isEmpty { bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                    case 3: if !bytes.isEmpty { bytes.removeLast(rng.below(bytes.count) + 1) }
                    default:
                        if !bytes.isEmpty {
                            let start = rng.below(bytes.count)
                            let end = min(bytes.count, start + 1 + rng.below(10))
                            bytes.insert(contentsOf: bytes[start..<end], at: rng.below(bytes.count + 1))
                        }
                    }
                }
            }
            count += 1
            do {
                let value = try JSONParser.parse(bytes)
                parsedCount += 1
                let written = JSONWriter.string(value)
                do {
                    let reparsed = try JSONParser.parse(written)
                    if reparsed != value || JSONWriter.string(reparsed) != written {
                        problems.append("round trip changed \(bytes) → \(written)")
                    }
                } catch {
                    problems.append("written JSON does not parse: \(written): \(error)")
                }
                // Pretty output costs depth² in indentation: check it on shallow documents only.
                if index % 5 != 1, index % 8 == 0 {
                    let pretty = JSONWriter.prettyString(value)
                    if (try? JSONParser.parse(pretty)) != value { problems.append("pretty output does not read back: \(pretty)") }
                }
            } catch {
                if error.offset < 0 || error.offset > bytes.count || error.message.isEmpty {
                    problems.append("bad error \(error) for \(bytes)")
                }
            }
            if problems.count > 20 { break }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(count == cases)
        #expect(parsedCount > cases / 20)
        #expect(parsedCount < cases)
    }
}
