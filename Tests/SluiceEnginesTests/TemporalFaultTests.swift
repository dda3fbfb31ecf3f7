import SluiceCore
import SluiceEngines
import SluiceTesting
import Synchronization
import Testing

@Suite("Temporal engine: error mapping against scripted answers")
struct TemporalFaultTests {
    /// Runs `body` against a server that answers with `script`, one answer per request, in order.
    /// The requests are appended to `received` when given.
    func withScript(
        _ script: [ScriptedResponse], timeout: Duration = .seconds(5), received: RequestLog? = nil,
        _ body: (TemporalEngine) async throws -> Void
    ) async throws {
        let queue = Mutex(script)
        let server = try await LoopbackHTTPServer.start { request in
            received?.requests.withLock { $0.append(request) }
            return queue.withLock { $0.isEmpty ? .text(500, "script exhausted") : $0.removeFirst() }
        }
        let engine = TemporalEngine(
            endpoint: EngineEndpoint(baseURL: server.baseURL, token: Secret("temporal-secret-42"), timeout: timeout),
            http: sharedHTTP)
        do {
            try await body(engine)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static let notFound = ScriptedResponse.json(
        404, ["code": 5, "message": "workflow not found for ID: x", "details": [["@type": "type.googleapis.com/temporal.api.errordetails.v1.NotFoundFailure"]]])

    @Test("ResourceExhausted with Retry-After, Unavailable, Internal are retryable")
    func retryable() async throws {
        try await withScript([
            .json(429, ["code": 8, "message": "namespace rate limit exceeded"], headers: [("Retry-After", "2")]),
            .json(503, ["code": 14, "message": "service unavailable"]),
            .json(500, ["code": 13, "message": "internal"]),
            .text(502, "<html>bad gateway</html>", contentType: "text/html"),
        ]) { engine in
            let limited = await engineError { _ = try await engine.execute(Commands.start(key: "a", workflowID: "w"), adapter: "a") }
            #expect(limited?.kind == .retryable)
            #expect(limited?.reason == "rate_limited")
            #expect(limited?.retryAfter == .seconds(2))
            for reason in ["unavailable", "server_error", "unavailable"] {
                let error = await engineError { _ = try await engine.execute(Commands.signal(key: "b", workflowID: "w"), adapter: "a") }
                #expect(error?.kind == .retryable)
                #expect(error?.reason == reason)
            }
        }
    }

    @Test("InvalidArgument is a malformed_payload rejection; an unknown namespace and auth failures are fatal")
    func rejectionsAndFatal() async throws {
        try await withScript([
            Self.notFound,
            .json(400, ["code": 3, "message": "WorkflowType is not set on request."]),
            .json(404, ["code": 5, "message": "Namespace x is not found.", "details": [["@type": "type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure"]]]),
            .json(401, ["code": 16, "message": "unauthenticated"]),
            .json(403, ["code": 7, "message": "permission denied"]),
            // An authenticating proxy in front of Temporal: its code is the HTTP status, not a gRPC one.
            .json(401, ["code": 401, "message": "Unauthorized"]),
        ]) { engine in
            let invalid = try await engine.execute(Commands.start(key: "a", workflowID: "w", type: ""), adapter: "a")
            #expect(invalid.kind == .rejected)
            #expect(invalid.reason == .malformedPayload)
            #expect(invalid.message == "WorkflowType is not set on request.")
            for reason in ["configuration", "unauthorized", "forbidden", "unauthorized"] {
                let error = await engineError { _ = try await engine.execute(Commands.signal(key: "b", workflowID: "w"), adapter: "a") }
                #expect(error?.kind == .fatal)
                #expect(error?.reason == reason)
                #expect(error?.description.contains("temporal-secret-42") == false)
            }
        }
    }

    /// The gateway's route miss (no `NotFoundFailure` detail, as measured in peers-notes) is a wrong URL, not an
    /// unknown workflow; a workflow whose task keeps failing (`WorkflowNotReadyFailure`) is not ready yet, not
    /// closed. A closed run is `NotFound` (Server 1.32, measured); a `FailedPrecondition` without a known detail
    /// (a paused workflow, measured) is retried, never recorded as `run_not_active`.
    @Test("a route miss is fatal configuration; WorkflowNotReady and a paused workflow are retryable; a closed run is run_not_active")
    func routeMissAndPreconditions() async throws {
        let errordetails = "type.googleapis.com/temporal.api.errordetails.v1."
        let notFound: JSONValue = [["@type": .string(errordetails + "NotFoundFailure")]]
        try await withScript([
            .json(404, ["code": 5, "message": "Not Found"]),
            .json(400, ["code": 9, "message": "workflow is not ready", "details": [["@type": .string(errordetails + "WorkflowNotReadyFailure")]]]),
            .json(404, ["code": 5, "message": "workflow execution already completed", "details": notFound]),
            .json(404, ["code": 5, "message": "workflow update was aborted by closing workflow", "details": notFound]),
            .json(400, ["code": 9, "message": "Workflow is paused. Cannot update the workflow."]),
            .json(400, ["code": 9, "message": "namespace is deprecated", "details": [["@type": .string(errordetails + "NamespaceInvalidStateFailure")]]]),
            .json(400, ["code": 9, "message": "client too old", "details": [["@type": .string(errordetails + "ClientVersionNotSupportedFailure")]]]),
        ]) { engine in
            let miss = await engineError { _ = try await engine.execute(Commands.signal(key: "a", workflowID: "w"), adapter: "a") }
            #expect(miss?.kind == .fatal)
            #expect(miss?.reason == "configuration")
            let notReady = await engineError { _ = try await engine.execute(Commands.signal(key: "b", workflowID: "w"), adapter: "a") }
            #expect(notReady?.kind == .retryable)
            #expect(notReady?.reason == "not_ready")
            let closed = try await engine.execute(Commands.signal(key: "c", workflowID: "w"), adapter: "a")
            #expect(closed.kind == .rejected)
            #expect(closed.reason == .runNotActive)
            let aborted = try await engine.execute(Commands.update(key: "c2", workflowID: "w"), adapter: "a")
            #expect(aborted.kind == .rejected)
            #expect(aborted.reason == .runNotActive)
            let paused = await engineError { _ = try await engine.execute(Commands.update(key: "c3", workflowID: "w"), adapter: "a") }
            #expect(paused?.kind == .retryable)
            #expect(paused?.reason == "precondition_failed")
            // The namespace's or the client's precondition stops the engine; it is no event's rejection.
            for key in ["d", "e"] {
                let setup = await engineError { _ = try await engine.execute(Commands.signal(key: key, workflowID: "w"), adapter: "a") }
                #expect(setup?.kind == .fatal)
                #expect(setup?.reason == "configuration")
            }
        }
    }

    /// Temporal's gateway splits a path on an escaped `/` too and answers its route miss (measured), which would stop
    /// the engine: a signal or update name holding one is the event's rejection, and nothing is sent.
    @Test("a signal or update name with a slash is rejected malformed_payload without a request")
    func slashInAName() async throws {
        let received = RequestLog()
        try await withScript([], received: received) { engine in
            try await expectNamesWithASlashRefused(by: engine, workflowID: "w")
        }
        #expect(received.requests.withLock { $0.isEmpty })
    }

    /// A server that lists no request ids refuses a retried signal-with-start whose first attempt started the
    /// workflow, now closed, naming this command's request id: a duplicate (its signal came with that start), not
    /// `instance_already_started`. Another request id stays a rejection.
    @Test("a signal-with-start refused under its own request id is a duplicate")
    func signalWithStartRefusedUnderItsOwnRequestID() async throws {
        let command = Commands.signalWithStart(key: "sws", workflowID: "w", type: "T", queue: "q")
        let errordetails = "type.googleapis.com/temporal.api.errordetails.v1."
        let missing = ScriptedResponse.json(404, ["code": 5, "message": "workflow not found", "details": [["@type": .string(errordetails + "NotFoundFailure")]]])
        func refused(_ requestID: String) -> ScriptedResponse {
            .json(409, [
                "code": 6, "message": "Workflow execution already finished successfully.",
                "details": [["@type": .string(errordetails + "WorkflowExecutionAlreadyStartedFailure"), "startRequestId": .string(requestID), "runId": "r-1"]],
            ])
        }
        try await withScript([missing, refused(command.requestID), missing, refused("someone-else")]) { engine in
            let own = try await engine.execute(command, adapter: "a")
            #expect(own.kind == .duplicate)
            #expect(own.runID == "r-1")
            #expect(own.extra["start_outcome"] == "duplicate")
            let foreign = try await engine.execute(command, adapter: "a")
            #expect(foreign.kind == .rejected)
            #expect(foreign.reason == .instanceAlreadyStarted)
        }
    }

    @Test("an update held without a worker (ADMITTED) is retryable; bad bodies are classified")
    func updates() async throws {
        try await withScript([
            .json(200, ["updateRef": ["updateId": "u"], "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED"]),
            .text(200, "{\"updateRef\":"),
            ScriptedResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array(#"{"outcome":{"success":[1]}}"#.utf8), delivery: .truncated(bytes: 10)),
        ]) { engine in
            let admitted = await engineError { _ = try await engine.execute(Commands.update(key: "u", workflowID: "w"), adapter: "a") }
            #expect(admitted?.kind == .retryable)
            #expect(admitted?.reason == "update_not_accepted")
            let cut = await engineError { _ = try await engine.execute(Commands.update(key: "u", workflowID: "w"), adapter: "a") }
            #expect(cut?.kind == .retryable)
            #expect(cut?.reason == "malformed_response")
            let truncated = await engineError { _ = try await engine.execute(Commands.update(key: "u", workflowID: "w"), adapter: "a") }
            #expect(truncated?.kind == .retryable)
            #expect(truncated?.reason == "malformed_response")
        }
    }

    @Test("an update that asked for COMPLETED and came back ACCEPTED is accepted and marked wait_timed_out")
    func updateNotCompleted() async throws {
        let accepted = ScriptedResponse.json(
            200, ["updateRef": ["updateId": "u", "workflowExecution": ["runId": "r"]], "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED"])
        try await withScript([accepted, accepted]) { engine in
            let waited = try await engine.execute(Commands.update(key: "u", workflowID: "w", waitFor: .completed), adapter: "a")
            #expect(waited.kind == .accepted)
            #expect(waited.extra["wait_timed_out"] == true)
            let answered = try await engine.execute(Commands.update(key: "u", workflowID: "w", waitFor: .accepted), adapter: "a")
            #expect(answered.kind == .accepted)
            #expect(answered.extra["wait_timed_out"] == nil)
        }
    }

    /// The requests a scripted server received.
    final class RequestLog: Sendable {
        let requests = Mutex<[RecordedRequest]>([])
    }

    static func waitingUpdate(waitTimeout: Duration) -> EngineCommand {
        var command = Commands.update(key: "u", workflowID: "w", waitFor: .completed)
        command.target.waitTimeout = waitTimeout
        return command
    }

    /// The update ids of the requests, in order.
    static func updateIDs(_ requests: [RecordedRequest]) -> [String?] {
        requests.map { request in
            guard case .object(let body) = try? JSONParser.parse(request.body) else { return nil }
            return body["request"]?["meta"]?["updateId"]?.stringValue
        }
    }

    @Test("an update waiting for COMPLETED is asked again, with the same id, when Temporal's long poll ends first")
    func updateWaitsForCompletionWithinItsTimeout() async throws {
        let accepted = ScriptedResponse.json(
            200, ["updateRef": ["updateId": "req-u", "workflowExecution": ["runId": "r"]], "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED"])
        let completed = ScriptedResponse.json(
            200, ["updateRef": ["updateId": "req-u", "workflowExecution": ["runId": "r"]], "outcome": ["success": [["count": 2]]],
                  "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"])
        let received = RequestLog()
        try await withScript([accepted, completed], received: received) { engine in
            let outcome = try await engine.execute(Self.waitingUpdate(waitTimeout: .seconds(30)), adapter: "a")
            #expect(outcome.kind == .accepted)
            #expect(outcome.controlPlaneOutcome == "update_completed")
            #expect(outcome.extra["wait_timed_out"] == nil)
        }
        #expect(Self.updateIDs(received.requests.withLock { $0 }) == ["req-u", "req-u"])
    }

    @Test("an update still only accepted when its wait_timeout is over is accepted and marked wait_timed_out")
    func updateWaitEndsAtItsTimeout() async throws {
        let accepted = ScriptedResponse.json(
            200, ["updateRef": ["updateId": "req-u", "workflowExecution": ["runId": "r"]], "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED"])
        let received = RequestLog()
        let started = ContinuousClock.now
        try await withScript(Array(repeating: accepted, count: 10), received: received) { engine in
            let outcome = try await engine.execute(Self.waitingUpdate(waitTimeout: .seconds(2)), adapter: "a")
            #expect(outcome.kind == .accepted)
            #expect(outcome.extra["wait_timed_out"] == true)
        }
        let elapsed = ContinuousClock.now - started
        // Asked at once, then about once a second (answers that quick are not asked again in a tight loop) until
        // 2 s: three calls (two if a call is slow enough to take the first second).
        let ids = Self.updateIDs(received.requests.withLock { $0 })
        #expect((2...3).contains(ids.count), "\(ids.count) calls")
        #expect(ids.allSatisfy { $0 == "req-u" })
        #expect(elapsed >= .seconds(2))
    }

    @Test("an update waits out Temporal's hold of about 20 s, past the engine's timeout; other calls do not")
    func updatesOutlastTheTimeout() async throws {
        var held = ScriptedResponse.json(200, ["updateRef": ["updateId": "u"], "stage": "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED"])
        held.delay = .milliseconds(1_500)
        var slowSignal = ScriptedResponse.json(200, [:])
        slowSignal.delay = .milliseconds(1_500)
        try await withScript([held, slowSignal], timeout: .seconds(1)) { engine in
            // The server's own answer, not a timeout: no worker took the update yet.
            let admitted = await engineError { _ = try await engine.execute(Commands.update(key: "u", workflowID: "w"), adapter: "a") }
            #expect(admitted?.reason == "update_not_accepted")
            let signal = await engineError { _ = try await engine.execute(Commands.signal(key: "s", workflowID: "w"), adapter: "a") }
            #expect(signal?.kind == .retryable)
            #expect(signal?.reason == "timeout", "\(String(describing: signal))")
        }
    }

    @Test("a 409 naming this command's own request id is a duplicate; a foreign one is rejected")
    func alreadyStarted() async throws {
        func conflict(_ requestID: String) -> ScriptedResponse {
            .json(409, [
                "code": 6, "message": "Workflow execution is already running.",
                "details": [["@type": "type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure", "startRequestId": .string(requestID), "runId": "run-1"]],
            ])
        }
        try await withScript([Self.notFound, conflict("req-a"), Self.notFound, conflict("someone-else")]) { engine in
            let own = try await engine.execute(Commands.start(key: "a", workflowID: "w", policy: .rejectDuplicate), adapter: "x")
            #expect(own.kind == .duplicate)
            #expect(own.runID == "run-1")
            let foreign = try await engine.execute(Commands.start(key: "a", workflowID: "w", policy: .rejectDuplicate), adapter: "x")
            #expect(foreign.kind == .rejected)
            #expect(foreign.reason == .instanceAlreadyStarted)
        }
    }

    /// A server that lists no `requestIdInfos` cannot tell from its description whether this command started the run:
    /// the start is sent, and Temporal's answer (its own run again, or a conflict naming another request id) decides.
    @Test("a description without requestIdInfos does not decide a start under reject_duplicate; the start's answer does")
    func describeWithoutRequestIDs() async throws {
        let running = ScriptedResponse.json(200, [
            "workflowExecutionInfo": ["execution": ["workflowId": "w", "runId": "run-1"], "status": "WORKFLOW_EXECUTION_STATUS_RUNNING"],
        ])
        let closed = ScriptedResponse.json(200, [
            "workflowExecutionInfo": ["execution": ["workflowId": "w", "runId": "run-1"], "status": "WORKFLOW_EXECUTION_STATUS_COMPLETED"],
        ])
        let conflict = ScriptedResponse.json(409, [
            "code": 6, "message": "Workflow execution is already running.",
            "details": [["@type": "type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure", "startRequestId": "someone-else", "runId": "run-1"]],
        ])
        let ownRun = ScriptedResponse.json(200, ["runId": "run-1", "started": true])
        try await withScript([running, ownRun, running, conflict, closed, ownRun]) { engine in
            let own = try await engine.execute(Commands.start(key: "a", workflowID: "w", policy: .rejectDuplicate), adapter: "x")
            #expect(own.kind == .duplicate, "Temporal gave back the run this request id started")
            #expect(own.reason == .duplicateStart)
            let foreign = try await engine.execute(Commands.start(key: "b", workflowID: "w", policy: .rejectDuplicate), adapter: "x")
            #expect(foreign.kind == .rejected)
            #expect(foreign.reason == .instanceAlreadyStarted)
            let afterClose = try await engine.execute(Commands.start(key: "a", workflowID: "w"), adapter: "x")
            #expect(afterClose.kind == .duplicate)
        }
    }
}
