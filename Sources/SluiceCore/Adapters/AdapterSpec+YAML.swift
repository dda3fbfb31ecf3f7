import Yams

/// The adapter name pattern the engine accepts for a bridge adapter label.
let adapterNamePattern = "^[a-zA-Z0-9._:-]+$"

func isValidAdapterName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 128 && EngineIdentifier.accepts(name)
}

extension YAMLReader {
    static let adapterKeys = [
        "adapter", "version", "description", "source", "engine", "boundary", "ordering", "idempotency_key", "retry",
        "rules", "unmatched", "dedupe_window",
    ]

    mutating func adapterSpec(_ root: Node) -> AdapterSpec? {
        guard let members = members(root, key: "", allowed: Self.adapterKeys, required: ["adapter", "source", "rules"])
        else { return nil }
        var name: String?
        if let node = members["adapter"], let text = nonEmptyString(node, key: "adapter") {
            name = text
            if !isValidAdapterName(text) {
                report("'\(text)' is not a valid adapter name: use letters, digits and . _ : - (\(adapterNamePattern)), at most 128", at: node, key: "adapter")
            }
        }
        let version = members["version"].flatMap { int($0, key: "version", range: 1...Int(Int32.max)) } ?? 1
        let description = members["description"].flatMap { string($0, key: "description") }
        let source = members["source"].flatMap { sourceSpec($0, key: "source") }
        let engine = members["engine"].flatMap { nonEmptyString($0, key: "engine") }
        let boundary = members["boundary"].flatMap { boundarySpec($0, key: "boundary") }
        let ordering = members["ordering"].flatMap { orderingSpec($0, key: "ordering") }
        let idempotencyKey = members["idempotency_key"].flatMap { nonEmptyString($0, key: "idempotency_key") }
        let retry = members["retry"].flatMap { retrySpec($0, key: "retry") }
        let unmatched = members["unmatched"].flatMap { choice($0, key: "unmatched", as: UnmatchedPolicy.self) }
        let dedupeWindow = members["dedupe_window"].flatMap { duration($0, key: "dedupe_window", minimum: .seconds(1)) }
        var rules: [RuleSpec] = []
        if let node = members["rules"] {
            if case .sequence(let sequence) = node {
                if sequence.isEmpty { report("an adapter needs at least one rule", at: node, key: "rules") }
                var seen: Set<String> = []
                for (index, element) in sequence.enumerated() {
                    let key = Self.path("rules", index: index)
                    remember(element, key: key)
                    guard var rule = ruleSpec(element, key: key) else { continue }
                    rule.position = index
                    rules.append(rule)
                    // Located by the rule's own index: rules that failed to read are not in `rules`.
                    if !seen.insert(rule.name).inserted {
                        report("duplicate rule name '\(rule.name)'", at: element, key: key + ".name")
                    }
                }
            } else {
                report("expected a list of rules, found \(describe(node))", at: node, key: "rules")
            }
        }
        // Even with errors, go on with placeholders so that compilation can report its problems too;
        // a document with errors never compiles into an adapter.
        return AdapterSpec(
            adapter: name ?? "", version: version, description: description,
            source: source ?? .webhook(WebhookSourceSpec(path: "/")), engine: engine,
            boundary: boundary, ordering: ordering, idempotencyKey: idempotencyKey, retry: retry, rules: rules,
            unmatched: unmatched, dedupeWindow: dedupeWindow)
    }

