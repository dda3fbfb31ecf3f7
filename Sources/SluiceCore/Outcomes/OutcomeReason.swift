/// Why an outcome is what it is: the contract's reasons, the engine's wider set seen in practice, and
/// Sluice's own. Open-ended, because engines add reasons over time.
public struct OutcomeReason: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    // The bridge-adapter outcome contract, version 1.
    public static let unknownTarget: OutcomeReason = "unknown_target"
    public static let authFailed: OutcomeReason = "auth_failed"
    public static let malformedPayload: OutcomeReason = "malformed_payload"
    public static let duplicateStart: OutcomeReason = "duplicate_start"
    public static let unsupportedRouting: OutcomeReason = "unsupported_routing"
    public static let unsupportedAction: OutcomeReason = "unsupported_action"
    public static let payloadTooLarge: OutcomeReason = "payload_too_large"
    public static let adapterUnavailable: OutcomeReason = "adapter_unavailable"
    // Newer servers.
    public static let instanceAlreadyStarted: OutcomeReason = "instance_already_started"
    public static let compatibilityBlocked: OutcomeReason = "compatibility_blocked"
    public static let taskQueueDraining: OutcomeReason = "task_queue_draining"
    public static let runNotActive: OutcomeReason = "run_not_active"
    // Sluice's own.
    /// No rule of the adapter matched the event.
    public static let unmatched: OutcomeReason = "unmatched"
    /// The event was admitted under another adapter version and was not re-mapped.
    public static let incompatibleState: OutcomeReason = "incompatible_state"
    /// Every attempt failed with a retryable error.
    public static let retriesExhausted: OutcomeReason = "retries_exhausted"
    /// A step did not run because a step it needs failed.
    public static let dependencyFailed: OutcomeReason = "dependency_failed"

    /// Every reason Sluice knows by name, for validation and suggestions.
    public static let allNames: [String] = [
        "unknown_target", "auth_failed", "malformed_payload", "duplicate_start", "unsupported_routing",
        "unsupported_action", "payload_too_large", "adapter_unavailable", "instance_already_started",
        "compatibility_blocked", "task_queue_draining", "run_not_active", "unmatched", "incompatible_state",
        "retries_exhausted", "dependency_failed", "unauthorized", "transport", "timeout", "server_error",
        "rate_limited", "unavailable", "update_failed", "update_rejected", "update_validator_rejected", "unknown_update",
        "malformed_response", "unsupported_version", "validation_failed", "update_not_accepted", "value_too_large",
        "invalid_event", "precondition_failed",
        // The control plane's final rejections (``RetryPolicy/finalReasons``).
        "unknown_signal", "rejected_unknown_signal", "rejected_unknown_update", "invalid_arguments",
        "rejected_invalid_arguments", "workflow_id_reserved_in_namespace", "rejected_workflow_id_reserved_in_namespace",
        "historical_run_command_rejected", "update_validation_request_id_required",
    ]
}
