import Foundation
import SluiceCore

extension DurableWorkflowFake.Core {
    /// The server's middleware in its order (payload limit, auth, role, version header, namespace, media
    /// type, JSON), then the routes.
    func route(_ request: RecordedRequest) -> ScriptedResponse {
        let path = request.path
        if path == "/api/health" || path == "/api/ready" { return .json(200, ["status": "serving"]) }
        if request.bodyLength > configuration.maximumPayloadBytes {
            return .json(
                413,
                [
                    "reason": "payload_too_large", "message": "The request body exceeds the maximum payload size.",
                    "limit": .int(Int64(configuration.maximumPayloadBytes)),
                ])
        }
        let bearer = request.header("Authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let role: String
        switch bearer {
        case configuration.operatorToken?: role = "operator"
        case configuration.workerToken?: role = "worker"
        default: return .json(401, ["reason": "unauthorized", "message": "Unauthenticated."])
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        if request.method == "GET", segments == ["api", "cluster", "info"] { return .json(200, Self.clusterInfo) }
        guard role == "operator" else {
            return .json(403, ["reason": "forbidden", "role": .string(role), "allowed_roles": ["operator", "admin"]])
        }
        guard let version = request.header("X-Durable-Workflow-Control-Plane-Version") else {
            return .json(
                400,
                [
                    "reason": "missing_control_plane_version",
                    "message": "Send X-Durable-Workflow-Control-Plane-Version: 2.", "supported_version": "2",
                ])
        }
        guard version == "2" else {
            return .json(
                400,
                [
                    "reason": "unsupported_control_plane_version", "message": "Unsupported control-plane version.",
                    "supported_version": "2",
                ])
        }
        let namespace = (request.header("X-Namespace") ?? "default").lowercased()
        guard configuration.namespaces.contains(namespace) else {
            return .json(404, ["reason": "namespace_not_found", "message": .string("Namespace '\(namespace)' not found.")])
        }
        var body: JSONObject = JSONObject()
        if request.method == "POST" {
            let mediaType = (request.header("Content-Type") ?? "").split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
            guard mediaType == "application/json" || mediaType.hasSuffix("+json") else {
                return .json(415, ["reason": "unsupported_media_type", "message": "Send application/json."])
            }
            guard case .object(let object)? = try? JSONParser.parse(request.body) else {
                return .json(400, ["reason": "malformed_json", "message": "The body is not a JSON object."])
            }
            body = object
        }
        switch (request.method, segments.count) {
        case ("POST", 4) where segments[0...2] == ["api", "bridge-adapters", "webhook"]:
            return bridge(adapter: segments[3], body: body, namespace: namespace)
        case ("POST", 2) where segments == ["api", "workflows"]:
            return controlPlaneStart(body: body, namespace: namespace)
        case ("GET", 3) where segments[0...1] == ["api", "workflows"]:
            return describe(workflowID: segments[2], namespace: namespace)
        case ("POST", 5) where segments[0...1] == ["api", "workflows"] && segments[3] == "signal":
            return controlPlaneSignal(workflowID: segments[2], name: segments[4], body: body, namespace: namespace)
        case ("POST", 5) where segments[0...1] == ["api", "workflows"] && segments[3] == "update":
            return controlPlaneUpdate(workflowID: segments[2], name: segments[4], body: body, namespace: namespace)
        default:
            return .json(404, ["reason": "not_found", "message": "No such route."])
        }
    }

    static func isValidIdentifier(_ text: String, maximum: Int) -> Bool {
        !text.isEmpty && text.utf8.count <= maximum
            && text.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._:-".unicodeScalars.contains($0) }
    }

    /// The discovery document (as captured from the official client's fixture 01).
    static let clusterInfo: JSONValue = [
        "server_id": "sluice-fake", "version": "2.0.0", "default_namespace": "default",
        "capabilities": [
            "signals": true, "updates": true, "payload_codec_envelope": true, "bridge_adapter_outcome_contract": true,
            "payload_codecs": ["avro"],
        ],
        "limits": ["max_payload_bytes": 2_097_152, "max_memo_bytes": 262_144, "max_operation_name_length": 256],
        "control_plane": ["version": "2", "header": "X-Durable-Workflow-Control-Plane-Version"],
        "bridge_adapter_outcome_contract": ["schema": "durable-workflow.v2.bridge-adapter-outcome.contract", "version": 1],
    ]
}
