import Foundation
import Testing

@testable import SluiceCore

private let fixtureNames = [
    "07_bridge_start_workflow", "08_bridge_signal_workflow", "09_bridge_update_workflow", "10_bridge_rejected_422",
]

private func decodingError(_ json: JSONValue) -> Outcome.DecodingError? {
    do {
        _ = try Outcome(json: json)
        return nil
    } catch {
        return error
    }
}

/// A valid outcome body with `member` replaced (or removed, when `value` is nil).
private func outcomeBody(_ member: String, _ value: JSONValue?) -> JSONValue {
    var body = object([
        "schema": "durable-workflow.v2.bridge-adapter-outcome.contract", "version": 1, "adapter": "a",
        "action": "start_workflow", "idempotency_key": "k", "accepted": true, "outcome": "accepted",
    ])
    body[member] = value
    return .object(body)
}

/// The object of an object literal.
private func object(_ value: JSONValue) -> JSONObject {
    value.objectValue ?? JSONObject()
}

private let invalidMemberCases: [(String, JSONValue?)] = [
    ("adapter", nil), ("adapter", 5), ("adapter", .null), ("action", nil), ("action", ["x"]),
    ("outcome", nil), ("outcome", "maybe"), ("outcome", 1), ("accepted", "yes"), ("accepted", false),
    ("target", "x"), ("target", [1]), ("idempotency_key", 7), ("reason", 5), ("rejection_reason", true),
    ("message", ["m"]), ("workflow_id", 1), ("run_id", 1.5), ("workflow_type", false),
    ("control_plane_outcome", ["a": 1]), ("sluice", "x"),
]

@Suite("Outcomes: the wire fixtures")
struct OutcomeFixtureTests {
    @Test("fixture outcomes decode and re-encode byte for byte", arguments: fixtureNames)
    func roundTrip(name: String) throws {
        let fixture = try CoreTestSupport.wireFixture(name)
        let body = try #require(fixture["fake_server_response"]?["body"])
        let outcome = try Outcome(json: body)
        #expect(JSONWriter.string(outcome.json) == JSONWriter.string(body))
        #expect(outcome.jsonText == JSONWriter.string(body))
        #expect(outcome.json == body)
        #expect(outcome.extra.isEmpty)
        #expect(outcome.sluice == nil)
        // Decoding what we wrote gives the same outcome.
        #expect(try Outcome(json: JSONParser.parse(JSONWriter.string(outcome.json))) == outcome)
    }

