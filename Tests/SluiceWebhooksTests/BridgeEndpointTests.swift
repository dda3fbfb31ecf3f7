import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceCore
import SluiceTesting
import SluiceWebhooks
import Testing

/// The bridge endpoint through the real router, with the official client's recorded requests.
@Suite struct BridgeEndpointTests {
    static let token = "bridge-test-token"

    struct Wire: Decodable {
        var path: String
        var bodyRaw: String
        var headers: [[String]]
    }

    static func wire(_ name: String) throws -> Wire {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/durable-workflow-wire"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Wire.self, from: Data(contentsOf: url))
    }

    /// The recorded headers, with the redacted token replaced.
    static func headers(_ wire: Wire, token: String = token) -> HTTPFields {
        var fields = HTTPFields()
        for pair in wire.headers where !["host", "content-length", "connection"].contains(pair[0].lowercased()) {
            let value = pair[0] == "Authorization" ? "Bearer \(token)" : pair[1]
            fields.append(HTTPField(name: HTTPField.Name(pair[0])!, value: value))
        }
        return fields
    }

    static func app(_ executors: [String: any BridgeExecutor]) -> some ApplicationProtocol {
        let router = Router()
        BridgeEndpoint(tokens: [Secret("old-token"), Secret(token)], executors: executors).register(on: router)
        return Application(router: router)
    }

    @Test func startIsAcceptedThenADuplicateFromTheLedger() async throws {
        let ledger = InMemoryLedger()
        let executor = LedgerBridgeExecutor(ledger: ledger)
        let wire = try Self.wire("07_bridge_start_workflow")
        try await Self.app(["stripe": executor]).test(.router) { client in
            let first = try await client.execute(
                uri: wire.path, method: .post, headers: Self.headers(wire), body: ByteBuffer(string: wire.bodyRaw))
            #expect(first.status == .accepted)
            let accepted = try Outcome(json: try RouteTestSupport.json(first))
            #expect(accepted.kind == .accepted)
            #expect(accepted.adapter == "stripe")
            #expect(accepted.workflowID == "bridge-stripe-" + Digest.sha256Hex("evt_1001").prefix(32))
            #expect(accepted.correlation?["event_type"]?.stringValue == "checkout.session.completed")
            let again = try await client.execute(
                uri: wire.path, method: .post, headers: Self.headers(wire), body: ByteBuffer(string: wire.bodyRaw))
            #expect(again.status == .ok)
            let duplicate = try Outcome(json: try RouteTestSupport.json(again))
            #expect(duplicate.kind == .duplicate)
            #expect(duplicate.reason == .duplicateStart)
            #expect(duplicate.workflowID == accepted.workflowID)
        }
        let plan = try #require(executor.plans.first)
        #expect(plan.steps.count == 1)
        #expect(plan.steps[0].command.input == [.string("order-1001")])
        #expect(plan.steps[0].command.target.duplicatePolicy == .useExisting)
    }

    @Test(arguments: ["08_bridge_signal_workflow", "09_bridge_update_workflow"])
    func signalAndUpdateAreAccepted(name: String) async throws {
        let wire = try Self.wire(name)
        let adapter = String(wire.path.split(separator: "/").last!)
        let executor = LedgerBridgeExecutor(ledger: InMemoryLedger())
        try await Self.app([adapter: executor]).test(.router) { client in
            let response = try await client.execute(
                uri: wire.path, method: .post, headers: Self.headers(wire), body: ByteBuffer(string: wire.bodyRaw))
            #expect(response.status == .accepted)
        }
        #expect(executor.plans.first?.steps.first?.command.target.workflowID == "order-1001")
    }

    @Test func unsupportedActionIs422WithTheEnginesReason() async throws {
        let wire = try Self.wire("10_bridge_rejected_422")
        let executor = LedgerBridgeExecutor(ledger: InMemoryLedger())
        try await Self.app(["github": executor]).test(.router) { client in
            let response = try await client.execute(
                uri: wire.path, method: .post, headers: Self.headers(wire), body: ByteBuffer(string: wire.bodyRaw))
            #expect(response.status == .unprocessableContent)
            let outcome = try Outcome(json: try RouteTestSupport.json(response))
            #expect(outcome.reason == .unsupportedAction)
            #expect(outcome.idempotencyKey == "gh-delivery-78")
        }
        #expect(executor.plans.isEmpty)
    }

