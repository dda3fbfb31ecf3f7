import Foundation

/// Compiles adapter specs into ``CompiledAdapter``s: applies defaults, resolves `${env:…}` and
/// `${file:…}`, parses every expression once, and checks what the YAML shape alone cannot (step
/// dependencies, expression syntax, engine names). Problems are collected, never thrown.
public struct AdapterCompiler: Sendable {
    public let references: ConfigReferences
    /// Engine names from `sluice.yaml`; nil when there is no `sluice.yaml` (names are then not checked).
    public let engineNames: Set<String>?
    /// Whether `sluice.yaml` or `SLUICE_KAFKA_INBOX_TOPIC` sets `kafka.inbox_topic` (webhooks then reach their gates
    /// through a Kafka consumer); nil when there is no `sluice.yaml` (a webhook adapter's boundary mode is then
    /// checked at start only).
    public let kafkaInbox: Bool?

    /// The name of the consumer of `kafka.inbox_topic` (its readiness check, its metrics' `adapter`).
    public static let ingressConsumerName = "webhook-inbox"
    /// The consumer group of `kafka.inbox_topic`.
    public static let ingressConsumerGroup = "sluice-webhook-inbox"

    public init(references: ConfigReferences, engineNames: Set<String>? = nil, kafkaInbox: Bool? = nil) {
        self.references = references
        self.engineNames = engineNames
        self.kafkaInbox = kafkaInbox
    }

    /// Reads and compiles one adapter file.
    public func compile(text: String, file: String) -> (adapter: CompiledAdapter?, diagnostics: [Diagnostic]) {
        let document = AdapterDocument.read(text, file: file)
        guard let spec = document.spec else { return (nil, document.diagnostics) }
        let hasReadErrors = document.diagnostics.hasErrors
        var context = Context(map: document.sourceMap, references: references)
        // When `source` could not be read, the spec holds a placeholder: skip the checks that read it.
        context.sourceIsReadable = !document.diagnostics.contains {
            $0.severity == .error && ($0.key == "source" || $0.key.hasPrefix("source."))
        }
        let adapter = compile(spec, context: &context)
        let diagnostics = document.diagnostics + context.diagnostics
        return (hasReadErrors || diagnostics.hasErrors ? nil : adapter, diagnostics)
    }

    struct Context {
        let map: SourceMap
        let references: ConfigReferences
        var diagnostics: [Diagnostic] = []
        var sourceIsReadable = true
        /// The adapter's name, once known: derived workflow ids contain it.
        var adapterName: String?
        /// The fields the adapter's source never sets (`kafka.*` for a webhook, `webhook.*` for Kafka), once the source
        /// is known.
        var absentRoot: Expression.Root?

        /// Refuses a field the adapter's events never have: a condition on it never matches (every event unmatched),
        /// and a template reading it is always missing.
        mutating func checkRoots(_ expressions: [Expression], key: String) {
            guard let absentRoot, let wrong = expressions.first(where: { $0.root == absentRoot }) else { return }
            let source = absentRoot == .kafka ? "a webhook" : "a Kafka"
            report("${\(wrong.path)}: \(source) adapter's events have no \(absentRoot.rawValue).* fields", key: key)
        }

        mutating func report(_ message: String, key: String, severity: Diagnostic.Severity = .error) {
            diagnostics.append(map.diagnostic(message, key: key, severity: severity))
        }

        /// Resolves references in configuration text (not a template).
        mutating func resolve(_ text: String, key: String) -> String {
            let (resolved, problems) = references.resolve(text)
            for problem in problems { report(problem.message, key: key, severity: problem.severity) }
            return resolved
        }

        mutating func template(_ text: String?, key: String) -> Template? {
            guard let text else { return nil }
            return template(.string(text), key: key)
        }

        mutating func template(_ value: JSONValue?, key: String) -> Template? {
            guard let value else { return nil }
            let resolved = resolveReferences(in: value, key: key)
            do {
                let template = try Template.compile(resolved)
                checkRoots(template.expressions, key: key)
                return template
            } catch {
                // A resolved ${env:…} or ${file:…} value may be a secret and must not reach the message:
                // describe the problem from the text as written instead.
                var message = error.message
                if resolved != value {
                    do {
                        _ = try Template.compile(value)
                        message = "a value from ${env:…} or ${file:…} makes it invalid"
                    } catch {
                        message = error.message
                    }
                }
                report("expression does not parse: \(message)", key: key)
                return nil
            }
        }

