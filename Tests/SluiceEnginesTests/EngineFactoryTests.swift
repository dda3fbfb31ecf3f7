import SluiceCore
import SluiceEngines
import Testing

@Suite("Engine factory")
struct EngineFactoryTests {
    struct Environment: ConfigValueSource {
        var values: [String: String]
        func environment(_ name: String) -> String? { values[name] }
        func file(_ path: String) throws -> String { throw CocoaLikeError() }
        struct CocoaLikeError: Error {}
    }

    let yaml = """
        engines:
          dw:
            type: durable-workflow
            url: http://127.0.0.1:9/
            namespace: orders
            token: ${env:DW_TOKEN}
            mode: control-plane
            timeout: 3s
          tmp:
            type: temporal
            url: http://127.0.0.1:7243
        """

    @Test("builds each engine type with its mode, namespace, resolved token and timeout")
    func builds() throws {
        let spec = try #require(SluiceConfigSpec.read(yaml, file: "sluice.yaml").spec)
        let references = ConfigReferences(source: Environment(values: ["DW_TOKEN": "s3cr3t"]), resolution: .strict)
        let engines = try EngineFactory.makeEngines(spec, references: references, http: sharedHTTP)
        let dw = try #require(engines["dw"] as? DurableWorkflowEngine)
        #expect(dw.mode == .controlPlane)
        #expect(dw.endpoint.baseURL == "http://127.0.0.1:9")
        #expect(dw.endpoint.namespace == "orders")
        #expect(dw.endpoint.token?.text == "s3cr3t")
        #expect(dw.endpoint.timeout == .seconds(3))
        #expect("\(dw.endpoint)".contains("s3cr3t") == false)
        #expect(engines["tmp"] is TemporalEngine)
    }

    @Test("a missing token variable is a fatal configuration error that names the variable")
    func missingToken() throws {
        let spec = try #require(SluiceConfigSpec.read(yaml, file: "sluice.yaml").spec)
        let references = ConfigReferences(source: Environment(values: [:]), resolution: .strict)
        #expect {
            _ = try EngineFactory.makeEngines(spec, references: references, http: sharedHTTP)
        } throws: { error in
            guard let error = error as? EngineError else { return false }
            return error.kind == .fatal && error.detail.contains("DW_TOKEN") && error.detail.contains("engines.dw.token")
        }
    }
}
