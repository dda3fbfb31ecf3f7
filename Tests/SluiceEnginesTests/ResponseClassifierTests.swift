import SluiceCore
import SluiceEngines
import Testing

@Suite("Classifying answers that are not outcomes")
struct ResponseClassifierTests {
    func classify(_ status: Int, _ body: String, retryAfter: String? = nil) -> (kind: String, reason: String) {
        let error = ResponseClassifier.error(for: EngineHTTPResponse(status: status, retryAfter: retryAfter, body: Array(body.utf8)))
        return (error.kind.rawValue, error.reason)
    }

    @Test("status and body reason decide the class")
    func classes() {
        #expect(classify(401, #"{"reason":"unauthorized"}"#) == ("fatal", "unauthorized"))
        #expect(classify(403, #"{"reason":"forbidden"}"#) == ("fatal", "forbidden"))
        #expect(classify(404, #"{"reason":"namespace_not_found"}"#) == ("fatal", "configuration"))
        #expect(classify(404, "<html>Not Found</html>") == ("fatal", "configuration"))
        #expect(classify(413, #"{"reason":"payload_too_large","limit":2097152}"#) == ("nonRetryable", "payload_too_large"))
        #expect(classify(415, #"{"reason":"unsupported_media_type"}"#) == ("fatal", "configuration"))
        #expect(classify(400, #"{"reason":"missing_control_plane_version"}"#) == ("fatal", "configuration"))
        #expect(classify(400, #"{"reason":"unsupported_control_plane_version","supported_version":"2"}"#) == ("fatal", "configuration"))
        #expect(classify(400, #"{"reason":"malformed_json"}"#) == ("nonRetryable", "malformed_json"))
        for redirect in [301, 302, 303, 307, 308] { #expect(classify(redirect, "") == ("fatal", "configuration")) }
        #expect(classify(408, "") == ("retryable", "timeout"))
        #expect(classify(429, "", retryAfter: "3") == ("retryable", "rate_limited"))
        #expect(classify(503, #"{"reason":"backend_unavailable"}"#) == ("retryable", "backend_unavailable"))
        // The server's word that waiting cannot help (reference: database_storage_exhausted, namespace quotas).
        #expect(classify(503, #"{"reason":"database_storage_exhausted","retryable":false}"#) == ("nonRetryable", "database_storage_exhausted"))
        #expect(classify(429, #"{"reason":"namespace_workflow_instances_exhausted","retryable":false}"#) == ("nonRetryable", "namespace_workflow_instances_exhausted"))
        #expect(classify(503, #"{"reason":"backend_unavailable","retryable":true}"#) == ("retryable", "backend_unavailable"))
        #expect(classify(500, "oops") == ("retryable", "server_error"))
        #expect(classify(200, "not json") == ("retryable", "malformed_response"))
    }
}