        private mutating func resolveReferences(in value: JSONValue, key: String) -> JSONValue {
            switch value {
            case .string(let text):
                let (resolved, problems) = references.resolve(text, escapeForTemplate: true)
                for problem in problems { report(problem.message, key: key, severity: problem.severity) }
                return .string(resolved)
            case .array(let elements):
                return .array(elements.enumerated().map { resolveReferences(in: $1, key: key + "[\($0)]") })
            case .object(let object):
                return .object(JSONObject(object.members.map { .init(key: $0.key, value: resolveReferences(in: $0.value, key: key + "." + $0.key)) }))
            default:
                return value
            }
        }
    }

    func compile(_ spec: AdapterSpec, context: inout Context) -> CompiledAdapter? {
        context.adapterName = spec.adapter
        if let engine = spec.engine, let engineNames, !engineNames.contains(engine) {
            context.report(
                "unknown engine '\(engine)'" + Suggestions.didYouMean(engine, in: engineNames)
                    + " (sluice.yaml names: \(engineNames.sorted().joined(separator: ", ")))",
                key: "engine")
        }
        let source = context.sourceIsReadable ? compileSource(spec, context: &context) : nil
        switch source {
        case .kafka?: context.absentRoot = .webhook
        case .webhook?: context.absentRoot = .kafka
        case nil: break
        }
        let boundary = Boundary(
            mode: spec.boundary?.mode ?? Boundary.default.mode,
            maxInFlight: spec.boundary?.maxInFlight ?? Boundary.default.maxInFlight,
            maxQueued: spec.boundary?.maxQueued ?? Boundary.default.maxQueued,
            cancellationBudget: spec.boundary?.cancellationBudget ?? Boundary.default.cancellationBudget)
        let retry = RetryPolicy(
            maxAttempts: spec.retry?.maxAttempts ?? RetryPolicy.default.maxAttempts,
            initialInterval: spec.retry?.initialInterval ?? RetryPolicy.default.initialInterval,
            backoffCoefficient: spec.retry?.backoffCoefficient ?? RetryPolicy.default.backoffCoefficient,
            maxInterval: spec.retry?.maxInterval ?? RetryPolicy.default.maxInterval,
            nonRetryable: spec.retry?.nonRetryable.map(Set.init) ?? RetryPolicy.default.nonRetryable)
        // A Kafka adapter's consumer is a pull source: a boundary that refuses pull sources would stop it at its first
        // fetch. A webhook adapter's mode depends on where webhooks wait, `kafka.inbox_topic` in `sluice.yaml` (checked
        // here when it is known, and again at start, where the environment may set it).
        let modeKey = spec.boundary?.mode == nil ? "boundary" : "boundary.mode"
        switch spec.source {
        case .kafka where !boundary.mode.acceptsPull:
            context.report(
                "boundary mode \(boundary.mode.rawValue) refuses pull sources, and this adapter reads Kafka (a pull source); use push-pull or pull-only",
                key: modeKey)
        case .webhook:
            if let kafkaInbox, let refusal = boundary.mode.webhookRefusal(kafkaInbox: kafkaInbox) {
                context.report(refusal + (kafkaInbox ? " (kafka.inbox_topic is set)" : ""), key: modeKey)
            }
        default:
            break
        }
        if retry.maxInterval < retry.initialInterval, spec.retry?.maxInterval == nil || spec.retry?.initialInterval == nil {
            context.report("max_interval is shorter than initial_interval", key: "retry")
        }
        let ordering: CompiledAdapter.Ordering
        switch (spec.ordering, spec.source) {
        case (nil, .webhook): ordering = .none
        case (nil, .kafka): ordering = .recordKey
        case (.none?, _): ordering = .none
        case (.partition?, .kafka): ordering = .partition
        case (.partition?, .webhook):
            if context.sourceIsReadable { context.report("ordering 'partition' applies to Kafka sources only; use none or { key: ... }", key: "ordering") }
            ordering = .none
        case (.key(let text)?, _):
            ordering = context.template(text, key: "ordering.key").map(CompiledAdapter.Ordering.key) ?? .none
        }
        let idempotencyKey = context.template(spec.idempotencyKey ?? "${event.id}", key: "idempotency_key")
        if let keyExpressions = idempotencyKey?.expressions, keyExpressions.allSatisfy({ $0.root == .adapter }) {
            // The same key for every event: the first is decided, and every later one is answered as its duplicate.
            context.report(
                "the key is the same for every event, so every event after the first would be dropped as a duplicate; "
                    + "key it by the event, such as \"${body.id}\" (or leave idempotency_key out: the event's id)",
                key: "idempotency_key")
        }
        if case .webhook(let route)? = source, ![.none, .bearer].contains(route.verification.scheme),
            let query = idempotencyKey?.expressions.first(where: { $0.root == .webhook && $0.path.hasPrefix("webhook.query") })
        {
            // The providers sign the body (and a timestamp), not the URL: a captured delivery sent again with another
            // query string passes verification under a new key, and its effect happens again.
            context.report(
                "the key reads ${\(query.path)}, which the signature does not cover: a delivery sent again with another query string would pass as a new event; key it by the body or the provider's delivery id",
                key: "idempotency_key", severity: .warning)
        }
        var rules: [CompiledAdapter.Rule] = []
        for (index, rule) in spec.rules.enumerated() {
            if let compiled = compileRule(rule, key: "rules[\(rule.position ?? index)]", context: &context) { rules.append(compiled) }
        }
        guard let source, let idempotencyKey else { return nil }
        return CompiledAdapter(
            name: spec.adapter, version: spec.version, description: spec.description, source: source,
            engine: spec.engine, boundary: boundary, ordering: ordering, idempotencyKey: idempotencyKey, retry: retry,
            rules: rules, unmatched: spec.unmatched ?? .ack, dedupeWindow: spec.dedupeWindow)
    }

