import Foundation
import Testing

@testable import SluiceCore

/// `Outcome.jsonText` writes the text directly; it must stay byte for byte what the tree writes (the
/// wire fixtures are checked in `OutcomeFixtureTests`).
@Suite("Outcome JSON text")
struct OutcomeJSONTextTests {
    @Test("the direct text equals the tree's text for 20,000 generated outcomes")
    func generated() throws {
        var generator = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            let outcome = Self.outcome(using: &generator)
            let text = outcome.jsonText
            let tree = JSONWriter.string(outcome.json)
            #expect(text == tree)
            #expect(outcome.jsonBytes == Array(text.utf8))
            guard text == tree else { break }  // one reported difference is enough
        }
    }

    @Test("the direct text reads back as the same outcome")
    func roundTrip() throws {
        var generator = SplitMix64(seed: 0x5EED_0002)
        for _ in 0..<2_000 {
            let outcome = Self.outcome(using: &generator, readable: true)
            let decoded = try Outcome(json: JSONParser.parse(outcome.jsonText))
            // Not `decoded == outcome`: times are written to the millisecond and durations to the microsecond.
            #expect(decoded.jsonText == outcome.jsonText)
        }
    }

    // MARK: - Generation

    /// A random outcome. `readable`: only what reads back as the same outcome (no NaN or infinity, which
    /// are written as `null`; times before 2100, as later ones carry more rounding error than the
    /// timestamp format's tolerance and can read back a millisecond early; no unknown members).
    static func outcome(using generator: inout SplitMix64, readable: Bool = false) -> Outcome {
        let kind = Outcome.Kind.allCases.randomElement(using: &generator)!
        let position: SourcePosition =
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: .kafka(topic: text(&generator), partition: .random(in: 0...Int32.max, using: &generator), offset: .random(in: 0...Int64.max, using: &generator))
            case 1: .inbox(id: .random(in: Int64.min...Int64.max, using: &generator))
            default: .none
            }
        let steps = (0..<Int.random(in: 0...3, using: &generator)).map { index in
            StepReport(
                id: "\(index)", action: text(&generator), requestID: text(&generator),
                status: StepReport.Status.allCases.randomElement(using: &generator)!, attempts: .random(in: 0...9, using: &generator),
                durationMilliseconds: [0, 1.23456, 250, -0.0, 1e20, .random(in: 0...10_000, using: &generator)].randomElement(using: &generator)!,
                outcome: Bool.random(using: &generator) ? Outcome.Kind.allCases.randomElement(using: &generator) : nil,
                reason: Bool.random(using: &generator) ? OutcomeReason(rawValue: text(&generator)) : nil,
                lastError: Bool.random(using: &generator) ? text(&generator) : nil)
        }
        let details = OutcomeDetails(
            eventID: text(&generator), eventType: Bool.random(using: &generator) ? text(&generator) : nil,
            sourcePosition: position, adapterVersion: .random(in: 0...1000, using: &generator),
            rule: Bool.random(using: &generator) ? text(&generator) : nil, attempts: .random(in: 0...20, using: &generator),
            steps: steps, receivedAt: Date(timeIntervalSince1970: .random(in: readable ? 0...4.1e9 : -1e9...3e11, using: &generator)),
            decidedAt: Date(timeIntervalSince1970: .random(in: 0...2e9, using: &generator)))
        return Outcome(
            adapter: text(&generator), action: text(&generator), idempotencyKey: text(&generator), kind: kind,
            reason: Bool.random(using: &generator) ? OutcomeReason(rawValue: text(&generator)) : nil,
            correlation: Bool.random(using: &generator) ? value(&generator, depth: 0, finite: readable) : nil,
            rejectionReason: Bool.random(using: &generator) ? text(&generator) : nil,
            message: Bool.random(using: &generator) ? text(&generator) : nil,
            target: Bool.random(using: &generator) ? members(&generator, depth: 1, finite: readable) : nil,
            workflowID: Bool.random(using: &generator) ? text(&generator) : nil,
            runID: Bool.random(using: &generator) ? text(&generator) : nil,
            workflowType: Bool.random(using: &generator) ? text(&generator) : nil,
            controlPlaneOutcome: Bool.random(using: &generator) ? text(&generator) : nil,
            extra: Bool.random(using: &generator) && !readable ? members(&generator, depth: 1) : JSONObject(),
            sluice: Bool.random(using: &generator) ? details : nil)
    }

    /// Text with the characters JSON must escape, non-ASCII and astral characters.
    static func text(_ generator: inout SplitMix64) -> String {
        let pieces = ["a", "order-1", "\"", "\\", "\n", "\t", "\u{0}", "\u{1F}", "é", "日本", "🙂", "/", " ", "{", "schema"]
        return (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
    }

    static func members(_ generator: inout SplitMix64, depth: Int, finite: Bool = false) -> JSONObject {
        JSONObject((0..<Int.random(in: 0...3, using: &generator)).map { _ in
            JSONObject.Member(key: text(&generator), value: value(&generator, depth: depth + 1, finite: finite))
        })
    }

    static func value(_ generator: inout SplitMix64, depth: Int, finite: Bool = false) -> JSONValue {
        switch Int.random(in: 0..<(depth > 2 ? 6 : 8), using: &generator) {
        case 0: .null
        case 1: .bool(.random(using: &generator))
        case 2: .int(.random(in: Int64.min...Int64.max, using: &generator))
        case 3: .double(((finite ? [] : [.nan, .infinity]) + [0.5, -0.0, 1e300, 3]).randomElement(using: &generator)!)
        case 4, 5: .string(text(&generator))
        case 6: .array((0..<Int.random(in: 0...3, using: &generator)).map { _ in value(&generator, depth: depth + 1, finite: finite) })
        default: .object(members(&generator, depth: depth, finite: finite))
        }
    }
}