    mutating func sourceSpec(_ node: Node, key: String) -> SourceSpec? {
        guard let members = members(node, key: key, allowed: ["webhook", "kafka"]) else { return nil }
        guard members.entries.count == 1 else {
            report("a source is either 'webhook' or 'kafka' (exactly one)", at: node, key: key)
            return nil
        }
        let entry = members.entries[0]
        let entryKey = Self.path(key, entry.name)
        if entry.name == "webhook" {
            guard let webhook = self.members(entry.value, key: entryKey, allowed: ["path", "verify", "max_body_bytes", "content_types"], required: ["path"]) else { return nil }
            var path: String?
            if let pathNode = webhook["path"], let text = nonEmptyString(pathNode, key: entryKey + ".path") {
                do throws(ValueProblem) {
                    path = try RoutePath.normalised(text)
                } catch {
                    report("'\(text)' is not a webhook path such as /webhooks/stripe: \(error)", at: pathNode, key: entryKey + ".path")
                }
            }
            let verify = webhook["verify"].flatMap { verifySpec($0, key: entryKey + ".verify") }
            let maxBody = webhook["max_body_bytes"].flatMap { int($0, key: entryKey + ".max_body_bytes", range: 1...(64 << 20)) }
            let contentTypes = webhook["content_types"].flatMap { mediaTypes($0, key: entryKey + ".content_types") }
            guard let path else { return nil }
            return .webhook(WebhookSourceSpec(path: path, verify: verify, maxBodyBytes: maxBody, contentTypes: contentTypes))
        }
        guard let kafka = self.members(entry.value, key: entryKey, allowed: ["topics", "group", "dead_letter_topic", "outcome_topic"], required: ["topics"]) else { return nil }
        let topics = kafka["topics"].flatMap { stringList($0, key: entryKey + ".topics") } ?? []
        if let topicsNode = kafka["topics"] {
            if topics.isEmpty { report("name at least one topic", at: topicsNode, key: entryKey + ".topics") }
            for topic in topics where !isValidTopicName(topic) {
                report("'\(topic)' is not a valid Kafka topic name (letters, digits, . _ -; at most 249)", at: topicsNode, key: entryKey + ".topics")
            }
        }
        let group = kafka["group"].flatMap { nonEmptyString($0, key: entryKey + ".group") }
        let deadLetter = kafka["dead_letter_topic"].flatMap { nonEmptyString($0, key: entryKey + ".dead_letter_topic") }
        if let deadLetter, let dlNode = kafka["dead_letter_topic"] {
            if !isValidTopicName(deadLetter) {
                report("'\(deadLetter)' is not a valid Kafka topic name", at: dlNode, key: entryKey + ".dead_letter_topic")
            } else if topics.contains(deadLetter) {
                report(
                    "'\(deadLetter)' is also consumed by this adapter: each dead letter would come back as an event, and fail again",
                    at: dlNode, key: entryKey + ".dead_letter_topic")
            }
        }
        let outcomes = kafka["outcome_topic"].flatMap { nonEmptyString($0, key: entryKey + ".outcome_topic") }
        if let outcomes, let node = kafka["outcome_topic"] {
            if !isValidTopicName(outcomes) {
                report("'\(outcomes)' is not a valid Kafka topic name", at: node, key: entryKey + ".outcome_topic")
            } else if topics.contains(outcomes) {
                report("'\(outcomes)' is also consumed by this adapter: each outcome would come back as an event", at: node, key: entryKey + ".outcome_topic")
            }
        }
        guard !topics.isEmpty else { return nil }
        return .kafka(KafkaSourceSpec(topics: topics, group: group, deadLetterTopic: deadLetter, outcomeTopic: outcomes))
    }

