import SluiceCore

extension TemporalEngine {
    func start(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let workflowID = command.workflowID(adapter: adapter)
        let policy = command.target.duplicatePolicy ?? .useExisting
        var existedBefore = false
        if let existing = try await describe(workflowID: workflowID) {
            if Self.isDecidable(existing, policy: policy) {
                return Self.existingStart(existing, command: command, adapter: adapter, workflowID: workflowID, policy: policy)
            }
            // The description cannot tell this command's own earlier start from a foreign one: Temporal's answer to the
            // start itself does (its own run again, or a conflict naming the request id that started the run).
            existedBefore = true
        }
        let response = try await send(
            .POST, path: "/workflows/" + PathComponent.escape(workflowID), body: TemporalRequest.start(command, policy: policy))
        if response.status == 200, let json = response.json, let runID = json["runId"]?.stringValue {
            // A workflow that existed before this call and comes back `started` is the run this request id started.
            let started = json["started"]?.boolValue == true && !existedBefore
            return .forCommand(
                command, adapter: adapter, kind: started ? .accepted : .duplicate, reason: started ? nil : .duplicateStart,
                workflowID: workflowID, runID: runID,
                controlPlaneOutcome: started ? "started_new" : "returned_existing_active")
        }
        if let failure = TemporalFailure(json: response.json), failure.code == .alreadyExists {
            let own = failure.startRequestID == command.requestID
            return .forCommand(
                command, adapter: adapter, kind: own ? .duplicate : .rejected,
                reason: own ? .duplicateStart : .instanceAlreadyStarted, workflowID: workflowID, runID: failure.runID,
                controlPlaneOutcome: own ? "returned_existing_active" : "rejected_duplicate",
                message: own ? nil : failure.message, rejectionReason: own ? nil : "instance_already_started")
        }
        return try rejectionOrError(response, command: command, adapter: adapter, workflowID: workflowID)
    }

    /// Whether a description of an existing workflow decides a start: it does when the server lists the request ids
    /// that started the run (`workflowExtendedInfo.requestIdInfos`), and when the run is active under `use_existing`
    /// (a duplicate whoever started it). Older servers list no request ids.
    static func isDecidable(_ description: JSONValue, policy: DuplicatePolicy) -> Bool {
        let running = description["workflowExecutionInfo"]?["status"]?.stringValue == "WORKFLOW_EXECUTION_STATUS_RUNNING"
        return description["workflowExtendedInfo"]?["requestIdInfos"] != nil || (running && policy == .useExisting)
    }

    /// The outcome of a start whose workflow already exists: this command's own earlier start is a
    /// duplicate; a foreign run is a duplicate under `use_existing` while it runs, and rejected otherwise.
    static func existingStart(
        _ description: JSONValue, command: EngineCommand, adapter: String, workflowID: String, policy: DuplicatePolicy
    ) -> Outcome {
        let info = description["workflowExecutionInfo"]
        let runID = info?["execution"]?["runId"]?.stringValue
        let running = info?["status"]?.stringValue == "WORKFLOW_EXECUTION_STATUS_RUNNING"
        let own = description["workflowExtendedInfo"]?["requestIdInfos"]?[command.requestID] != nil
        if own || (running && policy == .useExisting) {
            return .forCommand(
                command, adapter: adapter, kind: .duplicate, reason: .duplicateStart, workflowID: workflowID, runID: runID,
                controlPlaneOutcome: "returned_existing_active")
        }
        return .forCommand(
            command, adapter: adapter, kind: .rejected, reason: .instanceAlreadyStarted, workflowID: workflowID,
            runID: runID, controlPlaneOutcome: "rejected_duplicate",
            message: running ? "the workflow is already running" : "the workflow id was used by a closed run",
            rejectionReason: "instance_already_started")
    }

    func signal(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let workflowID = command.workflowID(adapter: adapter)
        let path = "/workflows/\(PathComponent.escape(workflowID))/signal/" + PathComponent.escape(command.target.signalName ?? "")
        let response = try await send(.POST, path: path, body: TemporalRequest.signal(command))
        if response.status == 200, let json = response.json {
            return .forCommand(
                command, adapter: adapter, kind: .accepted, workflowID: workflowID,
                runID: json["link"]?["workflowEvent"]?["runId"]?.stringValue, controlPlaneOutcome: "signal_received")
        }
        return try rejectionOrError(response, command: command, adapter: adapter, workflowID: workflowID)
    }

