/// An adapter as written in its YAML file, checked for shape but not yet compiled.
///
/// Template-bearing fields (workflow ids, inputs, keys) keep their text with `${...}` unparsed;
/// ``AdapterCompiler`` parses them once into ``CompiledAdapter``. The spec is `Codable` (snake_case
/// keys, as in the file) so that tools can print or store the normalised form.
public struct AdapterSpec: Sendable, Hashable, Codable {
    /// The adapter's name, also the engine's bridge adapter label: `^[a-zA-Z0-9._:-]+$`.
    public var adapter: String
    /// Recorded in every outcome this adapter produces; bump it when the mapping changes.
    public var version: Int
    public var description: String?
    public var source: SourceSpec
    /// An engine named in `sluice.yaml`; nil means the only (or `default`) engine.
    public var engine: String?
    public var boundary: BoundarySpec?
    public var ordering: OrderingSpec?
    /// Template of the idempotency key; default `${event.id}`.
    public var idempotencyKey: String?
    public var retry: RetrySpec?
    public var rules: [RuleSpec]
    public var unmatched: UnmatchedPolicy?
    /// How long a decision answers for its key (`dedupe_window`); nil: forever, until retention prunes it.
    public var dedupeWindow: Duration? = nil

    enum CodingKeys: String, CodingKey {
        case adapter, version, description, source, engine, boundary, ordering, retry, rules, unmatched
        case idempotencyKey = "idempotency_key"
        case dedupeWindow = "dedupe_window"
    }
}

/// Where an adapter's events come from.
public enum SourceSpec: Sendable, Hashable, Codable {
    case webhook(WebhookSourceSpec)
    case kafka(KafkaSourceSpec)
}

/// A webhook route.
public struct WebhookSourceSpec: Sendable, Hashable, Codable {
    /// The POST path, such as `/webhooks/stripe`.
    public var path: String
    public var verify: VerifySpec?
    /// The largest body accepted, in bytes; default 1 MiB.
    public var maxBodyBytes: Int?
    /// Accepted media types; default JSON (`application/json`, `*+json`) and form posts.
    public var contentTypes: [String]?

    enum CodingKeys: String, CodingKey {
        case path, verify
        case maxBodyBytes = "max_body_bytes"
        case contentTypes = "content_types"
    }
}

/// How a webhook's signature is checked.
public struct VerifySpec: Sendable, Hashable, Codable {
    public enum Scheme: String, Sendable, Hashable, Codable, CaseIterable {
        case stripe, github, shopify, slack, hmac, bearer, none
        case standardWebhooks = "standard-webhooks"
    }

    public var scheme: Scheme
    /// Secrets, usually `${env:NAME}` or `${file:PATH}`; several at once during rotation.
    public var secrets: [String]
    /// How far a signed timestamp may be from now, in either direction.
    public var tolerance: Duration?
    /// `hmac`: the header carrying the signature.
    public var header: String?
    /// `hmac`: `sha256` or `sha512`.
    public var algorithm: String?
    /// `hmac`: `hex` or `base64`.
    public var encoding: String?
    /// `hmac`: text before the signature in the header, such as `sha256=`.
    public var prefix: String?
    /// `hmac`: a header with a Unix timestamp that is signed as `timestamp.body`.
    public var timestampHeader: String?

    enum CodingKeys: String, CodingKey {
        case scheme, secrets, tolerance, header, algorithm, encoding, prefix
        case timestampHeader = "timestamp_header"
    }
}

/// A Kafka consumer.
public struct KafkaSourceSpec: Sendable, Hashable, Codable {
    public var topics: [String]
    /// The consumer group; default `sluice-<adapter>`.
    public var group: String?
    /// Where rejected and exhausted events go, when set.
    public var deadLetterTopic: String?
    /// Where every outcome of this adapter's events is also produced, when set.
    public var outcomeTopic: String?

    public init(topics: [String], group: String? = nil, deadLetterTopic: String? = nil, outcomeTopic: String? = nil) {
        self.topics = topics
        self.group = group
        self.deadLetterTopic = deadLetterTopic
        self.outcomeTopic = outcomeTopic
    }

    enum CodingKeys: String, CodingKey {
        case topics, group
        case deadLetterTopic = "dead_letter_topic"
        case outcomeTopic = "outcome_topic"
    }
}

/// An adapter's boundary, with any limit left out taking ``Boundary/default``'s.
public struct BoundarySpec: Sendable, Hashable, Codable {
    public var mode: BoundaryMode?
    public var maxInFlight: Int?
    public var maxQueued: Int?
    public var cancellationBudget: Duration?

    enum CodingKeys: String, CodingKey {
        case mode
        case maxInFlight = "max_in_flight"
        case maxQueued = "max_queued"
        case cancellationBudget = "cancellation_budget"
    }
}

/// How an adapter orders its events.
public enum OrderingSpec: Sendable, Hashable, Codable {
    /// No ordering: fastest.
    case none
    /// One Kafka partition at a time.
    case partition
    /// FIFO per value of this template.
    case key(String)
}

/// An adapter's retry policy, with anything left out taking ``RetryPolicy/default``'s.
public struct RetrySpec: Sendable, Hashable, Codable {
    public var maxAttempts: Int?
    public var initialInterval: Duration?
    public var backoffCoefficient: Double?
    public var maxInterval: Duration?
    public var nonRetryable: [String]?