    private func compileSource(_ spec: AdapterSpec, context: inout Context) -> CompiledAdapter.Source? {
        switch spec.source {
        case .kafka(let kafka):
            let group = kafka.group ?? "sluice-\(spec.adapter)"
            // The consumer of `kafka.inbox_topic` has this name and group: an adapter sharing them would share its
            // readiness check (one hiding the other's), its metrics, and its consumer group (each rebalancing the other).
            if kafkaInbox == true, spec.adapter == Self.ingressConsumerName || group == Self.ingressConsumerGroup {
                let (what, key) =
                    kafka.group == Self.ingressConsumerGroup
                    ? ("group '\(group)'", "source.kafka.group") : ("name '\(spec.adapter)'", "adapter")
                context.report(
                    "the \(what) is the consumer of kafka.inbox_topic's; give the adapter another", key: key)
            }
            return .kafka(
                CompiledAdapter.KafkaSubscription(
                    topics: kafka.topics, group: group, deadLetterTopic: kafka.deadLetterTopic, outcomeTopic: kafka.outcomeTopic))
        case .webhook(let webhook):
            let verify = webhook.verify ?? VerifySpec(scheme: .none, secrets: [])
            if webhook.verify == nil {
                context.report(
                    "no verify: anyone who can reach this path can post events; add verify: { scheme: ... } or write verify: { scheme: none }",
                    key: "source.webhook", severity: .warning)
            }
            let secrets = verify.secrets.enumerated().map { index, text in
                Secret(context.resolve(text, key: "source.webhook.verify.secrets[\(index)]"))
            }
            let verification = CompiledAdapter.Verification(
                scheme: verify.scheme, secrets: secrets,
                tolerance: verify.tolerance ?? CompiledAdapter.Verification.defaultTolerance, header: verify.header,
                algorithm: verify.algorithm ?? "sha256", encoding: verify.encoding ?? "hex", prefix: verify.prefix ?? "",
                timestampHeader: verify.timestampHeader)
            return .webhook(
                CompiledAdapter.WebhookRoute(
                    path: webhook.path, verification: verification,
                    maxBodyBytes: webhook.maxBodyBytes ?? CompiledAdapter.WebhookRoute.defaultMaxBodyBytes,
                    contentTypes: webhook.contentTypes ?? CompiledAdapter.WebhookRoute.defaultContentTypes))
        }
    }

    private func compileRule(_ rule: RuleSpec, key: String, context: inout Context) -> CompiledAdapter.Rule? {
        var conditions: [CompiledAdapter.Condition] = []
        for condition in rule.when {
            let conditionKey = key + ".when." + condition.path
            var path = condition.path.trimmingCharacters(in: .whitespaces)
            if path.hasPrefix("${"), path.hasSuffix("}") { path = String(path.dropFirst(2).dropLast()) }
            do {
                let expression = try ExpressionParser.parse(path)
                context.checkRoots([expression], key: conditionKey)
                conditions.append(CompiledAdapter.Condition(expression: expression, match: condition.match))
            } catch {
                context.report("condition path does not parse: \(error.message)", key: conditionKey)
            }
        }
        var steps: [CompiledAdapter.Step] = []
        var declared: [String] = []
        for (index, step) in rule.steps.enumerated() {
            let position = step.position ?? index
            let stepKey = key + ".do[\(position)]"
            let id = step.id ?? String(position + 1)
            if declared.contains(id) {
                context.report("duplicate step id '\(id)' in rule '\(rule.name)'", key: stepKey + ".id")
            }
            let needs = step.needs ?? (declared.last.map { [$0] } ?? [])
            for need in needs where !declared.contains(need) {
                context.report(
                    "needs '\(need)', which is not a step declared before this one"
                        + Suggestions.didYouMean(need, in: declared),
                    key: stepKey + ".needs")
            }
            declared.append(id)
            if let compiled = compileStep(step.action, id: id, needs: needs, key: stepKey, context: &context) {
                steps.append(compiled)
            }
        }
        return CompiledAdapter.Rule(name: rule.name, conditions: conditions, steps: steps)
    }