    func signalWithStart(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let workflowID = command.workflowID(adapter: adapter)
        if let existing = try await describe(workflowID: workflowID),
            existing["workflowExtendedInfo"]?["requestIdInfos"]?[command.requestID] != nil
        {
            var outcome = Outcome.forCommand(
                command, adapter: adapter, kind: .duplicate, workflowID: workflowID,
                runID: existing["workflowExecutionInfo"]?["execution"]?["runId"]?.stringValue,
                controlPlaneOutcome: "deduped_existing_command")
            outcome.extra["start_outcome"] = .string(Outcome.Kind.duplicate.rawValue)
            return outcome
        }
        let path = "/workflows/\(PathComponent.escape(workflowID))/signal-with-start/"
            + PathComponent.escape(command.target.signalName ?? "")
        let response = try await send(.POST, path: path, body: TemporalRequest.signalWithStart(command))
        if response.status == 200, let json = response.json, let runID = json["runId"]?.stringValue {
            let started = json["started"]?.boolValue == true
            var outcome = Outcome.forCommand(
                command, adapter: adapter, kind: .accepted, workflowID: workflowID, runID: runID,
                controlPlaneOutcome: "signal_received")
            outcome.extra["start_outcome"] = .string((started ? Outcome.Kind.accepted : .duplicate).rawValue)
            return outcome
        }
        // A server that lists no request ids, after this call's own earlier attempt started the workflow and it
        // closed: the new start is refused naming this request id, whose signal was delivered with that start.
        if let failure = TemporalFailure(json: response.json), failure.code == .alreadyExists,
            failure.startRequestID == command.requestID
        {
            var outcome = Outcome.forCommand(
                command, adapter: adapter, kind: .duplicate, workflowID: workflowID, runID: failure.runID,
                controlPlaneOutcome: "deduped_existing_command")
            outcome.extra["start_outcome"] = .string(Outcome.Kind.duplicate.rawValue)
            return outcome
        }
        return try rejectionOrError(response, command: command, adapter: adapter, workflowID: workflowID)
    }

    /// Sends the update; asked to wait for `completed` with a `wait_timeout`, sends it again with the same update
    /// id (which attaches to the same update) each time Temporal's long poll ends while the update is only
    /// accepted, until it completes or the wait is over.
    func update(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let clock = ContinuousClock()
        let waitEnds = command.target.waitFor == .completed ? command.target.waitTimeout.map { clock.now + $0 } : nil
        while true {
            let asked = clock.now
            let outcome = try await updateOnce(command, adapter: adapter)
            guard outcome.extra["wait_timed_out"] == true, let waitEnds, clock.now < waitEnds else { return outcome }
            // An answer much sooner than Temporal's long poll (a proxy's, or a server's shorter hold) is not asked
            // again in a tight loop.
            let pause = min(Self.updateRepollPause - (clock.now - asked), waitEnds - clock.now)
            if pause > .zero {
                do {
                    try await Task.sleep(for: pause)
                } catch {
                    return outcome
                }
            }
        }
    }

    /// The least time between two calls of one update waiting for `completed` (see ``update(_:adapter:)``).
    static let updateRepollPause: Duration = .seconds(1)

    private func updateOnce(_ command: EngineCommand, adapter: String) async throws(EngineError) -> Outcome {
        let workflowID = command.workflowID(adapter: adapter)
        let path = "/workflows/\(PathComponent.escape(workflowID))/update/" + PathComponent.escape(command.target.updateName ?? "")
        let response = try await send(
            .POST, path: path, body: TemporalRequest.update(command, workflowID: workflowID),
            // Not `endpoint.timeout(for:)`, Durable Workflow's `wait_timeout` + 5 s: Temporal has no such field and
            // answers each call within its long poll (~20 s); `update` asks again until the wait is over.
            timeout: max(endpoint.timeout, Self.updateHold))
        guard response.status == 200, let json = response.json else {
            return try rejectionOrError(response, command: command, adapter: adapter, workflowID: workflowID)
        }
        let runID = json["updateRef"]?["workflowExecution"]?["runId"]?.stringValue
        if let failure = json["outcome"]?["failure"] {
            let message = failure["message"]?.stringValue ?? "the update failed"
            let reason: OutcomeReason =
                message.contains("expected but not found") ? "unknown_update"
                : (JSONWriter.string(json).contains("Update rejected") ? "update_rejected" : "update_failed")
            return .forCommand(
                command, adapter: adapter, kind: .rejected, reason: reason, workflowID: workflowID, runID: runID,
                controlPlaneOutcome: "update_failed", message: message, rejectionReason: reason.rawValue)
        }
        if json["outcome"]?["success"] != nil {
            return .forCommand(
                command, adapter: adapter, kind: .accepted, workflowID: workflowID, runID: runID,
                controlPlaneOutcome: "update_completed")
        }
        let stage = json["stage"]?.stringValue ?? ""
        if stage.hasSuffix("_ACCEPTED") || stage.hasSuffix("_COMPLETED") {
            var outcome = Outcome.forCommand(command, adapter: adapter, kind: .accepted, workflowID: workflowID, runID: runID)
            // Asked to wait for completion, and Temporal's long poll ended first: accepted is all that is known.
            if command.target.waitFor == .completed, stage.hasSuffix("_ACCEPTED") { outcome.extra["wait_timed_out"] = true }
            return outcome
        }
        throw .retryable(
            "update_not_accepted",
            "no worker accepted the update in time (stage \(stage.isEmpty ? "unknown" : stage)); send it again with the same id",
            statusCode: response.status)
    }

    /// A rejected outcome for command-level failures (unknown workflow, invalid argument, already started),
    /// or the classified error for everything else.
    func rejectionOrError(
        _ response: EngineHTTPResponse, command: EngineCommand, adapter: String, workflowID: String
    ) throws(EngineError) -> Outcome {
        guard let failure = TemporalFailure(json: response.json), let reason = failure.rejectionReason else {
            throw Self.error(for: response)
        }
        return .forCommand(
            command, adapter: adapter, kind: .rejected, reason: reason, workflowID: workflowID, runID: failure.runID,
            message: failure.message, rejectionReason: reason.rawValue)
    }
}
