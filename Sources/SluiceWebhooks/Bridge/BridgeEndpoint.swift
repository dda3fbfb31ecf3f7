public import Foundation
public import Hummingbird
import HTTPTypes
public import SluiceCore

/// Sluice's copy of the Durable Workflow server's `POST /api/bridge-adapters/webhook/{adapter}`:
/// the same request, headers, auth and outcome contract, answered synchronously with the engine's
/// real outcome after the boundary and the ledger.
///
/// Statuses: `202` accepted, `200` duplicate (including a key the ledger already decided), `422`
/// rejected with its reason; `401` bad token, `400` missing or unsupported control-plane version or
/// malformed JSON, `413` too large, `415` not JSON; `429` saturated and `503` timed out or
/// unavailable, both with `Retry-After`. Error bodies have the engine's `{reason, message}` shape.
public struct BridgeEndpoint: Sendable {
    /// The route, as the engine serves it.
    public static let path = "/api/bridge-adapters/webhook/{adapter}"
    public static let versionHeader = HTTPField.Name("X-Durable-Workflow-Control-Plane-Version")!
    /// The control-plane version this endpoint speaks.
    public static let supportedVersion = "2"

    /// Tokens that may call the bridge (`Authorization: Bearer …`); several at once for rotation.
    public var tokens: [Secret]
    /// The executor of each adapter the bridge serves, by the `{adapter}` label.
    public var executors: [String: any BridgeExecutor]
    /// The engine's default: 2 MiB.
    public var maxBodyBytes: Int
    /// What the bodies being read may hold together, shared with the webhook routes (`http.max_buffered_bytes`).
    public var bodyBudget: BodyBudget?
    public var now: @Sendable () -> Date

    public init(
        tokens: [Secret], executors: [String: any BridgeExecutor], maxBodyBytes: Int = 2 << 20,
        bodyBudget: BodyBudget? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.tokens = tokens
        self.executors = executors
        self.maxBodyBytes = maxBodyBytes
        self.bodyBudget = bodyBudget
        self.now = now
    }

    /// Adds the route to a router (or group) the application owns.
    public func register<Methods: RouterMethods>(on router: Methods, metrics: WebhookMetrics = WebhookMetrics()) {
        router.post(RouterPath(Self.path)) { request, context in
            let adapter = context.parameters.get("adapter") ?? ""
            let response = await respond(to: request, adapter: adapter)
            metrics.recordRequest(adapter: executors[adapter] == nil ? "bridge:unknown" : "bridge:" + adapter,
                status: response.status.code)
            return response
        }
    }

    /// Answers one bridge request.
    public func respond(to request: Request, adapter: String) async -> Response {
        let authorization = request.headers[.authorization].flatMap(BearerTokenVerifier.bearerToken)
        guard let token = authorization, ConstantTime.anyEqual([Array(token.utf8)], tokens.map(\.bytes)) else {
            return Self.error(.unauthorized, reason: "unauthorized", message: "Unauthorized.")
        }
        guard let version = request.headers[Self.versionHeader] else {
            return Self.error(
                .badRequest, reason: "missing_control_plane_version",
                message: "The X-Durable-Workflow-Control-Plane-Version header is required.",
                extra: .of(["supported_version": .string(Self.supportedVersion)]))
        }
        guard version.trimmingCharacters(in: .whitespaces) == Self.supportedVersion else {
            return Self.error(
                .badRequest, reason: "unsupported_control_plane_version",
                message: "Unsupported control-plane version.", extra: .of(["supported_version": .string(Self.supportedVersion)]))
        }
        guard let contentType = request.headers[.contentType], MediaTypes(["application/json", "application/*+json"]).accepts(contentType) else {
            return Self.error(.unsupportedMediaType, reason: "unsupported_media_type", message: "The body must be JSON.")
        }
        let body: [UInt8]
        do {
            body = try await BodyReader.read(request, limit: maxBodyBytes, budget: bodyBudget)
        } catch {
            switch error {
            case .tooLarge(let limit):
                return Self.error(
                    .contentTooLarge, reason: "payload_too_large", message: "The request body is too large.",
                    extra: .of(["limit": .int(Int64(limit))]))
            case .timedOut:
                return Self.error(.requestTimeout, reason: "request_timeout", message: "The body did not arrive in time.")
            case .broken:
                return Self.error(.badRequest, reason: "malformed_json", message: "The body could not be read.")
            case .busy:
                return Self.error(
                    .serviceUnavailable, reason: "busy", message: "Other request bodies being read hold the server's room for them.",
                    retryAfter: .seconds(1))
            }
        }
        guard let json = try? JSONParser.parse(body) else {
            return Self.error(.badRequest, reason: "malformed_json", message: "The request body is not valid JSON.")
        }
        let receivedAt = now()
        guard BridgeRequestParser.isValidAdapter(adapter) else {
            return Self.rejected(adapter: adapter, .unsupportedRouting, "The adapter label is invalid.", json: json)
        }
        guard let executor = executors[adapter] else {
            return Self.rejected(
                adapter: adapter, .unsupportedRouting, "No bridge adapter named '\(adapter)' is configured.", json: json)
        }
        let plan: Plan
        do {
            plan = try BridgeRequestParser.plan(
                adapter: adapter, adapterVersion: executor.adapterVersion, body: json, receivedAt: receivedAt)
        } catch {
            return Self.rejected(adapter: adapter, error)
        }
        switch await executor.execute(plan) {
        case .outcome(let outcome, let firstDecision):
            let shown = firstDecision ? outcome : Self.redelivered(outcome)
            return .json(Self.status(shown.kind), shown.json)
        case .saturated(let retryAfter):
            return Self.error(
                .tooManyRequests, reason: "saturated", message: "The adapter's boundary is full; retry later.",
                retryAfter: retryAfter)
        case .timedOut(let retryAfter):
            return Self.error(
                .serviceUnavailable, reason: "timed_out",
                message: "The engine did not answer within the cancellation budget; retry with the same key.",
                retryAfter: retryAfter)
        case .unavailable(let reason):
            return Self.error(
                .serviceUnavailable, reason: "unavailable", message: "Unavailable: \(reason).", retryAfter: .seconds(1))
        }
    }