    @Test func requestProblemsAnswerAsTheEngineDoes() async throws {
        let wire = try Self.wire("07_bridge_start_workflow")
        let executor = LedgerBridgeExecutor(ledger: InMemoryLedger())
        try await Self.app(["stripe": executor]).test(.router) { client in
            func send(_ headers: HTTPFields, _ body: String = wire.bodyRaw, path: String = wire.path) async throws
                -> (HTTPResponse.Status, JSONValue?)
            {
                let response = try await client.execute(
                    uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
                return (response.status, try? RouteTestSupport.json(response))
            }
            var headers = Self.headers(wire, token: "nope")
            var (status, json) = try await send(headers)
            #expect(status == .unauthorized)
            #expect(json?["reason"]?.stringValue == "unauthorized")
            headers = Self.headers(wire)
            headers[.authorization] = nil
            #expect(try await send(headers).0 == .unauthorized)
            headers = Self.headers(wire)
            headers[BridgeEndpoint.versionHeader] = nil
            (status, json) = try await send(headers)
            #expect(status == .badRequest)
            #expect(json?["reason"]?.stringValue == "missing_control_plane_version")
            headers[BridgeEndpoint.versionHeader] = "1"
            (status, json) = try await send(headers)
            #expect(json?["reason"]?.stringValue == "unsupported_control_plane_version")
            headers = Self.headers(wire)
            headers[.contentType] = "text/plain"
            #expect(try await send(headers).0 == .unsupportedMediaType)
            (status, json) = try await send(Self.headers(wire), "{not json")
            #expect(status == .badRequest)
            #expect(json?["reason"]?.stringValue == "malformed_json")
            (status, json) = try await send(Self.headers(wire), String(repeating: " ", count: (2 << 20) + 1))
            #expect(status == .contentTooLarge)
            (status, json) = try await send(Self.headers(wire), path: "/api/bridge-adapters/webhook/nobody")
            #expect(status == .unprocessableContent)
            #expect(json?["reason"]?.stringValue == "unsupported_routing")
            for body in [
                #"{"action":"start_workflow","target":{"workflow_type":"t"}}"#,
                #"{"action":"start_workflow","idempotency_key":"k","target":{}}"#,
                #"{"action":"start_workflow","idempotency_key":"k","target":{"workflow_type":"t","workflow_id":"a b"}}"#,
                #"{"action":"start_workflow","idempotency_key":"k","target":{"workflow_type":"t","duplicate_policy":"reject"}}"#,
                #"{"action":"signal_workflow","idempotency_key":"k","target":{"workflow_id":"w"}}"#,
                #"{"action":"update_workflow","idempotency_key":"k","target":{"workflow_id":"w","update_name":"u","wait_for":"never"}}"#,
                #"{"action":"start_workflow","idempotency_key":"k","target":{"workflow_type":"t"},"input":5}"#,
                #"{"action":"start_workflow","idempotency_key":"k","target":"t"}"#,
                #"[1,2]"#,
                // NUL (U+0000), which a shared ledger cannot store: refused once, not unavailable at every retry.
                #"{"action":"start_workflow","idempotency_key":"a\u0000b","target":{"workflow_type":"t"}}"#,
                #"{"action":"signal_workflow","idempotency_key":"k","target":{"workflow_id":"w\u0000","signal_name":"s"}}"#,
                #"{"action":"update_workflow","idempotency_key":"k","target":{"workflow_id":"w","update_name":"u\u0000"}}"#,
            ] {
                (status, json) = try await send(Self.headers(wire), body)
                #expect(status == .unprocessableContent, "\(body)")
                #expect(json?["reason"]?.stringValue == "malformed_payload", "\(body)")
            }
        }
        #expect(executor.plans.isEmpty)
    }

    @Test func saturationTimeoutAndUnavailabilityCarryRetryAfter() async throws {
        let wire = try Self.wire("07_bridge_start_workflow")
        let ledger = InMemoryLedger()
        let executors: [String: any BridgeExecutor] = [
            "busy": LedgerBridgeExecutor(ledger: ledger, mode: .saturated),
            "slow": LedgerBridgeExecutor(ledger: ledger, mode: .timedOut),
            "down": LedgerBridgeExecutor(ledger: ledger, mode: .unavailable),
        ]
        try await Self.app(executors).test(.router) { client in
            for (adapter, status, retryAfter) in [
                ("busy", HTTPResponse.Status.tooManyRequests, "2"), ("slow", .serviceUnavailable, "1"),
                ("down", .serviceUnavailable, "1"),
            ] {
                let response = try await client.execute(
                    uri: "/api/bridge-adapters/webhook/\(adapter)", method: .post, headers: Self.headers(wire),
                    body: ByteBuffer(string: wire.bodyRaw))
                #expect(response.status == status, "\(adapter)")
                #expect(response.headers[.retryAfter] == retryAfter, "\(adapter)")
                #expect(try RouteTestSupport.json(response)["retryable"] == .bool(true))
            }
        }
        #expect(try await ledger.outcomes(OutcomeQuery()).isEmpty)
    }
}