    /// A start without `workflow_id` gets `bridge-{adapter}-{32 hex}`, which must fit the engine's 128 bytes: an
    /// adapter name over 88 bytes would have every such event rejected at mapping.
    private func checkDerivedWorkflowID(_ workflowID: String?, key: String, context: inout Context) {
        guard workflowID == nil, let name = context.adapterName else { return }
        let derived = CompiledAdapter.derivedWorkflowID(adapter: name, idempotencyKey: "").utf8.count
        guard derived > 128 else { return }
        context.report(
            "without workflow_id the engine's id would be bridge-<adapter>-<32 hex>, \(derived) bytes (at most 128): "
                + "set workflow_id, or shorten the adapter name to 88 bytes or less",
            key: key)
    }

    private func compileStep(
        _ action: ActionSpec, id: String, needs: [String], key: String, context: inout Context
    ) -> CompiledAdapter.Step? {
        switch action {
        case .startWorkflow(let spec):
            let k = key + ".start_workflow"
            checkDerivedWorkflowID(spec.workflowID, key: k, context: &context)
            return CompiledAdapter.Step(
                id: id, needs: needs, action: .startWorkflow,
                workflowID: context.template(spec.workflowID, key: k + ".workflow_id"),
                workflowType: context.template(spec.workflowType, key: k + ".workflow_type"),
                taskQueue: context.template(spec.taskQueue, key: k + ".task_queue"),
                businessKey: context.template(spec.businessKey, key: k + ".business_key"),
                duplicatePolicy: spec.duplicatePolicy ?? .useExisting, signalName: nil, updateName: nil, waitFor: nil,
                waitTimeout: nil, executionTimeout: spec.executionTimeout, runTimeout: spec.runTimeout,
                input: context.template(spec.input, key: k + ".input"), startInput: nil)
        case .signalWorkflow(let spec):
            let k = key + ".signal_workflow"
            return CompiledAdapter.Step(
                id: id, needs: needs, action: .signalWorkflow,
                workflowID: context.template(spec.workflowID, key: k + ".workflow_id"), workflowType: nil,
                taskQueue: nil, businessKey: nil, duplicatePolicy: nil,
                signalName: context.template(spec.signalName, key: k + ".signal_name"), updateName: nil, waitFor: nil,
                waitTimeout: nil, executionTimeout: nil, runTimeout: nil,
                input: context.template(spec.input, key: k + ".input"), startInput: nil)
        case .updateWorkflow(let spec):
            let k = key + ".update_workflow"
            return CompiledAdapter.Step(
                id: id, needs: needs, action: .updateWorkflow,
                workflowID: context.template(spec.workflowID, key: k + ".workflow_id"), workflowType: nil,
                taskQueue: nil, businessKey: nil, duplicatePolicy: nil, signalName: nil,
                updateName: context.template(spec.updateName, key: k + ".update_name"),
                waitFor: spec.waitFor ?? .accepted, waitTimeout: spec.waitTimeout, executionTimeout: nil,
                runTimeout: nil, input: context.template(spec.input, key: k + ".input"), startInput: nil)
        case .signalWithStart(let spec):
            let k = key + ".signal_with_start"
            checkDerivedWorkflowID(spec.workflowID, key: k, context: &context)
            return CompiledAdapter.Step(
                id: id, needs: needs, action: .signalWithStart,
                workflowID: context.template(spec.workflowID, key: k + ".workflow_id"),
                workflowType: context.template(spec.workflowType, key: k + ".workflow_type"),
                taskQueue: context.template(spec.taskQueue, key: k + ".task_queue"),
                businessKey: context.template(spec.businessKey, key: k + ".business_key"),
                duplicatePolicy: .useExisting, signalName: context.template(spec.signalName, key: k + ".signal_name"),
                updateName: nil, waitFor: nil, waitTimeout: nil, executionTimeout: spec.executionTimeout,
                runTimeout: spec.runTimeout, input: context.template(spec.input, key: k + ".input"),
                startInput: context.template(spec.startInput, key: k + ".start_input"))
        }
    }
}
