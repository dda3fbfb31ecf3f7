import SluiceCore
import SluiceEngines
import SluiceTesting
import Testing

@Suite("Durable Workflow engine, control-plane mode, against the fake")
struct DurableWorkflowControlPlaneTests {
    @Test("start: 201 accepted, 200 duplicate under use-existing, 409 rejected under fail")
    func start() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            let command = Commands.start(key: "k1", workflowID: "order-1", input: ["order-1", ["amount_cents": 4200]])
            let first = try await engine.execute(command, adapter: "shop")
            #expect(first.kind == .accepted)
            #expect(first.controlPlaneOutcome == "started_new")
            #expect(first.workflowType == "orders.fulfillment")
            let request = try #require(fake.requests.last)
            #expect(request.uri == "/api/workflows")
            #expect(
                request.bodyText
                    == #"{"workflow_id":"order-1","workflow_type":"orders.fulfillment","task_queue":"orders","input":["order-1",{"amount_cents":4200}],"duplicate_policy":"use-existing"}"#
            )
            let replay = try await engine.execute(command, adapter: "shop")
            #expect(replay.kind == .duplicate)
            #expect(replay.reason == .duplicateStart)
            #expect(replay.runID == first.runID)
            let strict = try await engine.execute(Commands.start(key: "k2", workflowID: "order-1", policy: .rejectDuplicate), adapter: "shop")
            #expect(strict.kind == .rejected)
            #expect(strict.reason == .instanceAlreadyStarted)
            #expect(fake.requests.last?.json?["duplicate_policy"] == "fail")
        }
    }

    /// A start carries no request id, so one sent again after its answer was lost finds its own run: under `fail`
    /// the server refuses it. When the id is the one Sluice derives from the key, only this key's start made it:
    /// a duplicate, not a rejection that would skip the steps after it. A templated id stays a rejection.
    @Test("a start refused as already started is this key's duplicate when its workflow id is derived from the key")
    func aDerivedStartFoundStartedIsADuplicate() async throws {
        try await withFake(mode: .controlPlane) { _, engine in
            for key in ["k3", "k4#2"] {
                let derived = CompiledAdapter.derivedWorkflowID(adapter: "shop", idempotencyKey: key.split(separator: "#")[0].description)
                let command = Commands.start(key: key, workflowID: derived, policy: .rejectDuplicate)
                #expect(try await engine.execute(command, adapter: "shop").kind == .accepted)
                let again = try await engine.execute(command, adapter: "shop")
                #expect(again.kind == .duplicate, "\(key)")
                #expect(again.reason == .duplicateStart)
            }
            // Another key's derived id is not this key's.
            let foreign = Commands.start(
                key: "k5", workflowID: CompiledAdapter.derivedWorkflowID(adapter: "shop", idempotencyKey: "k3"), policy: .rejectDuplicate)
            let refused = try await engine.execute(foreign, adapter: "shop")
            #expect(refused.kind == .rejected)
            #expect(refused.reason == .instanceAlreadyStarted)
        }
    }

    @Test("signal and update carry request_id; updates dedupe by it; unknown workflows are unknown_target")
    func signalAndUpdate() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.addWorkflow("order-1", type: "t")
            let signal = try await engine.execute(Commands.signal(key: "s1", workflowID: "order-1", input: [["p": 1]]), adapter: "a")
            #expect(signal.kind == .accepted)
            #expect(fake.requests.last?.uri == "/api/workflows/order-1/signal/payment_received")
            #expect(fake.requests.last?.bodyText == #"{"input":[{"p":1}],"request_id":"req-s1"}"#)

            let update = Commands.update(key: "u1", workflowID: "order-1", waitFor: .completed, input: [true])
            let first = try await engine.execute(update, adapter: "a")
            #expect(fake.requests.last?.bodyText == #"{"input":[true],"wait_for":"completed","request_id":"req-u1"}"#)
            let replay = try await engine.execute(update, adapter: "a")
            #expect(first.kind == .accepted)
            #expect(first.controlPlaneOutcome == "update_completed")
            #expect(replay.kind == .accepted)
            #expect(fake.workflow("order-1")?.updates.count == 1)

            let unknown = try await engine.execute(Commands.signal(key: "s2", workflowID: "missing"), adapter: "a")
            #expect(unknown.kind == .rejected)
            #expect(unknown.reason == .unknownTarget)
            fake.closeWorkflow("order-1")
            let closed = try await engine.execute(Commands.signal(key: "s3", workflowID: "order-1"), adapter: "a")
            #expect(closed.reason == .runNotActive)
        }
    }

    @Test("signal-with-start is a use-existing start then a signal")
    func signalWithStart() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            let outcome = try await engine.execute(
                Commands.signalWithStart(key: "k", workflowID: "wf-1", input: [1], startInput: [0]), adapter: "a")
            #expect(outcome.kind == .accepted)
            #expect(fake.requests.map(\.uri) == ["/api/workflows", "/api/workflows/wf-1/signal/payment_received"])
            #expect(fake.workflow("wf-1")?.signals.count == 1)
        }
    }

    @Test("describe and readiness")
    func describe() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.addWorkflow("wf-d", type: "t")
            let described = try await engine.describe(workflowID: "wf-d")
            #expect(described?["status"] == "running")
            let missing = try await engine.describe(workflowID: "nope")
            #expect(missing == nil)
            try await engine.checkReadiness()
        }
    }

    /// The server's start answers `503 external_payload_storage_unavailable` in the control plane's shape:
    /// a failure to retry (with its `Retry-After`), not the engine's decision to reject the command.
    @Test("a control-plane-shaped 503 or 429 is a retryable error, not a rejection")
    func overloadedServer() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.inject([
                .controlPlaneError(503, reason: "external_payload_storage_unavailable", retryAfter: "7"),
                .controlPlaneError(429, reason: "rate_limited"),
            ])
            for status in [503, 429] {
                let error = await engineError { _ = try await engine.execute(Commands.start(key: "k", workflowID: "o"), adapter: "a") }
                #expect(error?.kind == .retryable, "\(String(describing: error))")
                #expect(error?.statusCode == status)
                if status == 503 { #expect(error?.retryAfter == .seconds(7)) }
            }
            let answered = try await engine.execute(Commands.start(key: "k", workflowID: "o"), adapter: "a")
            #expect(answered.kind == .accepted)
        }
    }

    /// An update that waits on the server for longer than the engine's timeout gets its wait (plus a margin)
    /// as its deadline: cut off at the timeout, its retry would find the update already received and read
    /// `duplicate` instead of the update's result.
    @Test("an update waiting on the server is given its wait_timeout, not the engine's timeout")
    func updateWaitOutlastsTheTimeout() async throws {
        for mode in [DurableWorkflowEngine.Mode.controlPlane, .bridge] {
            try await withFake(mode: mode, timeout: .seconds(1)) { fake, engine in
                fake.addWorkflow("order-1", type: "t")
                fake.inject([.delay(.milliseconds(1_500))])
                var update = Commands.update(key: "u-wait", workflowID: "order-1", waitFor: .completed)
                update.target.waitTimeout = .seconds(2)
                let answered = try await engine.execute(update, adapter: "a")
                #expect(answered.kind == .accepted, "\(mode)")
                #expect(fake.requests.count == 1, "\(mode): one call, not a timeout and a retry")
                // Other calls keep the engine's timeout.
                fake.inject([.delay(.milliseconds(1_500))])
                let error = await engineError {
                    _ = try await engine.execute(Commands.signal(key: "s-wait", workflowID: "order-1"), adapter: "a")
                }
                #expect(error?.reason == "timeout", "\(mode)")
            }
        }
    }

    /// Only accepted is known when the server's wait ends first: the outcome says so rather than claiming completion.
    @Test("an update that asked for completed and is answered while only accepted is accepted, marked wait_timed_out")
    func updateNotCompletedIsMarked() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.addWorkflow("order-1", type: "t")
            fake.inject([.updateWaitTimesOut])
            let update = Commands.update(key: "u-slow", workflowID: "order-1", waitFor: .completed)
            let waited = try await engine.execute(update, adapter: "a")
            #expect(waited.kind == .accepted)
            #expect(waited.extra["wait_timed_out"] == true)
            #expect(waited.controlPlaneOutcome == nil)
            let completed = try await engine.execute(Commands.update(key: "u-fast", workflowID: "order-1", waitFor: .completed), adapter: "a")
            #expect(completed.extra["wait_timed_out"] == nil)
            #expect(completed.controlPlaneOutcome == "update_completed")
            // An update that asked only for accepted is not marked.
            fake.inject([.updateWaitTimesOut])
            let accepted = try await engine.execute(Commands.update(key: "u-acc", workflowID: "order-1"), adapter: "a")
            #expect(accepted.kind == .accepted)
            #expect(accepted.extra["wait_timed_out"] == nil)
        }
    }

    /// A retry reads the real answer of a start (the workflow id deduplicates it), but would deliver a signal twice.
    @Test("an unreadable 2xx is retried for a start, not for a signal or an update, which the server does not deduplicate")
    func unreadableAnswers() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.inject([.partialJSON])
            let start = await engineError { _ = try await engine.execute(Commands.start(key: "s", workflowID: "order-9"), adapter: "a") }
            #expect(start?.kind == .retryable)
            #expect(start?.reason == "malformed_response")
            fake.inject([.partialJSON])
            let signal = await engineError { _ = try await engine.execute(Commands.signal(key: "g", workflowID: "order-9"), adapter: "a") }
            #expect(signal?.kind == .nonRetryable)
            #expect(signal?.reason == "malformed_response")
            #expect(fake.workflow("order-9")?.signals.count == 1)
            // Updates too: the server dedupes them by request_id only for external workers that declare them.
            fake.inject([.partialJSON])
            let update = await engineError { _ = try await engine.execute(Commands.update(key: "u", workflowID: "order-9"), adapter: "a") }
            #expect(update?.kind == .nonRetryable)
            #expect(update?.detail.contains("does not deduplicate updates") == true, "\(String(describing: update))")
            #expect(fake.workflow("order-9")?.updates.count == 1)
        }
    }

    /// The server's middleware answers in the control plane's shape too: a wrong token or a missing namespace is
    /// Sluice's setup refused, for every event alike, never one event's rejection.
    @Test("a control-plane-shaped refusal of Sluice's setup is fatal, not a rejection", arguments: [
        (401, "unauthorized", "unauthorized"), (403, "forbidden", "forbidden"),
        (404, "namespace_not_found", "configuration"), (400, "missing_control_plane_version", "configuration"),
    ])
    func setupRefusals(status: Int, reason: String, expected: String) async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            fake.inject([.controlPlaneError(status, reason: reason)])
            let error = await engineError { _ = try await engine.execute(Commands.signal(key: "k", workflowID: "o"), adapter: "a") }
            #expect(error?.kind == .fatal, "\(String(describing: error))")
            #expect(error?.reason == expected)
        }
    }

    /// A signal whose 2xx head arrived but whose body was cut off took effect: sent again, the workflow would get it
    /// twice (the server does not deduplicate signals).
    @Test("a control-plane signal answered 2xx with a cut-off body is not sent again")
    func cutOffSignal() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            _ = try await engine.execute(Commands.start(key: "s", workflowID: "order-8"), adapter: "a")
            fake.inject([.truncated])
            let signal = await engineError { _ = try await engine.execute(Commands.signal(key: "g", workflowID: "order-8"), adapter: "a") }
            #expect(signal?.kind == .nonRetryable, "\(String(describing: signal))")
            #expect(signal?.reason == "malformed_response")
            #expect(fake.workflow("order-8")?.signals.count == 1)
        }
    }

    /// The server decodes the path before it matches a route, `%2F` too: a name with a `/` reaches no route, whose miss
    /// reads as a wrong engine URL and would stop the engine. It is the event's malformed payload, and nothing is sent.
    @Test("a signal or update name with a slash is rejected malformed_payload without a request")
    func slashInAName() async throws {
        try await withFake(mode: .controlPlane) { fake, engine in
            let before = fake.requests.count
            try await expectNamesWithASlashRefused(by: engine, workflowID: "order-9")
            #expect(fake.requests.count == before)
        }
    }

    @Test("a validation failure (not control-plane shaped) is a non-retryable error")
    func validation() async throws {
        try await withFake(mode: .controlPlane) { _, engine in
            let error = await engineError { _ = try await engine.execute(Commands.start(key: "k", type: ""), adapter: "a") }
            #expect(error?.kind == .nonRetryable)
            #expect(error?.reason == "validation_failed")
            #expect(error?.statusCode == 422)
        }
    }
}
