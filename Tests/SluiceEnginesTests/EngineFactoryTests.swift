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

    /// A secret written with `echo` ends with a newline: trimmed. A token that still holds a character no
    /// HTTP header can carry is refused at start-up, without quoting it: every request would fail, and the
    /// HTTP client's error would quote the header.
    @Test("a token is trimmed, and one no header can carry is a configuration error that does not quote it")
    func tokenCharacters() throws {
        let spec = try #require(SluiceConfigSpec.read(yaml, file: "sluice.yaml").spec)
        let trimmed = try EngineFactory.makeEngines(
            spec, references: ConfigReferences(source: Environment(values: ["DW_TOKEN": " s3cr3t\n"]), resolution: .strict),
            http: sharedHTTP)
        #expect((trimmed["dw"] as? DurableWorkflowEngine)?.endpoint.token?.text == "s3cr3t")
        for bad in ["s3c\nr3t", "s3c r3t", "s3c\u{7F}r3t", "s3cré"] {
            let references = ConfigReferences(source: Environment(values: ["DW_TOKEN": bad]), resolution: .strict)
            #expect {
                _ = try EngineFactory.makeEngines(spec, references: references, http: sharedHTTP)
            } throws: { error in
                guard let error = error as? EngineError else { return false }
                return error.kind == .fatal && error.detail.contains("engines.dw.token") && !error.detail.contains("s3c")
            }
        }
    }

    /// Past the factory (an endpoint built by hand), a header the HTTP client refuses is a fatal error whose
    /// detail does not quote the header: the client's own description would print the token.
    @Test("a refused header is fatal and its value is not quoted")
    func refusedHeader() async throws {
        let engine = DurableWorkflowEngine(
            endpoint: EngineEndpoint(baseURL: "http://127.0.0.1:9", token: Secret("tok\r\nX-Evil: 1")), http: sharedHTTP)
        let command = EngineCommand(
            action: .startWorkflow, target: CommandTarget(workflowType: "t"), idempotencyKey: "k", requestID: "r")
        do {
            _ = try await engine.execute(command, adapter: "a")
            Issue.record("the request was sent")
        } catch {
            #expect(error.kind == .fatal, "\(error)")
            #expect(!"\(error)".contains("tok"), "\(error)")
        }
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
