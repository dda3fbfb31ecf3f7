import SluiceCore

/// A Temporal HTTP API error body, `{"code": <gRPC code>, "message": …, "details": [{"@type": …}]}`,
/// and what it means for Sluice.
struct TemporalFailure: Sendable, Hashable {
    /// gRPC status codes that the HTTP API puts in `code`.
    enum Code: Int64, Sendable {
        case cancelled = 1, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists, permissionDenied
        case resourceExhausted, failedPrecondition, aborted, outOfRange, unimplemented, internalError, unavailable
        case dataLoss, unauthenticated
    }

    var code: Code?
    var message: String
    /// The last segment of the first detail's `@type`, such as `WorkflowExecutionAlreadyStartedFailure`.
    var detailType: String?
    /// For `WorkflowExecutionAlreadyStartedFailure`: the request id of the start that created the run.
    var startRequestID: String?
    var runID: String?

    /// Reads an error body; nil when the answer is not one, or when its `code` is not a gRPC status (an
    /// authenticating proxy's `401 {"code":401,"message":"Unauthorized"}`): such answers are classified by
    /// their HTTP status instead.
    init?(json: JSONValue?) {
        guard let json, let number = json["code"]?.intValue, let code = Code(rawValue: number),
            let message = json["message"]?.stringValue
        else { return nil }
        self.code = code
        self.message = message
        let detail = json["details"]?.arrayValue?.first
        self.detailType = detail?["@type"]?.stringValue.map { String($0.split(separator: ".").last ?? "") }
        self.startRequestID = detail?["startRequestId"]?.stringValue
        self.runID = detail?["runId"]?.stringValue
    }

    /// The HTTP gateway's answer for a path it does not map, `404 {"code":5,"message":"Not Found"}` with no
    /// details (a workflow that does not exist carries a `NotFoundFailure` detail): a wrong engine URL or
    /// server version, not an unknown workflow.
    var isUnmappedRoute: Bool { code == .notFound && detailType == nil && message == "Not Found" }

    /// `FailedPrecondition` failures that clear by themselves: the workflow's task keeps failing for now
    /// (`WorkflowNotReadyFailure`), or the namespace is not active in this cluster yet.
    static let transientPreconditions: Set<String> = ["WorkflowNotReadyFailure", "NamespaceNotActiveFailure"]

    /// `FailedPrecondition` failures of the namespace or the client, not of the workflow: every command would meet
    /// them, so they stop the engine as a configuration error instead of rejecting events one by one.
    static let configurationPreconditions: Set<String> = [
        "NamespaceInvalidStateFailure", "ClientVersionNotSupportedFailure", "ServerVersionNotSupportedFailure",
    ]

    /// Whether this is a `FailedPrecondition` whose detail is in `types`.
    private func isPrecondition(in types: Set<String>) -> Bool {
        code == .failedPrecondition && detailType.map(types.contains) == true
    }

    /// The rejection reason for command-level failures, or nil when the failure is an error instead.
    var rejectionReason: OutcomeReason? {
        switch code {
        case .invalidArgument?, .outOfRange?: return .malformedPayload
        case .notFound? where detailType == "NamespaceNotFoundFailure" || isUnmappedRoute: return nil
        case .notFound?:
            // A closed run: "workflow execution already completed"; an update the run's closing aborted: "workflow
            // update was aborted by closing workflow" (Server 1.32, measured).
            return message.contains("already completed") || message.contains("closing workflow") ? .runNotActive : .unknownTarget
        case .alreadyExists?: return .instanceAlreadyStarted
        // A closed run is `NotFound`, not `FailedPrecondition`; what is left clears by itself or needs an operator
        // (a paused workflow: "Workflow is paused. Cannot update the workflow.", measured): an error, retried.
        default: return nil
        }
    }

    /// The classified error for failures that are not rejections.
    func engineError(status: Int, retryAfter: Duration?) -> EngineError {
        let detail = message
        switch code {
        case .notFound? where detailType == "NamespaceNotFoundFailure":
            return .fatal("configuration", detail, statusCode: status)
        case .notFound? where isUnmappedRoute:
            return .fatal(
                "configuration",
                "the Temporal HTTP API has no such route; check the engine URL and server version: \(detail)",
                statusCode: status)
        case .failedPrecondition? where isPrecondition(in: Self.transientPreconditions):
            return .retryable("not_ready", detail, retryAfter: retryAfter, statusCode: status)
        case .failedPrecondition? where isPrecondition(in: Self.configurationPreconditions):
            return .fatal("configuration", detail, statusCode: status)
        case .failedPrecondition?:
            return .retryable("precondition_failed", detail, retryAfter: retryAfter, statusCode: status)
        case .permissionDenied?: return .fatal("forbidden", detail, statusCode: status)
        case .unauthenticated?: return .fatal("unauthorized", detail, statusCode: status)
        case .unimplemented?: return .fatal("configuration", detail, statusCode: status)
        case .resourceExhausted?: return .retryable("rate_limited", detail, retryAfter: retryAfter, statusCode: status)
        case .deadlineExceeded?: return .retryable("timeout", detail, retryAfter: retryAfter, statusCode: status)
        case .unavailable?: return .retryable("unavailable", detail, retryAfter: retryAfter, statusCode: status)
        case .cancelled?, .unknown?, .aborted?, .internalError?, .dataLoss?, nil:
            return .retryable("server_error", detail, retryAfter: retryAfter, statusCode: status)
        case .invalidArgument?, .notFound?, .alreadyExists?, .outOfRange?:
            return .nonRetryable("rejected", detail, statusCode: status)
        }
    }
}