    @Test("the fields of each fixture outcome")
    func fields() throws {
        let started = try Outcome(json: try #require(CoreTestSupport.wireFixture(fixtureNames[0])["fake_server_response"]?["body"]))
        #expect(started.adapter == "stripe")
        #expect(started.action == "start_workflow")
        #expect(started.idempotencyKey == "evt_1001")
        #expect(started.kind == .accepted)
        #expect(started.accepted)
        #expect(started.reason == nil)
        #expect(started.workflowID == "bridge-stripe-0123456789abcdef0123456789abcdef")
        #expect(started.runID == "01JRUNBRIDGESTART0000000000")
        #expect(started.workflowType == "orders.fulfillment")
        #expect(started.controlPlaneOutcome == "started_new")
        #expect(started.correlation == ["provider": "stripe", "event_type": "checkout.session.completed"])
        #expect(started.target?.keys == ["workflow_type", "task_queue", "business_key", "workflow_id"])

        let signalled = try Outcome(json: try #require(CoreTestSupport.wireFixture(fixtureNames[1])["fake_server_response"]?["body"]))
        #expect(signalled.adapter == "kafka.orders")
        #expect(signalled.controlPlaneOutcome == "signal_received")
        #expect(signalled.workflowType == nil)
        #expect(signalled.correlation?["partition"] == .int(3))

        let updated = try Outcome(json: try #require(CoreTestSupport.wireFixture(fixtureNames[2])["fake_server_response"]?["body"]))
        #expect(updated.correlation == nil)
        #expect(updated.controlPlaneOutcome == nil)
        #expect(updated.target.map(JSONValue.object) == ["workflow_id": "order-1001", "update_name": "approve"])

        let rejected = try Outcome(json: try #require(CoreTestSupport.wireFixture(fixtureNames[3])["fake_server_response"]?["body"]))
        #expect(rejected.kind == .rejected)
        #expect(!rejected.accepted)
        #expect(rejected.reason == .unsupportedAction)
        #expect(rejected.message == "Bridge action is unsupported.")
        #expect(rejected.action == "handoff_external_task")
        #expect(rejected.workflowID == nil)
    }

    @Test("what the official client returns (nulls, another order) decodes to the same outcome")
    func sdkResultMatches() throws {
        for name in fixtureNames {
            let fixture = try CoreTestSupport.wireFixture(name)
            let fromServer = try Outcome(json: try #require(fixture["fake_server_response"]?["body"]))
            var fromClient = try Outcome(json: try #require(fixture["sdk_result"]?["returned"]))
            // The client drops `message`; everything else agrees.
            if fromServer.message != nil, fromClient.message == nil { fromClient.message = fromServer.message }
            #expect(fromClient == fromServer, "\(name)")
        }
    }

    @Test("fixture 08: a signal request is built byte for byte")
    func signalRequest() throws {
        let fixture = try CoreTestSupport.wireFixture("08_bridge_signal_workflow")
        let args = try #require(fixture["sdk_call_args"])
        let command = EngineCommand(
            action: .signalWorkflow,
            target: CommandTarget(workflowID: args["target"]?["workflow_id"]?.stringValue, signalName: args["target"]?["signal_name"]?.stringValue),
            input: try #require(args["input"]?.arrayValue),
            correlation: try #require(args["correlation"]?.objectValue),
            idempotencyKey: try #require(args["idempotency_key"]?.stringValue), requestID: "unused")
        let requests = BridgeRequest.requests(for: command, adapter: try #require(args["adapter"]?.stringValue))
        #expect(requests.count == 1)
        #expect(requests[0].path == fixture["path"]?.stringValue)
        let raw = try #require(fixture["body_raw"]?.stringValue)
        #expect(JSONWriter.string(.object(requests[0].body)) == raw)
        #expect(JSONWriter.bytes(.object(requests[0].body)).count == 248)
    }

    /// Fixtures 07 and 09 send `input` as an object; Sluice always sends a list of arguments (the
    /// contract accepts both, and a list is what workflows with positional arguments take), so the
    /// object becomes the only argument. Everything but `input` matches the fixture byte for byte.
    @Test("fixtures 07 and 09: start and update requests match except input, which Sluice sends as a list", arguments: [
        ("07_bridge_start_workflow", EngineCommand.Action.startWorkflow),
        ("09_bridge_update_workflow", EngineCommand.Action.updateWorkflow),
    ])
    func startAndUpdateRequests(name: String, action: EngineCommand.Action) throws {
        let fixture = try CoreTestSupport.wireFixture(name)
        let args = try #require(fixture["sdk_call_args"])
        let target = try #require(args["target"])
        let command = EngineCommand(
            action: action,
            target: CommandTarget(
                workflowID: target["workflow_id"]?.stringValue, workflowType: target["workflow_type"]?.stringValue,
                taskQueue: target["task_queue"]?.stringValue, businessKey: target["business_key"]?.stringValue,
                duplicatePolicy: target["duplicate_policy"]?.stringValue.flatMap(DuplicatePolicy.init(rawValue:)),
                updateName: target["update_name"]?.stringValue,
                waitFor: target["wait_for"]?.stringValue.flatMap(UpdateWaitStage.init(rawValue:))),
            input: [try #require(args["input"])],
            correlation: args["correlation"]?.objectValue ?? JSONObject(),
            idempotencyKey: try #require(args["idempotency_key"]?.stringValue), requestID: "unused")
        let requests = BridgeRequest.requests(for: command, adapter: try #require(args["adapter"]?.stringValue))
        #expect(requests.count == 1)
        #expect(requests[0].path == fixture["path"]?.stringValue)

        var ours = requests[0].body
        let raw = try #require(fixture["body_raw"]?.stringValue)
        var theirs = try #require(JSONParser.parse(raw).objectValue)
        #expect(ours.keys == theirs.keys)
        #expect(ours["input"] == .array([try #require(theirs["input"])]))
        ours["input"] = nil
        theirs["input"] = nil
        #expect(JSONWriter.string(.object(ours)) == JSONWriter.string(.object(theirs)))
    }
}

@Suite("Outcomes: model")
struct OutcomeModelTests {
    static let details = OutcomeDetails(
        eventID: "evt_1", eventType: "order.paid", sourcePosition: .kafka(topic: "orders", partition: 3, offset: 1042),
        adapterVersion: 3, rule: "paid", attempts: 4,
        steps: [
            StepReport(
                id: "1", action: "start_workflow", requestID: "sluice-abc", status: .succeeded, attempts: 1,
                durationMilliseconds: 12.5, outcome: .accepted),
            StepReport(
                id: "2", action: "signal_workflow", requestID: "sluice-def", status: .failed, attempts: 3,
                durationMilliseconds: 250, outcome: .rejected, reason: .runNotActive, lastError: "run not active"),
            StepReport(
                id: "3", action: "signal_workflow", requestID: "sluice-ghi", status: .skipped, attempts: 0,
                durationMilliseconds: 0, reason: .dependencyFailed),
        ],
        receivedAt: Date(timeIntervalSince1970: 1_700_000_000.25), decidedAt: Date(timeIntervalSince1970: 1_700_000_001.5))

    @Test("an outcome is a value: a changed copy leaves the original as it was, and equal fields make equal outcomes")
    func outcomeIsAValue() {
        let original = Outcome(
            adapter: "shop", action: "start_workflow", idempotencyKey: "evt_1", kind: .accepted, workflowID: "w",
            sluice: Self.details)
        var copy = original
        #expect(copy == original && copy.hashValue == original.hashValue)
        copy.kind = .rejected
        copy.sluice?.steps.removeLast()
        copy.extra["x"] = .int(1)
        #expect(original.kind == .accepted && original.sluice?.steps.count == 3 && original.extra.count == 0)
        #expect(copy.kind == .rejected && copy.sluice?.steps.count == 2 && copy.extra["x"] == .int(1))
        #expect(copy != original)
        var rebuilt = Outcome(
            adapter: "shop", action: "start_workflow", idempotencyKey: "evt_1", kind: .rejected, workflowID: "w",
            extra: copy.extra, sluice: copy.sluice)
        #expect(rebuilt == copy && rebuilt.hashValue == copy.hashValue)
        rebuilt.message = "m"
        #expect(rebuilt != copy && copy.message == nil)
    }

    @Test("Sluice's details round-trip under the sluice key")
    func detailsRoundTrip() throws {
        let outcome = Outcome(
            adapter: "shop", action: "start_workflow", idempotencyKey: "evt_1", kind: .rejected, reason: .runNotActive,
            correlation: ["source": "sluice"], message: "step 2 failed", target: object(["workflow_id": "w"]), workflowID: "w",
            runID: "run-1", sluice: Self.details)
        let json = outcome.json
        #expect(json.objectValue?.keys.last == "sluice")
        let text = JSONWriter.string(json)
        let decoded = try Outcome(json: try JSONParser.parse(text))
        #expect(decoded == outcome)
        #expect(decoded.sluice == Self.details)
        #expect(JSONWriter.string(decoded.json) == text)
        #expect(
            JSONWriter.string(try #require(json["sluice"]))
                == #"{"event_id":"evt_1","event_type":"order.paid","source_position":{"kind":"kafka","topic":"orders","partition":3,"offset":1042},"adapter_version":3,"rule":"paid","attempts":4,"steps":[{"id":"1","action":"start_workflow","request_id":"sluice-abc","status":"succeeded","attempts":1,"duration_ms":12.5,"outcome":"accepted"},{"id":"2","action":"signal_workflow","request_id":"sluice-def","status":"failed","attempts":3,"duration_ms":250.0,"outcome":"rejected","reason":"run_not_active","last_error":"run not active"},{"id":"3","action":"signal_workflow","request_id":"sluice-ghi","status":"skipped","attempts":0,"duration_ms":0.0,"reason":"dependency_failed"}],"received_at":"2023-11-14T22:13:20.250Z","decided_at":"2023-11-14T22:13:21.500Z"}"#
        )
    }

    @Test("details without optional fields, with every position kind")
    func minimalDetails() throws {
        for position in [SourcePosition.none, .inbox(id: 8), .kafka(topic: "t", partition: 0, offset: 0)] {
            let details = OutcomeDetails(
                eventID: "e", eventType: nil, sourcePosition: position, adapterVersion: 1, rule: nil, attempts: 0,
                steps: [], receivedAt: Date(timeIntervalSince1970: 0), decidedAt: Date(timeIntervalSince1970: 0))
            #expect(details.json["event_type"] == nil)
            #expect(details.json["rule"] == nil)
            #expect(OutcomeDetails(json: details.json) == details)
        }
    }

    @Test("step durations are written to the microsecond and read from integers too")
    func stepDurations() throws {
        let report = StepReport(id: "1", action: "a", requestID: "r", status: .cancelled, attempts: 1, durationMilliseconds: 1.23456)
        #expect(report.json["duration_ms"] == .double(1.235))
        var json = try #require(report.json.objectValue)
        json["duration_ms"] = 5
        #expect(StepReport(json: .object(json))?.durationMilliseconds == 5)
        json["duration_ms"] = "5"
        #expect(StepReport(json: .object(json)) == nil)
        json["duration_ms"] = 5
        json["status"] = "exploded"
        #expect(StepReport(json: .object(json)) == nil)
    }

    @Test("malformed details are rejected")
    func malformedDetails() throws {
        let good = try #require(Self.details.json.objectValue)
        for member in ["event_id", "source_position", "adapter_version", "attempts", "steps", "received_at", "decided_at"] {
            var broken = good
            broken[member] = nil
            #expect(OutcomeDetails(json: .object(broken)) == nil, "without \(member)")
        }
        var badTime = good
        badTime["received_at"] = "yesterday"
        #expect(OutcomeDetails(json: .object(badTime)) == nil)
        var badStep = good
        badStep["steps"] = [["id": "1"]]
        #expect(OutcomeDetails(json: .object(badStep)) == nil)
        #expect(decodingError(outcomeBody("sluice", .object(badStep))) == .invalidMember("sluice"))
        #expect(try Outcome(json: outcomeBody("sluice", .null)).sluice == nil)
    }

    @Test("encoding writes the engine's member order, drops nulls, keeps unknown members before sluice")
    func encodingOrder() throws {
        let outcome = Outcome(
            adapter: "a", action: "start_workflow", idempotencyKey: "k", kind: .duplicate, reason: .duplicateStart,
            correlation: .null, rejectionReason: "dup", message: "m", target: object(["workflow_id": "w"]), workflowID: "w",
            runID: "r", workflowType: "t", controlPlaneOutcome: "returned_existing_active",
            extra: object(["routing_status": "ok"]), sluice: Self.details)
        #expect(
            outcome.json.objectValue?.keys
                == [
                    "schema", "version", "adapter", "action", "idempotency_key", "accepted", "outcome", "reason",
                    "rejection_reason", "message", "target", "workflow_id", "run_id", "workflow_type",
                    "control_plane_outcome", "routing_status", "sluice",
                ])
        #expect(outcome.json["accepted"] == false)
        #expect(outcome.json["schema"] == .string(Outcome.schema))
        #expect(outcome.json["version"] == .int(1))
        // Unknown members survive decoding and re-encoding.
        let decoded = try Outcome(json: outcome.json)
        #expect(decoded.extra["routing_status"] == "ok")
        #expect(decoded.rejectionReason == "dup")
        #expect(JSONWriter.string(decoded.json) == JSONWriter.string(outcome.json))
    }

    @Test("bodies that are not outcomes")
    func notOutcomes() throws {
        #expect(decodingError(try JSONParser.parse(#"{"reason":"unauthorized"}"#)) == .notAnOutcome(schema: nil))
        #expect(decodingError(try JSONParser.parse(#"{"message":"Server Error"}"#)) == .notAnOutcome(schema: nil))
        #expect(decodingError(["schema": "something.else", "version": 1]) == .notAnOutcome(schema: "something.else"))
        #expect(decodingError(["schema": 5]) == .notAnOutcome(schema: nil))
        #expect(decodingError([1, 2]) == .notAnOutcome(schema: nil))
        #expect(decodingError("text") == .notAnOutcome(schema: nil))
        #expect(decodingError(nil) == .notAnOutcome(schema: nil))
        #expect(
            Outcome.DecodingError.notAnOutcome(schema: nil).description
                == "the body is not a bridge-adapter outcome (no schema)")
        #expect(
            Outcome.DecodingError.notAnOutcome(schema: "x").description
                == "the body is not a bridge-adapter outcome (schema 'x')")
    }

    @Test("other contract versions are refused")
    func versions() throws {
        #expect(decodingError(outcomeBody("version", 2)) == .unsupportedVersion(.int(2)))
        #expect(decodingError(outcomeBody("version", 0)) == .unsupportedVersion(.int(0)))
        #expect(decodingError(outcomeBody("version", "1")) == .unsupportedVersion(.string("1")))
        #expect(decodingError(outcomeBody("version", nil)) == .unsupportedVersion(nil))
        #expect(decodingError(outcomeBody("version", .null)) == .unsupportedVersion(.null))
        #expect(Outcome.DecodingError.unsupportedVersion(.int(2)).description == "unsupported bridge-adapter outcome version 2")
        #expect(Outcome.DecodingError.unsupportedVersion(nil).description == "unsupported bridge-adapter outcome version (missing)")
        #expect(try Outcome(json: outcomeBody("version", 1.0)).kind == .accepted)
    }

    @Test("missing members and members of the wrong type", arguments: invalidMemberCases)
    func invalidMembers(member: String, value: JSONValue?) {
        let error = decodingError(outcomeBody(member, value))
        #expect(error == .invalidMember(member))
        #expect(error?.description == "the outcome's '\(member)' is missing or has the wrong type")
    }

    @Test("accepted must agree with the outcome; null and absent optional members are fine")
    func acceptedAgreement() throws {
        var rejected = outcomeBody("outcome", "rejected")
        #expect(decodingError(rejected) == .invalidMember("accepted"))
        rejected = .object(try #require(rejected.objectValue).setting("accepted", false))
        #expect(try Outcome(json: rejected).kind == .rejected)
        let withoutAccepted = outcomeBody("accepted", nil)
        #expect(try Outcome(json: withoutAccepted).accepted)
        let nullAccepted = outcomeBody("accepted", .null)
        #expect(try Outcome(json: nullAccepted).kind == .accepted)
        let noKey = outcomeBody("idempotency_key", nil)
        #expect(try Outcome(json: noKey).idempotencyKey == "")
        let nullTarget = outcomeBody("target", .null)
        #expect(try Outcome(json: nullTarget).target == nil)
        let customReason = outcomeBody("reason", "brand_new_reason")
        #expect(try Outcome(json: customReason).reason == OutcomeReason(rawValue: "brand_new_reason"))
        for kind in Outcome.Kind.allCases {
            let outcome = Outcome(adapter: "a", action: "b", idempotencyKey: "c", kind: kind)
            #expect(try Outcome(json: outcome.json) == outcome)
            #expect(outcome.json["accepted"] == .bool(kind == .accepted))
        }
    }

    @Test("reasons")
    func reasons() {
        #expect(OutcomeReason.malformedPayload.rawValue == "malformed_payload")
        #expect(OutcomeReason.unmatched.description == "unmatched")
        for reason: OutcomeReason in [
            .unknownTarget, .authFailed, .malformedPayload, .duplicateStart, .unsupportedRouting, .unsupportedAction,
            .payloadTooLarge, .adapterUnavailable, .instanceAlreadyStarted, .compatibilityBlocked, .taskQueueDraining,
            .runNotActive, .unmatched, .incompatibleState, .retriesExhausted, .dependencyFailed,
        ] {
            #expect(OutcomeReason.allNames.contains(reason.rawValue))
        }
        #expect(Set(OutcomeReason.allNames).count == OutcomeReason.allNames.count)
    }
}

extension JSONObject {
    fileprivate func setting(_ key: String, _ value: JSONValue) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }
}