    func isValidTopicName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 249 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
            }
    }

    mutating func verifySpec(_ node: Node, key: String) -> VerifySpec? {
        let allowed = ["scheme", "secrets", "tolerance", "header", "algorithm", "encoding", "prefix", "timestamp_header"]
        guard let members = members(node, key: key, allowed: allowed, required: ["scheme"]) else { return nil }
        let scheme = members["scheme"].flatMap { choice($0, key: key + ".scheme", as: VerifySpec.Scheme.self) }
        let secrets = members["secrets"].flatMap { stringList($0, key: key + ".secrets") } ?? []
        let tolerance = members["tolerance"].flatMap { duration($0, key: key + ".tolerance", minimum: .seconds(1)) }
        let header = members["header"].flatMap { nonEmptyString($0, key: key + ".header") }
        var algorithm: String?
        if let algorithmNode = members["algorithm"], let text = string(algorithmNode, key: key + ".algorithm") {
            if ["sha256", "sha512"].contains(text) { algorithm = text } else {
                report("'\(text)' is not one of sha256, sha512", at: algorithmNode, key: key + ".algorithm")
            }
        }
        var encoding: String?
        if let encodingNode = members["encoding"], let text = string(encodingNode, key: key + ".encoding") {
            if ["hex", "base64"].contains(text) { encoding = text } else {
                report("'\(text)' is not one of hex, base64", at: encodingNode, key: key + ".encoding")
            }
        }
        let prefix = members["prefix"].flatMap { string($0, key: key + ".prefix") }
        let timestampHeader = members["timestamp_header"].flatMap { nonEmptyString($0, key: key + ".timestamp_header") }
        guard let scheme else { return nil }
        if scheme != .none, secrets.isEmpty {
            report("scheme '\(scheme.rawValue)' needs at least one secret (secrets: [\"${env:NAME}\"])", at: node, key: key + ".secrets")
        }
        if scheme == .hmac, header == nil {
            report("scheme 'hmac' needs the header that carries the signature", at: node, key: key + ".header")
        }
        if scheme != .hmac {
            for name in ["header", "algorithm", "encoding", "prefix", "timestamp_header"] {
                if let extra = members[name] {
                    report("'\(name)' applies to scheme 'hmac' only", at: extra, key: key + "." + name)
                }
            }
        }
        return VerifySpec(
            scheme: scheme, secrets: secrets, tolerance: tolerance, header: header, algorithm: algorithm,
            encoding: encoding, prefix: prefix, timestampHeader: timestampHeader)
    }

    mutating func boundarySpec(_ node: Node, key: String) -> BoundarySpec? {
        guard let members = members(node, key: key, allowed: ["mode", "max_in_flight", "max_queued", "cancellation_budget"]) else { return nil }
        return BoundarySpec(
            mode: members["mode"].flatMap { choice($0, key: key + ".mode", as: BoundaryMode.self) },
            maxInFlight: members["max_in_flight"].flatMap { int($0, key: key + ".max_in_flight", range: 1...100_000) },
            maxQueued: members["max_queued"].flatMap { int($0, key: key + ".max_queued", range: 1...10_000_000) },
            cancellationBudget: members["cancellation_budget"].flatMap { duration($0, key: key + ".cancellation_budget") })
    }

    mutating func orderingSpec(_ node: Node, key: String) -> OrderingSpec? {
        if case .scalar = node {
            guard let text = string(node, key: key) else { return nil }
            switch text {
            case "none": return OrderingSpec.none
            case "partition": return .partition
            default:
                report("ordering is none, partition, or { key: \"${...}\" }, not '\(text)'" + Suggestions.didYouMean(text, in: ["none", "partition"]), at: node, key: key)
                return nil
            }
        }
        guard let members = members(node, key: key, allowed: ["key"], required: ["key"]),
            let keyNode = members["key"], let template = nonEmptyString(keyNode, key: key + ".key")
        else { return nil }
        return .key(template)
    }

    mutating func retrySpec(_ node: Node, key: String) -> RetrySpec? {
        let allowed = ["max_attempts", "initial_interval", "backoff_coefficient", "max_interval", "non_retryable"]
        guard let members = members(node, key: key, allowed: allowed) else { return nil }
        let spec = RetrySpec(
            maxAttempts: members["max_attempts"].flatMap { int($0, key: key + ".max_attempts", range: 1...1000) },
            initialInterval: members["initial_interval"].flatMap { duration($0, key: key + ".initial_interval", minimum: .milliseconds(1)) },
            backoffCoefficient: members["backoff_coefficient"].flatMap { double($0, key: key + ".backoff_coefficient", range: 1...100) },
            maxInterval: members["max_interval"].flatMap { duration($0, key: key + ".max_interval", minimum: .milliseconds(1)) },
            nonRetryable: members["non_retryable"].flatMap { stringList($0, key: key + ".non_retryable") })
        if let initial = spec.initialInterval, let maximum = spec.maxInterval, maximum < initial, let node = members["max_interval"] {
            report("max_interval (\(DurationText.format(maximum))) is shorter than initial_interval (\(DurationText.format(initial)))", at: node, key: key + ".max_interval")
        }
        if let reasons = spec.nonRetryable, let reasonsNode = members["non_retryable"] {
            for reason in reasons where !OutcomeReason.allNames.contains(reason) {
                report("unknown reason '\(reason)'" + Suggestions.didYouMean(reason, in: OutcomeReason.allNames), at: reasonsNode, key: key + ".non_retryable", severity: .warning)
            }
        }
        return spec
    }

    mutating func ruleSpec(_ node: Node, key: String) -> RuleSpec? {
        guard let members = members(node, key: key, allowed: ["name", "when", "do"], required: ["name", "do"]) else { return nil }
        let name = members["name"].flatMap { nonEmptyString($0, key: key + ".name") }
        var conditions: [ConditionSpec] = []
        if let whenNode = members["when"], let when = freeMembers(whenNode, key: key + ".when") {
            for entry in when.entries {
                if let match = matchSpec(entry.value, key: key + ".when." + entry.name) {
                    conditions.append(ConditionSpec(path: entry.name, match: match))
                }
            }
        }
        var steps: [StepSpec] = []
        if let doNode = members["do"] {
            if case .sequence(let sequence) = doNode, !sequence.isEmpty {
                for (index, element) in sequence.enumerated() {
                    let stepKey = Self.path(key + ".do", index: index)
                    remember(element, key: stepKey)
                    if var step = stepSpec(element, key: stepKey) {
                        step.position = index
                        steps.append(step)
                    }
                }
            } else {
                report("expected a non-empty list of actions (start_workflow, signal_workflow, update_workflow, signal_with_start)", at: doNode, key: key + ".do")
            }
        }
        guard let name else { return nil }
        return RuleSpec(name: name, when: conditions, steps: steps)
    }

    mutating func matchSpec(_ node: Node, key: String) -> MatchSpec? {
        switch node {
        case .sequence:
            guard case .array(let values)? = json(node, key: key) else { return nil }
            if values.isEmpty { report("an empty list matches nothing", at: node, key: key) }
            return .anyOf(values)
        case .mapping:
            guard let members = members(node, key: key, allowed: ["equals", "any_of", "exists", "prefix"]) else { return nil }
            guard members.entries.count == 1 else {
                report("use exactly one of equals, any_of, exists, prefix", at: node, key: key)
                return nil
            }
            let entry = members.entries[0]
            let entryKey = key + "." + entry.name
            switch entry.name {
            case "equals": return json(entry.value, key: entryKey).map(MatchSpec.equals)
            case "any_of":
                guard case .array(let values)? = json(entry.value, key: entryKey) else {
                    report("expected a list", at: entry.value, key: entryKey)
                    return nil
                }
                if values.isEmpty { report("an empty list matches nothing", at: entry.value, key: entryKey) }
                return .anyOf(values)
            case "exists": return bool(entry.value, key: entryKey).map(MatchSpec.exists)
            default: return stringList(entry.value, key: entryKey).map(MatchSpec.prefix)
            }
        default:
            return json(node, key: key).map(MatchSpec.equals)
        }
    }

    static let actionNames = ["start_workflow", "signal_workflow", "update_workflow", "signal_with_start"]

    mutating func stepSpec(_ node: Node, key: String) -> StepSpec? {
        guard let members = members(node, key: key, allowed: Self.actionNames + ["id", "needs"]) else { return nil }
        let actions = members.entries.filter { Self.actionNames.contains($0.name) }
        guard actions.count == 1 else {
            report(
                actions.isEmpty
                    ? "a step needs an action: one of \(Self.actionNames.joined(separator: ", "))"
                    : "a step has exactly one action; put each action in its own list item",
                at: node, key: key)
            return nil
        }
        var id: String?
        if let idNode = members["id"], let text = nonEmptyString(idNode, key: key + ".id") {
            if isValidAdapterName(text) { id = text } else {
                report("a step id uses letters, digits and . _ : -", at: idNode, key: key + ".id")
            }
        }
        let needs = members["needs"].flatMap { stringList($0, key: key + ".needs") }
        let entry = actions[0]
        let actionKey = key + "." + entry.name
        let action: ActionSpec?
        switch entry.name {
        case "start_workflow": action = startWorkflow(entry.value, key: actionKey).map(ActionSpec.startWorkflow)
        case "signal_workflow": action = signalWorkflow(entry.value, key: actionKey).map(ActionSpec.signalWorkflow)
        case "update_workflow": action = updateWorkflow(entry.value, key: actionKey).map(ActionSpec.updateWorkflow)
        default: action = signalWithStart(entry.value, key: actionKey).map(ActionSpec.signalWithStart)
        }
        guard let action else { return nil }
        return StepSpec(id: id, needs: needs, action: action)
    }

    private mutating func text(_ members: Members, _ name: String, _ key: String) -> String? {
        members[name].flatMap { nonEmptyString($0, key: key + "." + name) }
    }

    mutating func startWorkflow(_ node: Node, key: String) -> StartWorkflowSpec? {
        let allowed = ["workflow_type", "workflow_id", "task_queue", "business_key", "duplicate_policy", "input", "execution_timeout", "run_timeout"]
        guard let members = members(node, key: key, allowed: allowed, required: ["workflow_type"]) else { return nil }
        let spec = StartWorkflowSpec(
            workflowType: text(members, "workflow_type", key) ?? "",
            workflowID: text(members, "workflow_id", key),
            taskQueue: text(members, "task_queue", key),
            businessKey: text(members, "business_key", key),
            duplicatePolicy: members["duplicate_policy"].flatMap { choice($0, key: key + ".duplicate_policy", as: DuplicatePolicy.self) },
            input: members["input"].flatMap { json($0, key: key + ".input") },
            executionTimeout: members["execution_timeout"].flatMap { duration($0, key: key + ".execution_timeout", minimum: .seconds(1)) },
            runTimeout: members["run_timeout"].flatMap { duration($0, key: key + ".run_timeout", minimum: .seconds(1)) })
        return spec.workflowType.isEmpty ? nil : spec
    }

    mutating func signalWorkflow(_ node: Node, key: String) -> SignalWorkflowSpec? {
        guard let members = members(node, key: key, allowed: ["workflow_id", "signal_name", "input"], required: ["workflow_id", "signal_name"]) else { return nil }
        guard let workflowID = text(members, "workflow_id", key), let signalName = text(members, "signal_name", key) else { return nil }
        return SignalWorkflowSpec(workflowID: workflowID, signalName: signalName, input: members["input"].flatMap { json($0, key: key + ".input") })
    }

    mutating func updateWorkflow(_ node: Node, key: String) -> UpdateWorkflowSpec? {
        let allowed = ["workflow_id", "update_name", "input", "wait_for", "wait_timeout"]
        guard let members = members(node, key: key, allowed: allowed, required: ["workflow_id", "update_name"]) else { return nil }
        let waitFor = members["wait_for"].flatMap { choice($0, key: key + ".wait_for", as: UpdateWaitStage.self) }
        let waitTimeout = members["wait_timeout"].flatMap { duration($0, key: key + ".wait_timeout", minimum: .seconds(1)) }
        guard let workflowID = text(members, "workflow_id", key), let updateName = text(members, "update_name", key) else { return nil }
        return UpdateWorkflowSpec(workflowID: workflowID, updateName: updateName, input: members["input"].flatMap { json($0, key: key + ".input") }, waitFor: waitFor, waitTimeout: waitTimeout)
    }

    mutating func signalWithStart(_ node: Node, key: String) -> SignalWithStartSpec? {
        let allowed = ["workflow_type", "workflow_id", "task_queue", "business_key", "signal_name", "input", "start_input", "execution_timeout", "run_timeout"]
        guard let members = members(node, key: key, allowed: allowed, required: ["workflow_type", "signal_name"]) else { return nil }
        let spec = SignalWithStartSpec(
            workflowType: text(members, "workflow_type", key) ?? "",
            workflowID: text(members, "workflow_id", key),
            taskQueue: text(members, "task_queue", key),
            businessKey: text(members, "business_key", key),
            signalName: text(members, "signal_name", key) ?? "",
            input: members["input"].flatMap { json($0, key: key + ".input") },
            startInput: members["start_input"].flatMap { json($0, key: key + ".start_input") },
            executionTimeout: members["execution_timeout"].flatMap { duration($0, key: key + ".execution_timeout", minimum: .seconds(1)) },
            runTimeout: members["run_timeout"].flatMap { duration($0, key: key + ".run_timeout", minimum: .seconds(1)) })
        return spec.workflowType.isEmpty || spec.signalName.isEmpty ? nil : spec
    }
}

extension YAMLReader {
    /// A route's accepted media types: `type/subtype`, either side `*`, or a subtype `*+suffix`; no parameters
    /// (a `Content-Type`'s parameters are not compared, so a pattern with them would never match).
    mutating func mediaTypes(_ node: Node, key: String) -> [String]? {
        guard let types = stringList(node, key: key) else { return nil }
        if types.isEmpty { report("list at least one media type, such as application/json", at: node, key: key) }
        let token = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~")
        for (index, type) in types.enumerated() {
            let parts = type.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let valid = parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(token.contains) }
            if !valid {
                report(
                    "'\(type)' is not a media type such as application/json or application/*+json (no parameters)",
                    at: node, key: Self.path(key, index: index))
            }
        }
        return types
    }
}
