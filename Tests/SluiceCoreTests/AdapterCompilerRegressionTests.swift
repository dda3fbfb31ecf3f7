import Foundation
import Testing

@testable import SluiceCore

/// Problems found by reading the documentation against the code, kept fixed.
@Suite struct AdapterCompilerRegressionTests {
    struct Values: ConfigValueSource {
        var environment: [String: String] = [:]
        func environment(_ name: String) -> String? { environment[name] }
        func file(_ path: String) throws -> String { throw CocoaError(.fileNoSuchFile) }
    }

    func compile(_ text: String, environment: [String: String] = [:]) -> (CompiledAdapter?, [Diagnostic]) {
        let compiler = AdapterCompiler(
            references: ConfigReferences(source: Values(environment: environment), resolution: .strict))
        let result = compiler.compile(text: text, file: "a.yaml")
        return (result.adapter, result.diagnostics)
    }

    func adapter(source: String, when: String = "{ event.type: x }") -> String {
        """
        adapter: a
        source:
        \(source)
        rules:
          - name: r
            when: \(when)
            do:
              - signal_workflow: { workflow_id: w, signal_name: s }
        """
    }

    @Test func aSigningSchemeWithAnEmptySecretListIsAnError() {
        let (adapter, diagnostics) = compile(adapter(source: "  webhook: { path: /a, verify: { scheme: stripe, secrets: [] } }"))
        #expect(adapter == nil)
        #expect(diagnostics.contains { $0.key == "source.webhook.verify.secrets" && $0.message.contains("needs at least one secret") })
    }

    @Test func aMisspeltEventFieldIsCaughtAtCompileTime() {
        let (adapter, diagnostics) = compile(adapter(source: "  webhook: { path: /a, verify: { scheme: none } }", when: "{ event.tpye: x }"))
        #expect(adapter == nil)
        #expect(diagnostics.contains { $0.message.contains("unknown field 'event.tpye' (did you mean 'type'?)") })
    }

    @Test func cloudEventExtensionsAreReadUnderExtensions() throws {
        let (compiled, diagnostics) = compile(adapter(source: "  kafka: { topics: [t] }", when: "{ event.extensions.tenant: acme }"))
        #expect(!diagnostics.hasErrors, "\(diagnostics)")
        let adapter = try #require(compiled)
        let record = EventOrigin.KafkaRecord(topic: "t", partition: 0, offset: 7)
        let headers: HeaderFields = ["ce_specversion": "1.0", "ce_id": "1", "ce_source": "/s", "ce_type": "x", "ce_tenant": "acme"]
        let event = try Event.kafka(record: record, headers: headers, value: Array("{}".utf8), receivedAt: Date())
        #expect(adapter.map(event).plan != nil)
    }

    @Test func anUnreadableSourceDoesNotProduceMisleadingSourceProblems() {
        let text = """
            adapter: a
            source:
              kafka: { topics: ["bad topic!"] }
            ordering: partition
            rules:
              - name: r
                do:
                  - signal_workflow: { workflow_id: w, signal_name: s }
            """
        let (_, diagnostics) = compile(text)
        #expect(diagnostics.contains { $0.message.contains("not a valid Kafka topic name") })
        #expect(!diagnostics.contains { $0.message.contains("applies to Kafka sources only") })
        #expect(!diagnostics.contains { $0.message.contains("no verify") })
    }

    @Test func anEscapedReferenceInASecretIsLiteral() throws {
        let (compiled, _) = compile(adapter(source: #"  webhook: { path: /a, verify: { scheme: github, secrets: ["$${env:X}", "${env:Y}"] } }"#), environment: ["Y": "why"])
        let adapter = try #require(compiled)
        guard case .webhook(let route) = adapter.source else { Issue.record("not a webhook"); return }
        #expect(route.verification.secrets.map(\.text) == ["${env:X}", "why"])
        #expect("\(route.verification.secrets[1])" == "<redacted>")
    }
}
