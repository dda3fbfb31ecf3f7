import Foundation
import SluiceCore
@testable import SluiceEngines
import SluiceTesting
import Testing

@Suite("Durable Workflow engine, bridge mode, against the fake over loopback HTTP")
struct DurableWorkflowBridgeTests {
    /// Checks method, path, the client's own headers (names, order, values) and the exact body bytes.
    func expectWire(_ request: RecordedRequest?, matches fixture: WireFixture, body expected: String) {
        guard let request else {
            Issue.record("no request recorded")
            return
        }
        #expect(request.method == fixture.method)
        #expect(request.uri == fixture.path)
        let sent = request.headers.map(\.name).filter { fixture.clientHeaders.contains($0) }
        #expect(sent == fixture.clientHeaders)
        for (name, value) in fixture.headers where fixture.clientHeaders.contains(name) && name != "Authorization" {
            #expect(request.header(name) == value, "header \(name)")
        }
        #expect(request.header("Authorization") == "Bearer " + operatorToken)
        #expect(request.bodyText == expected)
    }

    @Test("start, signal and update requests match the official client's (fixtures 07, 08, 09)")
    func wireConformance() async throws {
        try await withFake { fake, engine in
            fake.addWorkflow("order-1001", type: "orders.fulfillment")
            let start = EngineCommand(
                action: .startWorkflow,
                target: CommandTarget(
                    workflowType: "orders.fulfillment", taskQueue: "orders", businessKey: "order-1001",
                    duplicatePolicy: .useExisting),
                input: [["order_id": "order-1001"]],
                correlation: JSONObject([
                    .init(key: "provider", value: "stripe"), .init(key: "event_type", value: "checkout.session.completed"),
                ]), idempotencyKey: "evt_1001", requestID: "r1")
            let started = try await engine.execute(start, adapter: "stripe")
            let fixture07 = try WireFixture("07_bridge_start_workflow.json")
            // The official client forwards a dict as given; Sluice always sends an argument list.
            expectWire(
                fake.requests.last, matches: fixture07,
                body: fixture07.bodyRaw.replacingOccurrences(
                    of: #""input":{"order_id":"order-1001"}"#, with: #""input":[{"order_id":"order-1001"}]"#))
            #expect(started.kind == .accepted)
            #expect(started.workflowID == "bridge-stripe-" + String(Digest.sha256Hex("evt_1001").prefix(32)))

            let signal = EngineCommand(
                action: .signalWorkflow, target: CommandTarget(workflowID: "order-1001", signalName: "payment_received"),
                input: [["payment_id": "pay_123"]],
                correlation: JSONObject([
                    .init(key: "provider", value: "kafka"), .init(key: "topic", value: "orders"),
                    .init(key: "partition", value: 3), .init(key: "offset", value: 1042),
                ]), idempotencyKey: "orders-3-1042", requestID: "r2")
            let signalled = try await engine.execute(signal, adapter: "kafka.orders")
            let fixture08 = try WireFixture("08_bridge_signal_workflow.json")
            expectWire(fake.requests.last, matches: fixture08, body: fixture08.bodyRaw)
            #expect(signalled.kind == .accepted)
            #expect(signalled.controlPlaneOutcome == "signal_received")

            let update = EngineCommand(
                action: .updateWorkflow,
                target: CommandTarget(workflowID: "order-1001", updateName: "approve", waitFor: .accepted),
                input: [["approved": true]], idempotencyKey: "gh-delivery-77", requestID: "r3")
            let updated = try await engine.execute(update, adapter: "github")
            let fixture09 = try WireFixture("09_bridge_update_workflow.json")
            expectWire(
                fake.requests.last, matches: fixture09,
                body: fixture09.bodyRaw.replacingOccurrences(of: #""input":{"approved":true}"#, with: #""input":[{"approved":true}]"#))
            #expect(updated.kind == .accepted)
        }
    }

    @Test("a replayed start is a duplicate and changes nothing")
    func startDuplicate() async throws {
        try await withFake { fake, engine in
            let command = Commands.start(key: "evt-1", input: ["a"])
            let first = try await engine.execute(command, adapter: "shop")
            let second = try await engine.execute(command, adapter: "shop")
            #expect(first.kind == .accepted)
            #expect(first.controlPlaneOutcome == "started_new")
            #expect(second.kind == .duplicate)
            #expect(second.reason == .duplicateStart)
            #expect(second.runID == first.runID)
            #expect(fake.workflows.count == 1)
        }
    }

    @Test("reject_duplicate and closed runs are rejected with instance_already_started")
    func startRejected() async throws {
        try await withFake { fake, engine in
            _ = try await engine.execute(Commands.start(key: "k1", workflowID: "wf-a"), adapter: "shop")
            let strict = try await engine.execute(Commands.start(key: "k2", workflowID: "wf-a", policy: .rejectDuplicate), adapter: "shop")
            #expect(strict.kind == .rejected)
            #expect(strict.reason == .instanceAlreadyStarted)
            fake.closeWorkflow("wf-a")
            let closed = try await engine.execute(Commands.start(key: "k1", workflowID: "wf-a"), adapter: "shop")
            #expect(closed.kind == .rejected)
            #expect(closed.reason == .instanceAlreadyStarted)
        }
    }

    /// The engine reserves a workflow id for its durable type: a start (or the start of a signal-with-start) of another
    /// type under that id is refused (reference §4, a LogicException the bridge answers as `unknown_target`), and the
    /// signal is never sent. The fake answered a duplicate and delivered it.
    @Test("a start of another workflow type under a taken id is rejected, and signal-with-start sends no signal")
    func anotherTypeUnderATakenID() async throws {
        try await withFake { fake, engine in
            _ = try await engine.execute(Commands.start(key: "t1", workflowID: "wf-t"), adapter: "shop")
            let start = try await engine.execute(Commands.start(key: "t2", workflowID: "wf-t", type: "billing.invoice"), adapter: "shop")
            #expect(start.kind == .rejected)
            #expect(start.reason == .unknownTarget)
            let combined = try await engine.execute(
                Commands.signalWithStart(key: "t3", workflowID: "wf-t", type: "billing.invoice"), adapter: "shop")
            #expect(combined.kind == .rejected)
            #expect(fake.workflow("wf-t")?.signals.isEmpty == true)
        }
    }

    @Test("signals dedupe by (adapter, action, workflow, name, key); another name is not a duplicate")
    func signalDedupe() async throws {
        try await withFake { fake, engine in
            fake.addWorkflow("wf-s", type: "t")
            let first = try await engine.execute(Commands.signal(key: "e1", workflowID: "wf-s", input: [1]), adapter: "a")
            let replay = try await engine.execute(Commands.signal(key: "e1", workflowID: "wf-s", input: [1]), adapter: "a")
            let otherName = try await engine.execute(
                Commands.signal(key: "e1", workflowID: "wf-s", name: "other", input: [1]), adapter: "a")
            let otherAdapter = try await engine.execute(Commands.signal(key: "e1", workflowID: "wf-s", input: [1]), adapter: "b")
            #expect(first.kind == .accepted)
            #expect(replay.kind == .duplicate)
            #expect(replay.controlPlaneOutcome == "deduped_existing_command")
            #expect(otherName.kind == .accepted)
            #expect(otherAdapter.kind == .accepted)
            #expect(fake.workflow("wf-s")?.signals.count == 3)
        }
    }

    @Test("updates: accepted, completed, deduplicated")
    func updates() async throws {
        try await withFake { fake, engine in
            fake.addWorkflow("wf-u", type: "t")
            let accepted = try await engine.execute(Commands.update(key: "u1", workflowID: "wf-u"), adapter: "a")
            let completed = try await engine.execute(Commands.update(key: "u2", workflowID: "wf-u", waitFor: .completed), adapter: "a")
            let replay = try await engine.execute(Commands.update(key: "u2", workflowID: "wf-u", waitFor: .completed), adapter: "a")
            #expect(accepted.kind == .accepted)
            #expect(accepted.controlPlaneOutcome == nil)
            #expect(completed.kind == .accepted)
            #expect(completed.controlPlaneOutcome == "update_completed")
            #expect(replay.kind == .duplicate)
            #expect(fake.workflow("wf-u")?.updates.count == 2)
        }
    }

    @Test("signal-with-start: start then signal; a replay is a duplicate")
    func signalWithStart() async throws {
        try await withFake { fake, engine in
            let command = Commands.signalWithStart(key: "sws-1", workflowID: "wf-sws", input: [["n": 1]], startInput: ["init"])
            let first = try await engine.execute(command, adapter: "a")
            let replay = try await engine.execute(command, adapter: "a")
            #expect(first.kind == .accepted)
            #expect(first.action == "signal_with_start")
            #expect(first.extra["start_outcome"] == "accepted")
            #expect(replay.kind == .duplicate)
            #expect(fake.workflow("wf-sws")?.signals.count == 1)
            #expect(fake.workflow("wf-sws")?.input == ["init"])
            let bodies = fake.requests.compactMap { $0.json?["action"]?.stringValue }
            #expect(bodies == ["start_workflow", "signal_workflow", "start_workflow", "signal_workflow"])
        }
    }

    /// `sluice send` may leave the workflow id out: the start gets the id the server derives, and the signal
    /// must go to that workflow too.
    @Test("signal-with-start without a workflow id signals the workflow its start derived")
    func signalWithStartDerivesTheID() async throws {
        try await withFake { fake, engine in
            var command = Commands.signalWithStart(key: "sws-2", workflowID: "", input: [["n": 2]])
            command.target.workflowID = nil
            let outcome = try await engine.execute(command, adapter: "a")
            #expect(outcome.kind == .accepted, "\(outcome)")
            let derived = CompiledAdapter.derivedWorkflowID(adapter: "a", idempotencyKey: "sws-2")
            #expect(fake.workflow(derived)?.signals.count == 1)
        }
    }

    @Test("every rejection reason comes back as a rejected outcome, never as an error")
    func rejectionReasons() async throws {
        var configuration = DurableWorkflowFake.Configuration()
        configuration.unavailableAdapters = ["paused"]
        configuration.blockedWorkflowTypes = ["old.type"]
        configuration.drainingTaskQueues = ["draining"]
        try await withFake(configuration: configuration) { fake, engine in
            fake.addWorkflow("wf-closed", type: "t")
            fake.closeWorkflow("wf-closed")
            let cases: [(EngineCommand, String, OutcomeReason)] = [
                (Commands.signal(key: "x", workflowID: "nope"), "a", .unknownTarget),
                (Commands.start(key: "x", type: ""), "a", .malformedPayload),
                (Commands.start(key: "x", workflowID: "bad id!"), "a", .malformedPayload),
                (Commands.start(key: "x"), "bad adapter", .unsupportedRouting),
                (Commands.start(key: "x"), "paused", .adapterUnavailable),
                (Commands.start(key: "x", type: "old.type"), "a", .compatibilityBlocked),
                (Commands.start(key: "x", queue: "draining"), "a", .taskQueueDraining),
                (Commands.signal(key: "x", workflowID: "wf-closed"), "a", .runNotActive),
                (Commands.update(key: "x", workflowID: "nope"), "a", .unknownTarget),
            ]
            for (command, adapter, reason) in cases {
                let outcome = try await engine.execute(command, adapter: adapter)
                #expect(outcome.kind == .rejected, "\(reason)")
                #expect(outcome.reason == reason)
            }
        }
    }

    /// The server leaves `action` and `idempotency_key` out of a rejection it makes before reading the command, and
    /// writes an empty redacted target as PHP's `[]`: still the command's rejection, not an unreadable answer.
    @Test("a bridge rejection without action, key or target object is read as the request's rejection")
    func sparseRejection() throws {
        let body = #"{"schema":"durable-workflow.v2.bridge-adapter-outcome.contract","version":1,"adapter":"bad adapter","accepted":false,"outcome":"rejected","reason":"unsupported_routing","target":[]}"#
        let response = EngineHTTPResponse(status: 422, retryAfter: nil, body: Array(body.utf8))
        let sent = JSONObject([.init(key: "action", value: "start_workflow"), .init(key: "idempotency_key", value: "k-1")])
        let outcome = try DurableWorkflowEngine.bridgeOutcome(from: response, for: sent)
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == .unsupportedRouting)
        #expect(outcome.action == "start_workflow")
        #expect(outcome.idempotencyKey == "k-1")
    }

    @Test("readiness reads cluster info")
    func readiness() async throws {
        try await withFake { _, engine in
            try await engine.checkReadiness()
            let info = try await engine.clusterInfo()
            #expect(info["bridge_adapter_outcome_contract"]?["version"] == 1)
        }
    }
}