    enum CodingKeys: String, CodingKey {
        case maxAttempts = "max_attempts"
        case initialInterval = "initial_interval"
        case backoffCoefficient = "backoff_coefficient"
        case maxInterval = "max_interval"
        case nonRetryable = "non_retryable"
    }
}

/// What happens to an event no rule matches. Either way its outcome is `rejected` / `unmatched`.
public enum UnmatchedPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Record the outcome and acknowledge the event.
    case ack
    /// Also keep it as a dead letter.
    case deadLetter = "dead_letter"
}

/// One rule: when its conditions hold, its steps form the event's plan.
public struct RuleSpec: Sendable, Hashable, Codable {
    public var name: String
    public var when: [ConditionSpec]
    public var steps: [StepSpec]
    /// Where the rule is in the file's `rules` list, when read from a file: problems found later name it by this
    /// place even when an earlier rule could not be read.
    public var position: Int? = nil

    enum CodingKeys: String, CodingKey {
        case name, when
        case steps = "do"
    }
}

/// One condition of a rule: a path and how its value must match.
public struct ConditionSpec: Sendable, Hashable, Codable {
    /// A path such as `event.type` or `headers.X-GitHub-Event` (no `${}`).
    public var path: String
    public var match: MatchSpec
}

/// How a value must match.
public enum MatchSpec: Sendable, Hashable, Codable {
    /// Equal to the value (numbers and text compare by their text).
    case equals(JSONValue)
    /// Equal to any of the values.
    case anyOf([JSONValue])
    /// Present (true) or absent (false).
    case exists(Bool)
    /// Text starting with any of the prefixes.
    case prefix([String])
}

/// One step of a plan.
public struct StepSpec: Sendable, Hashable, Codable {
    /// The step's id, unique in its rule; default `1`, `2`… by position.
    public var id: String?
    /// Steps that must succeed first; default: the previous step.
    public var needs: [String]?
    public var action: ActionSpec
    /// Where the step is in its rule's `do` list, when read from a file (see ``RuleSpec/position``); the default id
    /// counts from it.
    public var position: Int? = nil

    enum CodingKeys: String, CodingKey {
        case id, needs, action
    }
}

/// The engine call of a step. Text fields may hold `${...}` expressions.
public enum ActionSpec: Sendable, Hashable, Codable {
    case startWorkflow(StartWorkflowSpec)
    case signalWorkflow(SignalWorkflowSpec)
    case updateWorkflow(UpdateWorkflowSpec)
    case signalWithStart(SignalWithStartSpec)
}

/// What to do when a workflow id is already in use.
public enum DuplicatePolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// An active run with that id counts as a `duplicate` (the bridge's default).
    case useExisting = "use_existing"
    /// Any existing run makes the start `rejected` (`instance_already_started`).
    case rejectDuplicate = "reject_duplicate"
}

/// Which stage an update waits for.
public enum UpdateWaitStage: String, Sendable, Hashable, Codable, CaseIterable {
    case accepted
    case completed
}

public struct StartWorkflowSpec: Sendable, Hashable, Codable {
    public var workflowType: String
    /// Default: `bridge-{adapter}-{first 32 hex of sha256(idempotency key)}`, as the engine derives it.
    public var workflowID: String?
    public var taskQueue: String?
    public var businessKey: String?
    public var duplicatePolicy: DuplicatePolicy?
    /// The workflow's arguments: a list, or one value taken as the only argument.
    public var input: JSONValue?
    public var executionTimeout: Duration?
    public var runTimeout: Duration?

    enum CodingKeys: String, CodingKey {
        case input
        case workflowType = "workflow_type"
        case workflowID = "workflow_id"
        case taskQueue = "task_queue"
        case businessKey = "business_key"
        case duplicatePolicy = "duplicate_policy"
        case executionTimeout = "execution_timeout"
        case runTimeout = "run_timeout"
    }
}

public struct SignalWorkflowSpec: Sendable, Hashable, Codable {
    public var workflowID: String
    public var signalName: String
    public var input: JSONValue?

    enum CodingKeys: String, CodingKey {
        case input
        case workflowID = "workflow_id"
        case signalName = "signal_name"
    }
}

public struct UpdateWorkflowSpec: Sendable, Hashable, Codable {
    public var workflowID: String
    public var updateName: String
    public var input: JSONValue?
    public var waitFor: UpdateWaitStage?
    public var waitTimeout: Duration?

    enum CodingKeys: String, CodingKey {
        case input
        case workflowID = "workflow_id"
        case updateName = "update_name"
        case waitFor = "wait_for"
        case waitTimeout = "wait_timeout"
    }
}

/// Start the workflow if it is not running (`use_existing`), then signal it.
public struct SignalWithStartSpec: Sendable, Hashable, Codable {
    public var workflowType: String
    public var workflowID: String?
    public var taskQueue: String?
    public var businessKey: String?
    public var signalName: String
    /// The signal's arguments.
    public var input: JSONValue?
    /// The workflow's arguments when it is started; default none.
    public var startInput: JSONValue?
    public var executionTimeout: Duration?
    public var runTimeout: Duration?

    enum CodingKeys: String, CodingKey {
        case input
        case workflowType = "workflow_type"
        case workflowID = "workflow_id"
        case taskQueue = "task_queue"
        case businessKey = "business_key"
        case signalName = "signal_name"
        case startInput = "start_input"
        case executionTimeout = "execution_timeout"
        case runTimeout = "run_timeout"
    }
}
