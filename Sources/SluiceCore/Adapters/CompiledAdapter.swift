/// An adapter ready to map events: its spec checked, defaults applied, references resolved and every
/// expression parsed. Immutable; built once at start-up by ``AdapterCompiler``.
public struct CompiledAdapter: Sendable {
    public let name: String
    public let version: Int
    public let description: String?
    public let source: Source
    /// The engine's name in `sluice.yaml`; nil means the default engine.
    public let engine: String?
    public let boundary: Boundary
    public let ordering: Ordering
    public let idempotencyKey: Template
    public let retry: RetryPolicy
    public let rules: [Rule]
    public let unmatched: UnmatchedPolicy
    /// How long a decision answers for its key; nil: forever (until retention prunes it).
    public let dedupeWindow: Duration?

    /// Where events come from.
    public enum Source: Sendable {
        case webhook(WebhookRoute)
        case kafka(KafkaSubscription)
    }

    /// A webhook route with its verification settings resolved.
    public struct WebhookRoute: Sendable {
        public let path: String
        public let verification: Verification
        public let maxBodyBytes: Int
        public let contentTypes: [String]

        /// 1 MiB.
        public static let defaultMaxBodyBytes = 1 << 20
        /// JSON and its `+json` variants, and HTML form posts (Slack's slash commands).
        public static let defaultContentTypes = ["application/json", "application/*+json", "application/x-www-form-urlencoded"]
    }

    /// A verification scheme with its secrets.
    public struct Verification: Sendable {
        public let scheme: VerifySpec.Scheme
        public let secrets: [Secret]
        public let tolerance: Duration
        public let header: String?
        public let algorithm: String
        public let encoding: String
        public let prefix: String
        public let timestampHeader: String?

        /// Five minutes, as Stripe, Slack and Standard Webhooks use.
        public static let defaultTolerance: Duration = .seconds(300)
    }

    /// A Kafka consumer's subscription.
    public struct KafkaSubscription: Sendable {
        public let topics: [String]
        public let group: String
        public let deadLetterTopic: String?
        /// Where every outcome is also produced (JSON, keyed by idempotency key), when set.
        public let outcomeTopic: String?
    }

    /// How events are ordered.
    /// Whether events are delivered in an order (`ordering` other than `none`).
    public var isOrdered: Bool {
        if case .none = ordering { false } else { true }
    }

    public enum Ordering: Sendable {
        case none
        /// One Kafka partition at a time.
        case partition
        /// By the Kafka record key (the default for Kafka), or by partition when a record has none.
        case recordKey
        /// By the value of a template.
        case key(Template)
    }

    /// A rule: conditions, then the steps of the plan.
    public struct Rule: Sendable {
        public let name: String
        public let conditions: [Condition]
        public let steps: [Step]
    }

    /// One condition on the event.
    public struct Condition: Sendable {
        public let expression: Expression
        public let match: MatchSpec
    }

    /// One step, with its templates compiled.
    public struct Step: Sendable {
        public let id: String
        public let needs: [String]
        public let action: EngineCommand.Action
        public let workflowID: Template?
        public let workflowType: Template?
        public let taskQueue: Template?
        public let businessKey: Template?
        public let duplicatePolicy: DuplicatePolicy?
        public let signalName: Template?
        public let updateName: Template?
        public let waitFor: UpdateWaitStage?
        public let waitTimeout: Duration?
        public let executionTimeout: Duration?
        public let runTimeout: Duration?
        public let input: Template?
        public let startInput: Template?
    }
}
