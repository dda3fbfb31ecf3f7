import Foundation
import Testing

/// Runs the real `sluice map` on every sample event under `examples/` and compares its output with
/// the recorded plan. Set `UPDATE_GOLDEN=1` to record new plans after an intended change.
@Suite struct ExampleGoldenTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    struct Case: CustomTestStringConvertible, Sendable {
        var adapterFile: String
        var directory: URL
        var name: String
        var testDescription: String { "\(directory.lastPathComponent)/\(name)" }
    }

    static func cases() throws -> [Case] {
        let examples = repository.appendingPathComponent("examples")
        let adapterFiles = try FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent("adapters").path)
        var cases: [Case] = []
        for directoryName in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            let directory = examples.appendingPathComponent(directoryName)
            // Each examples/<adapter>/ belongs to the adapter file whose `adapter:` is that name.
            guard let adapterFile = adapterFiles.first(where: { file in
                let text = (try? String(contentsOf: repository.appendingPathComponent("adapters/" + file), encoding: .utf8)) ?? ""
                return text.contains("\nadapter: \(directoryName)\n")
            }) else { continue }
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            where file.hasSuffix(".json") && !file.hasSuffix(".plan.json") {
                cases.append(Case(adapterFile: "adapters/" + adapterFile, directory: directory, name: String(file.dropLast(5))))
            }
        }
        return cases
    }

    @Test func everyExampleDirectoryHasAnAdapterAndCases() throws {
        let cases = try Self.cases()
        let directories = Set(cases.map(\.directory.lastPathComponent))
        #expect(directories == ["stripe-orders", "github-deployments", "shopify-orders", "slack-events", "billing", "kafka.orders"])
        #expect(cases.count >= 12)
    }

    @Test(arguments: try cases())
    func mapProducesTheRecordedPlan(_ example: Case) throws {
        let base = example.directory.appendingPathComponent(example.name)
        let argumentsText = (try? String(contentsOf: base.appendingPathExtension("args"), encoding: .utf8)) ?? ""
        let extra = argumentsText.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let result = try SluiceProcess.run(
            ["map", "--adapter", example.adapterFile, "--event", base.appendingPathExtension("json").path] + extra,
            in: Self.repository)
        #expect(result.status == 0 || result.status == 1, "sluice map failed: \(result.standardError)")
        let expectedURL = example.directory.appendingPathComponent(example.name + ".plan.json")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try result.standardOutput.write(to: expectedURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(result.standardOutput == expected)
        let decision = expected.contains("\"decision\": \"plan\"") ? 0 : 1
        #expect(result.status == Int32(decision))
    }
}
