/// An outcome's JSON text written directly, without the ``JSONValue`` tree: every event's outcome is
/// serialised once for the ledger (and once more for an outcome topic), and building the tree cost
/// more than the writing. The bytes equal `JSONWriter.bytes(outcome.json)`; a test holds them equal.
extension Outcome {
    /// The outcome as compact JSON UTF-8 bytes: the same bytes as `JSONWriter.bytes(json)`.
    public var jsonBytes: [UInt8] {
        var output = JSONWriter.Output(indent: nil, capacity: 1024)
        write(into: &output)
        return output.bytes
    }

    /// The outcome as compact JSON text: the same text as `JSONWriter.string(json)`.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    func write(into output: inout JSONWriter.Output) {
        output.object { output in
            output.member("schema", Self.schema)
            output.member("version", Self.version)
            output.member("adapter", adapter)
            output.member("action", action)
            output.member("idempotency_key", idempotencyKey)
            output.member("correlation", correlation)
            output.member("accepted", accepted)
            output.member("outcome", kind.rawValue)
            output.member("reason", reason?.rawValue)
            output.member("rejection_reason", rejectionReason)
            output.member("message", message)
            output.member("target", target.map(JSONValue.object))
            output.member("workflow_id", workflowID)
            output.member("run_id", runID)
            output.member("workflow_type", workflowType)
            output.member("control_plane_outcome", controlPlaneOutcome)
            output.members(of: extra)
            if let sluice { output.member("sluice", writing: sluice.write(into:)) }
        }
    }
}

extension OutcomeDetails {
    func write(into output: inout JSONWriter.Output) {
        output.object { output in
            output.member("event_id", eventID)
            output.member("event_type", eventType)
            output.member("source_position", writing: sourcePosition.write(into:))
            output.member("adapter_version", Int64(adapterVersion))
            output.member("rule", rule)
            output.member("attempts", Int64(attempts))
            output.member("steps") { output in
                output.bytes.append(UInt8(ascii: "["))
                for (offset, step) in steps.enumerated() {
                    if offset > 0 { output.bytes.append(UInt8(ascii: ",")) }
                    step.write(into: &output)
                }
                output.bytes.append(UInt8(ascii: "]"))
            }
            output.member("received_at", Timestamp.format(receivedAt))
            output.member("decided_at", Timestamp.format(decidedAt))
        }
    }
}

extension StepReport {
    func write(into output: inout JSONWriter.Output) {
        output.object { output in
            output.member("id", id)
            output.member("action", action)
            output.member("request_id", requestID)
            output.member("status", status.rawValue)
            output.member("attempts", Int64(attempts))
            output.member("duration_ms", JSONValue.double(roundedDuration))
            output.member("outcome", outcome?.rawValue)
            output.member("reason", reason?.rawValue)
            output.member("last_error", lastError)
        }
    }

    /// The duration as written: rounded to the microsecond.
    var roundedDuration: Double { (durationMilliseconds * 1000).rounded() / 1000 }
}

extension SourcePosition {
    func write(into output: inout JSONWriter.Output) {
        output.object { output in
            switch self {
            case .kafka(let topic, let partition, let offset):
                output.member("kind", "kafka")
                output.member("topic", topic)
                output.member("partition", Int64(partition))
                output.member("offset", offset)
            case .inbox(let id):
                output.member("kind", "inbox")
                output.member("id", id)
            case .none:
                output.member("kind", "none")
            }
        }
    }
}