    /// The HTTP status of an outcome kind, as the engine answers.
    public static func status(_ kind: Outcome.Kind) -> HTTPResponse.Status {
        switch kind {
        case .accepted: .accepted
        case .duplicate: .ok
        case .rejected: .unprocessableContent
        }
    }

    /// A decision the ledger already held, as the engine answers a redelivery: an accepted start is
    /// now a `duplicate_start`, an accepted signal or update a deduplicated command; rejections and
    /// duplicates stay as they were.
    static func redelivered(_ outcome: Outcome) -> Outcome {
        guard outcome.kind == .accepted else { return outcome }
        var duplicate = outcome
        duplicate.kind = .duplicate
        if outcome.action == EngineCommand.Action.startWorkflow.rawValue {
            duplicate.reason = .duplicateStart
            duplicate.controlPlaneOutcome = "returned_existing_active"
        } else {
            duplicate.reason = nil
            duplicate.controlPlaneOutcome = "deduped_existing_command"
        }
        return duplicate
    }

    static func rejected(adapter: String, _ reason: OutcomeReason, _ message: String, json: JSONValue) -> Response {
        let rejection = BridgeRequestParser.Rejection(
            reason: reason, message: message, action: json["action"]?.stringValue ?? "",
            idempotencyKey: json["idempotency_key"]?.stringValue ?? "",
            target: json["target"]?.objectValue.map(BridgeRequestParser.redacted),
            correlation: json["correlation"]?.objectValue.map(JSONValue.object))
        return rejected(adapter: adapter, rejection)
    }

    static func rejected(adapter: String, _ rejection: BridgeRequestParser.Rejection) -> Response {
        let outcome = Outcome(
            adapter: adapter, action: rejection.action, idempotencyKey: rejection.idempotencyKey, kind: .rejected,
            reason: rejection.reason, correlation: rejection.correlation, message: rejection.message,
            target: rejection.target)
        return .json(.unprocessableContent, outcome.json)
    }

    static func error(
        _ status: HTTPResponse.Status, reason: String, message: String, retryAfter: Duration? = nil,
        extra: JSONObject = JSONObject()
    ) -> Response {
        var object = JSONObject()
        object["reason"] = .string(reason)
        object["message"] = .string(message)
        var headers: HTTPFields = [:]
        if let retryAfter {
            let seconds = Problem.seconds(retryAfter)
            object["retryable"] = .bool(true)
            object["retry_after_seconds"] = .int(seconds)
            headers[.retryAfter] = String(seconds)
        }
        for member in extra.members { object[member.key] = member.value }
        return .json(status, .object(object), headers: headers)
    }
}
