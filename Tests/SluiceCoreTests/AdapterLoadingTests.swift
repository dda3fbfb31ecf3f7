import Foundation
import Testing

@testable import SluiceCore

/// A complete, valid adapter: the issue's Stripe example.
let stripeAdapterText = """
    # Stripe → order fulfilment.
    adapter: stripe-orders
    version: 3
    description: Start order fulfilment on paid checkouts and signal refunds.
    source:
      webhook:
        path: /webhooks/stripe
        verify: { scheme: stripe, secrets: ["${env:STRIPE_WEBHOOK_SECRET}"], tolerance: 5m }
    engine: primary
    boundary: { mode: push-pull, max_in_flight: 64, max_queued: 10000, cancellation_budget: 2s }
    ordering: { key: "${body.data.object.metadata.order_id}" }
    idempotency_key: "${event.id}"
    retry: { max_attempts: 10, initial_interval: 200ms, backoff_coefficient: 2.0, max_interval: 30s, non_retryable: [malformed_payload, unknown_target] }
    rules:
      - name: order-paid
        when: { event.type: checkout.session.completed, body.data.object.payment_status: paid }
        do:
          - start_workflow:
              workflow_type: orders.fulfillment
              workflow_id: "order-${body.data.object.metadata.order_id}"
              task_queue: orders
              business_key: "${body.data.object.metadata.order_id}"
              duplicate_policy: use_existing
              input:
                - order_id: "${body.data.object.metadata.order_id}"
                  amount_total: "${body.data.object.amount_total}"
                  currency: "${body.data.object.currency | upper}"
                  customer_email: "${body.data.object.customer_details.email | default(null)}"
      - name: refunded
        when: { event.type: [charge.refunded, charge.refund.updated] }
        do:
          - signal_workflow:
              workflow_id: "order-${body.data.object.metadata.order_id}"
              signal_name: refund_requested
              input: [{ amount: "${body.data.object.amount_refunded}", charge: "${body.data.object.id}" }]
    unmatched: ack

    """

/// A small valid adapter to which tests append or substitute lines.
func minimalAdapter(
    name: String = "demo", path: String = "/hooks/demo", extra: String = "", step: String = "start_workflow: { workflow_type: t }"
) -> String {
    """
    adapter: \(name)
    source:
      webhook: { path: \(path), verify: { scheme: none } }
    \(extra)
    rules:
      - name: r
        do:
          - \(step)

    """
}

private func messages(_ diagnostics: [Diagnostic]) -> [String] { diagnostics.map(\.message) }

private func errors(_ diagnostics: [Diagnostic]) -> [Diagnostic] { diagnostics.filter { $0.severity == .error } }

/// The one diagnostic whose message contains `text`, recorded as an issue when there is not exactly one.
private func only(
    _ diagnostics: [Diagnostic], containing text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) -> Diagnostic? {
    let matches = diagnostics.filter { $0.message.contains(text) }
    #expect(matches.count == 1, "expected one diagnostic with '\(text)' in \(diagnostics)", sourceLocation: sourceLocation)
    return matches.first
}

@Suite("Adapter loading")
struct AdapterLoadingTests {
    @Test("the issue's Stripe adapter compiles with every setting applied")
    func validAdapter() throws {
        let (adapter, diagnostics) = CoreTestSupport.compile(
            stripeAdapterText, env: ["STRIPE_WEBHOOK_SECRET": "whsec_abc"], engines: ["primary", "temporal"])
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let compiled = try #require(adapter)
        #expect(compiled.name == "stripe-orders")
        #expect(compiled.version == 3)
        #expect(compiled.description == "Start order fulfilment on paid checkouts and signal refunds.")
        #expect(compiled.engine == "primary")
        #expect(
            compiled.boundary
                == Boundary(mode: .pushPull, maxInFlight: 64, maxQueued: 10_000, cancellationBudget: .seconds(2)))
        #expect(compiled.retry.maxAttempts == 10)
        #expect(compiled.retry.initialInterval == .milliseconds(200))
        #expect(compiled.retry.backoffCoefficient == 2.0)
        #expect(compiled.retry.maxInterval == .seconds(30))
        #expect(compiled.retry.nonRetryable == ["malformed_payload", "unknown_target"])
        #expect(compiled.unmatched == .ack)
        #expect(compiled.rules.map(\.name) == ["order-paid", "refunded"])
        #expect(compiled.rules[0].conditions.count == 2)
        #expect(compiled.rules[1].conditions.first?.match == .anyOf(["charge.refunded", "charge.refund.updated"]))
        guard case .webhook(let route) = compiled.source else {
            Issue.record("not a webhook source")
            return
        }
        #expect(route.path == "/webhooks/stripe")
        #expect(route.verification.scheme == .stripe)
        #expect(route.verification.secrets.map(\.text) == ["whsec_abc"])
        #expect(route.verification.tolerance == .seconds(300))
        #expect(route.maxBodyBytes == 1 << 20)
        guard case .key(let orderingKey) = compiled.ordering else {
            Issue.record("ordering is \(compiled.ordering)")
            return
        }
        #expect(orderingKey.expressions.map(\.path) == ["body.data.object.metadata.order_id"])
        #expect(compiled.idempotencyKey.expressions.map(\.path) == ["event.id"])
        let step = try #require(compiled.rules[0].steps.first)
        #expect(step.id == "1")
        #expect(step.needs == [])
        #expect(step.action == .startWorkflow)
        #expect(step.duplicatePolicy == .useExisting)
        #expect(step.input?.expressions.count == 4)
    }

    @Test("defaults: version 1, idempotency key ${event.id}, unmatched ack, default boundary and retry")
    func defaults() throws {
        let adapter = try CoreTestSupport.adapter(minimalAdapter())
        #expect(adapter.version == 1)
        #expect(adapter.engine == nil)
        #expect(adapter.unmatched == .ack)
        #expect(adapter.dedupeWindow == nil)
        #expect(try CoreTestSupport.adapter(minimalAdapter(extra: "dedupe_window: 7d")).dedupeWindow == .seconds(7 * 86_400))
        #expect(adapter.boundary == .default)
        #expect(adapter.retry == .default)
        #expect(adapter.idempotencyKey == .expression(SluiceCore.Expression(root: .event, segments: [.member("id")])))
        guard case .none = adapter.ordering else {
            Issue.record("a webhook adapter is unordered by default, not \(adapter.ordering)")
            return
        }
        let kafka = try CoreTestSupport.adapter(
            """
            adapter: k
            source: { kafka: { topics: [orders.events, other_topic] } }
            rules: [{ name: r, do: [{ signal_workflow: { workflow_id: w, signal_name: s } }] }]
            """)
        guard case .kafka(let subscription) = kafka.source, case .recordKey = kafka.ordering else {
            Issue.record("kafka source/ordering: \(kafka.source) \(kafka.ordering)")
            return
        }
        #expect(subscription.topics == ["orders.events", "other_topic"])
        #expect(subscription.group == "sluice-k")
        #expect(subscription.deadLetterTopic == nil)
        #expect(subscription.outcomeTopic == nil)
    }

    @Test("a webhook without verify is a warning, not an error")
    func missingVerify() throws {
        let text = """
            adapter: open
            source: { webhook: { path: /open } }
            rules: [{ name: r, do: [{ start_workflow: { workflow_type: t } }] }]
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text)
        #expect(adapter != nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .warning)
        #expect(diagnostics.first?.key == "source.webhook")
        #expect(diagnostics.first?.description.contains(": warning: no verify") == true)
    }

    /// The providers sign the body, not the URL: a signed adapter keyed by the query string would take a captured
    /// delivery sent again with another query as a new event. A warning at `idempotency_key`; none without a signature.
    @Test("a signed webhook keyed by its query string is a warning")
    func keyFromTheQueryString() throws {
        func adapter(verify: String) -> String {
            """
            adapter: hooked
            source: { webhook: { path: /hooked, verify: \(verify) } }
            idempotency_key: "${webhook.query.delivery}"
            rules: [{ name: r, do: [{ start_workflow: { workflow_type: t } }] }]
            """
        }
        let signed = CoreTestSupport.compile(adapter(verify: "{ scheme: github, secrets: [s3cret] }"))
        #expect(signed.adapter != nil)
        let warning = try #require(signed.diagnostics.first { $0.key == "idempotency_key" })
        #expect(warning.severity == .warning)
        #expect(warning.message.contains("${webhook.query.delivery}, which the signature does not cover"), "\(warning.message)")
        let unsigned = CoreTestSupport.compile(adapter(verify: "{ scheme: none }"))
        #expect(!unsigned.diagnostics.contains { $0.key == "idempotency_key" })
    }

    /// A few hundred bytes of anchors repeated inside anchors would expand to a billion values ("billion laughs").
    @Test("aliases that expand to millions of values are a diagnostic, not an exhausted memory")
    func aliasExpansion() throws {
        var anchors = ["&a0 [l, l, l, l, l, l, l, l, l, l]"]
        for level in 1...8 {
            anchors.append("&a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let (adapter, diagnostics) = CoreTestSupport.compile(Self.adapter(withInput: anchors))
        #expect(adapter == nil)
        #expect(diagnostics.contains { $0.description.contains("expand to more than 100000 YAML nodes") }, "\(diagnostics)")
    }

    /// Anchors nested inside anchors reach any depth in a small file (here 1,000 levels in 20 anchors of 50); deeper than
    /// JSON's own limit would exhaust the stack wherever the value goes.
    @Test("aliases nested into a value deeper than JSON allows are a diagnostic")
    func deepAliasChain() throws {
        var anchors = ["&a0 " + String(repeating: "[", count: 50) + "x" + String(repeating: "]", count: 50)]
        for level in 1..<20 {
            anchors.append("&a\(level) " + String(repeating: "[", count: 50) + "*a\(level - 1)" + String(repeating: "]", count: 50))
        }
        let (adapter, diagnostics) = CoreTestSupport.compile(Self.adapter(withInput: anchors))
        #expect(adapter == nil)
        #expect(diagnostics.contains { $0.message == "the value is nested more than 256 levels deep" }, "\(diagnostics)")
    }

    /// A webhook adapter whose one step's `input` lists `values` (anchors and aliases, here).
    static func adapter(withInput values: [String]) -> String {
        """
        adapter: anchors
        source: { webhook: { path: /anchors, verify: { scheme: none } } }
        rules:
          - name: r
            do:
              - start_workflow: { workflow_type: t, input: [\(values.joined(separator: ", "))] }
        """
    }

    @Test("invalid YAML is one precise diagnostic, not a crash")
    func invalidYAML() throws {
        let cases: [(text: String, line: Int)] = [
            ("adapter: demo\nsource: [unclosed\nrules: []\n", 3),
            ("adapter: demo\n  version: 1\n bad: indentation\n", 2),
            ("adapter: \"unterminated\nversion: 1\n", 3),
            ("adapter: demo\nsource:\n\t- tab\n", 3),
        ]
        for (text, line) in cases {
            let (adapter, diagnostics) = CoreTestSupport.compile(text, file: "a.yaml")
            #expect(adapter == nil)
            #expect(diagnostics.count == 1, "\(diagnostics)")
            let diagnostic = try #require(diagnostics.first)
            #expect(diagnostic.message.hasPrefix("invalid YAML: "), "\(diagnostic)")
            #expect(diagnostic.file == "a.yaml")
            #expect(diagnostic.line >= 2 && diagnostic.line <= line, "\(diagnostic)")
            #expect(diagnostic.column >= 1)
            #expect(diagnostic.description.hasPrefix("a.yaml:\(diagnostic.line):\(diagnostic.column): (document): invalid YAML"))
        }
    }

    @Test("empty files, duplicate keys and non-mapping documents")
    func documentShape() {
        #expect(messages(CoreTestSupport.compile("").diagnostics) == ["the file is empty"])
        #expect(messages(CoreTestSupport.compile("# only a comment\n").diagnostics) == ["the file is empty"])
        let duplicate = CoreTestSupport.compile("adapter: a\nadapter: b\n").diagnostics
        #expect(duplicate.count == 1)
        #expect(duplicate.first?.message.contains("duplicate key 'adapter'") == true, "\(duplicate)")
        let list = CoreTestSupport.compile("- adapter: a\n").diagnostics
        #expect(list.count == 1)
        #expect(list.first?.message.hasPrefix("expected a mapping with keys adapter, version") == true, "\(list)")
        #expect(list.first?.message.hasSuffix("found a list") == true)
        let scalar = CoreTestSupport.compile("just text").diagnostics
        #expect(scalar.first?.message.hasSuffix("found 'just text'") == true, "\(scalar)")
    }

    @Test("unknown keys are reported with a did-you-mean at every level")
    func unknownKeys() throws {
        let text = """
            adaptor: demo
            verison: 2
            source:
              webhook: { path: /hooks/demo, verfy: { scheme: none } }
            boundary: { max_inflight: 3 }
            retry: { max_attemps: 3 }
            rules:
              - name: r
                wen: { event.type: a }
                do:
                  - start_workflow: { workflow_type: t, task_queu: q, inptu: [1] }
                  - signal_workflow: { workflow_id: w, signal_nam: s, signal_name: s }
                  - update_workflow: { workflow_id: w, update_name: u, wait_fr: accepted }
                  - signal_with_start: { workflow_type: t, signal_name: s, start_inptu: [] }
            """
        let diagnostics = CoreTestSupport.compile(text).diagnostics
        let expected: [(key: String, message: String)] = [
            ("adaptor", "unknown key 'adaptor' (did you mean 'adapter'?)"),
            ("verison", "unknown key 'verison' (did you mean 'version'?)"),
            ("source.webhook.verfy", "unknown key 'verfy' (did you mean 'verify'?)"),
            ("boundary.max_inflight", "unknown key 'max_inflight' (did you mean 'max_in_flight'?)"),
            ("retry.max_attemps", "unknown key 'max_attemps' (did you mean 'max_attempts'?)"),
            ("rules[0].wen", "unknown key 'wen' (did you mean 'when'?)"),
            ("rules[0].do[0].start_workflow.task_queu", "unknown key 'task_queu' (did you mean 'task_queue'?)"),
            ("rules[0].do[0].start_workflow.inptu", "unknown key 'inptu' (did you mean 'input'?)"),
            ("rules[0].do[1].signal_workflow.signal_nam", "unknown key 'signal_nam' (did you mean 'signal_name'?)"),
            ("rules[0].do[2].update_workflow.wait_fr", "unknown key 'wait_fr' (did you mean 'wait_for'?)"),
            ("rules[0].do[3].signal_with_start.start_inptu", "unknown key 'start_inptu' (did you mean 'start_input'?)"),
        ]
        for (key, message) in expected {
            let match = diagnostics.first { $0.key == key }
            #expect(match?.message.hasPrefix(message) == true, "\(key): \(String(describing: match)) in \(diagnostics)")
            #expect(match?.message.contains("(known keys: ") == true)
        }
        #expect(diagnostics.contains { $0.key == "adapter" && $0.message == "missing required key 'adapter'" })
        // A far-off key gets no suggestion.
        let far = CoreTestSupport.compile(minimalAdapter(extra: "zzzzzzzz: 1")).diagnostics
        #expect(far.first { $0.key == "zzzzzzzz" }?.message.hasPrefix("unknown key 'zzzzzzzz' (known keys: ") == true)
    }

    /// A Kafka adapter's consumer is a pull source: a push-only boundary would stop it at its first fetch, so it is
    /// an error where the mode is written (a webhook adapter's mode is checked at start, against `kafka.inbox_topic`).
    @Test("a Kafka adapter's boundary must take pull sources")
    func kafkaAdapterRefusesPushOnly() {
        let kafka = """
            adapter: orders
            source:
              kafka: { topics: [orders] }
            boundary: { mode: push-only }
            rules:
              - name: r
                do:
                  - start_workflow: { workflow_type: t }

            """
        let (adapter, diagnostics) = CoreTestSupport.compile(kafka)
        #expect(adapter == nil)
        let problem = diagnostics.first { $0.key == "boundary.mode" && $0.severity == .error }
        #expect(problem?.message.hasPrefix("boundary mode push-only refuses pull sources, and this adapter reads Kafka") == true, "\(diagnostics)")
        #expect(problem?.line == 4)
        for mode in ["pull-only", "push-pull"] {
            #expect(errors(CoreTestSupport.compile(kafka.replacingOccurrences(of: "push-only", with: mode)).diagnostics).isEmpty)
        }
        #expect(errors(CoreTestSupport.compile(minimalAdapter(extra: "boundary: { mode: push-only }")).diagnostics).isEmpty)
    }

    @Test("a start with a derived workflow id needs an adapter name of 88 bytes or less")
    func derivedWorkflowIDsFitTheEngine() {
        let long = String(repeating: "a", count: 89)
        let diagnostics = CoreTestSupport.compile(minimalAdapter(name: long)).diagnostics
        let problem = diagnostics.first { $0.key == "rules[0].do[0].start_workflow" }
        #expect(problem?.message.contains("129 bytes (at most 128)") == true, "\(diagnostics)")
        #expect(errors(CoreTestSupport.compile(minimalAdapter(name: String(long.dropLast()))).diagnostics).isEmpty)
        let named = minimalAdapter(name: long, step: "start_workflow: { workflow_type: t, workflow_id: \"o-${body.id}\" }")
        #expect(errors(CoreTestSupport.compile(named).diagnostics).isEmpty, "an explicit workflow_id is checked per event")
    }

    @Test("wrong types say what was expected and what was found", arguments: [
        ("version: three", "version", "expected a whole number, found 'three'"),
        ("version: \"3\"", "version", "expected a whole number, found '3'"),
        ("version: 0", "version", "must be between 1 and 2147483647, found 0"),
        ("version: [1]", "version", "expected a whole number, found a list"),
        ("boundary: { max_in_flight: 0 }", "boundary.max_in_flight", "must be between 1 and 100000, found 0"),
        ("boundary: { max_queued: -1 }", "boundary.max_queued", "must be between 1 and 10000000, found -1"),
        // Every event waits in the queue, however briefly, before it starts: with no room there, none would ever run.
        ("boundary: { max_queued: 0 }", "boundary.max_queued", "must be between 1 and 10000000, found 0"),
        ("boundary: { mode: push }", "boundary.mode", "'push' is not one of push-pull, push-only, pull-only"),
        ("boundary: fast", "boundary", "expected a mapping with keys mode, max_in_flight"),
        ("retry: { backoff_coefficient: fast }", "retry.backoff_coefficient", "expected a number, found 'fast'"),
        ("retry: { backoff_coefficient: 0.5 }", "retry.backoff_coefficient", "must be between 1.0 and 100.0, found 0.5"),
        ("retry: { max_attempts: 1.5 }", "retry.max_attempts", "expected a whole number, found '1.5'"),
        ("unmatched: drop", "unmatched", "'drop' is not one of ack, dead_letter"),
        ("unmatched: dead-letter", "unmatched", "'dead-letter' is not one of ack, dead_letter (did you mean 'dead_letter'?)"),
        ("engine: ", "engine", "expected text, found nothing"),
        ("engine: [a]", "engine", "expected text, found a list"),
        ("idempotency_key: \"\"", "idempotency_key", "must not be empty"),
        ("ordering: random", "ordering", "ordering is none, partition, or { key: \"${...}\" }, not 'random'"),
        ("ordering: { key: 5, other: 1 }", "ordering.other", "unknown key 'other'"),
        ("description: { a: 1 }", "description", "expected text, found a mapping"),
    ])
    func wrongTypes(line: String, key: String, message: String) {
        let (adapter, diagnostics) = CoreTestSupport.compile(minimalAdapter(extra: line))
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == key && $0.severity == .error }
        #expect(match?.message.hasPrefix(message) == true, "\(diagnostics)")
    }

    @Test("wrong shapes in rules, steps and sources", arguments: [
        ("rules: { a: 1 }", "rules", "expected a list of rules, found a mapping"),
        ("rules: []", "rules", "an adapter needs at least one rule"),
        ("rules: [{ name: r, do: [] }]", "rules[0].do", "expected a non-empty list of actions"),
        ("rules: [{ name: r, do: { start_workflow: { workflow_type: t } } }]", "rules[0].do", "expected a non-empty list of actions"),
        ("rules: [{ do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].name", "missing required key 'name'"),
        ("rules: [{ name: r, do: [{ id: x }] }]", "rules[0].do[0]", "a step needs an action: one of start_workflow"),
        ("rules: [{ name: r, do: [{ start_workflow: { workflow_type: t }, signal_workflow: { workflow_id: w, signal_name: s } }] }]", "rules[0].do[0]", "a step has exactly one action"),
        ("rules: [{ name: r, do: [{ start_workflow: { workflow_id: w } }] }]", "rules[0].do[0].start_workflow.workflow_type", "missing required key 'workflow_type'"),
        ("rules: [{ name: r, do: [{ signal_workflow: { workflow_id: w } }] }]", "rules[0].do[0].signal_workflow.signal_name", "missing required key 'signal_name'"),
        ("rules: [{ name: r, do: [{ update_workflow: { workflow_id: w, update_name: u, wait_for: done } }] }]", "rules[0].do[0].update_workflow.wait_for", "'done' is not one of accepted, completed"),
        ("rules: [{ name: r, do: [{ start_workflow: { workflow_type: t, duplicate_policy: fail } }] }]", "rules[0].do[0].start_workflow.duplicate_policy", "'fail' is not one of use_existing, reject_duplicate"),
        ("rules: [{ name: r, do: [{ id: 'a b', start_workflow: { workflow_type: t } }] }]", "rules[0].do[0].id", "a step id uses letters, digits and . _ : -"),
        ("rules: [{ name: r, when: { event.type: [] }, do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when.event.type", "an empty list matches nothing"),
        ("rules: [{ name: r, when: { event.type: { exists: maybe } }, do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when.event.type.exists", "expected true or false, found 'maybe'"),
        ("rules: [{ name: r, when: { event.type: { equals: a, prefix: b } }, do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when.event.type", "use exactly one of equals, any_of, exists, prefix"),
        ("rules: [{ name: r, when: { event.type: { any_of: a } }, do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when.event.type.any_of", "expected a list"),
        ("rules: [{ name: r, when: { event.type: { prefx: a } }, do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when.event.type.prefx", "unknown key 'prefx' (did you mean 'prefix'?)"),
        ("rules: [{ name: r, when: [a], do: [{ start_workflow: { workflow_type: t } }] }]", "rules[0].when", "expected a mapping, found a list"),
        ("rules:\n  - { name: r, do: [{ start_workflow: { workflow_type: t } }] }\n  - { name: r, do: [{ start_workflow: { workflow_type: t } }] }", "rules[1].name", "duplicate rule name 'r'"),
        ("rules:\n  - { do: [{ start_workflow: { workflow_type: t } }] }\n  - { name: r, do: [{ start_workflow: { workflow_type: t } }] }\n  - { name: r, do: [{ start_workflow: { workflow_type: t } }] }", "rules[2].name", "duplicate rule name 'r'"),
    ])
    func wrongShapes(rules: String, key: String, message: String) {
        let text = """
            adapter: demo
            source: { webhook: { path: /hooks/demo, verify: { scheme: none } } }
            \(rules)
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text)
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == key && $0.severity == .error }
        #expect(match?.message.hasPrefix(message) == true, "\(diagnostics)")
    }

    @Test("source problems", arguments: [
        ("source: { webhook: { path: hooks } }", "source.webhook.path", "'hooks' is not a webhook path such as /webhooks/stripe: a path starts with '/'"),
        ("source: { webhook: { path: /a?b=1 } }", "source.webhook.path", "'/a?b=1' is not a webhook path such as /webhooks/stripe: '?' is not allowed"),
        ("source: { webhook: { path: '/hooks/:id' } }", "source.webhook.path", "'/hooks/:id' is not a webhook path such as /webhooks/stripe: a path segment cannot start with ':'"),
        ("source: { webhook: { path: '/hooks/{id}' } }", "source.webhook.path", "'/hooks/{id}' is not a webhook path such as /webhooks/stripe: '{' is not allowed"),
        ("source: { webhook: { path: '/hooks/*' } }", "source.webhook.path", "'/hooks/*' is not a webhook path such as /webhooks/stripe: '*' is not allowed"),
        ("source: { webhook: { path: '/hooks/100%' } }", "source.webhook.path", "'/hooks/100%' is not a webhook path such as /webhooks/stripe: '%' starts a percent-encoded byte"),
        ("source: { webhook: { path: /a, max_body_bytes: 0 } }", "source.webhook.max_body_bytes", "must be between 1 and 67108864"),
        ("source: { webhook: { path: /a, content_types: [] } }", "source.webhook.content_types", "list at least one media type"),
        ("source: { webhook: { path: /a, content_types: json } }", "source.webhook.content_types[0]", "'json' is not a media type"),
        ("source: { webhook: { path: /a, content_types: [application/json, 'application/json; charset=utf-8'] } }", "source.webhook.content_types[1]", "'application/json; charset=utf-8' is not a media type"),
        ("source: { webhook: { verify: { scheme: none } } }", "source.webhook.path", "missing required key 'path'"),
        ("source: { webhook: { path: /a }, kafka: { topics: [t] } }", "source", "a source is either 'webhook' or 'kafka' (exactly one)"),
        ("source: {}", "source", "a source is either 'webhook' or 'kafka' (exactly one)"),
        ("source: { kafka: { topics: [] } }", "source.kafka.topics", "name at least one topic"),
        ("source: { kafka: { topics: ['bad topic'] } }", "source.kafka.topics", "'bad topic' is not a valid Kafka topic name"),
        ("source: { kafka: { topics: [t], dead_letter_topic: 'a/b' } }", "source.kafka.dead_letter_topic", "'a/b' is not a valid Kafka topic name"),
        ("source: { kafka: { topics: [t], outcome_topic: 'a b' } }", "source.kafka.outcome_topic", "'a b' is not a valid Kafka topic name"),
        ("source: { kafka: { topics: [t, u], outcome_topic: u } }", "source.kafka.outcome_topic", "'u' is also consumed by this adapter: each outcome would come back as an event"),
        ("source: { kafka: { topics: [t, u], dead_letter_topic: t } }", "source.kafka.dead_letter_topic", "'t' is also consumed by this adapter: each dead letter would come back as an event, and fail again"),
        ("source: { webhook: { path: /a, verify: { scheme: stripe } } }", "source.webhook.verify.secrets", "scheme 'stripe' needs at least one secret"),
        ("source: { webhook: { path: /a, verify: { scheme: strpe, secrets: [x] } } }", "source.webhook.verify.scheme", "'strpe' is not one of stripe, github, shopify, slack, hmac, bearer, none, standard-webhooks (did you mean 'stripe'?)"),
        ("source: { webhook: { path: /a, verify: { scheme: hmac, secrets: [x] } } }", "source.webhook.verify.header", "scheme 'hmac' needs the header"),
        ("source: { webhook: { path: /a, verify: { scheme: github, secrets: [x], header: X-Sig } } }", "source.webhook.verify.header", "'header' applies to scheme 'hmac' only"),
        ("source: { webhook: { path: /a, verify: { scheme: hmac, secrets: [x], header: X, algorithm: md5 } } }", "source.webhook.verify.algorithm", "'md5' is not one of sha256, sha512"),
        ("source: { webhook: { path: /a, verify: { scheme: hmac, secrets: [x], header: X, encoding: b32 } } }", "source.webhook.verify.encoding", "'b32' is not one of hex, base64"),
        ("source: { webhook: { path: /a, verify: { scheme: none } } }\nordering: partition", "ordering", "ordering 'partition' applies to Kafka sources only"),
    ])
    func sourceProblems(source: String, key: String, message: String) {
        let text = """
            adapter: demo
            \(source)
            rules: [{ name: r, do: [{ start_workflow: { workflow_type: t } }] }]
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text)
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == key && $0.severity == .error }
        #expect(match?.message.hasPrefix(message) == true, "\(diagnostics)")
    }

    @Test("bad durations", arguments: [
        ("source: { webhook: { path: /a, verify: { scheme: stripe, secrets: [x], tolerance: 5 minutes } } }", "source.webhook.verify.tolerance", "'5 minutes' is not a duration"),
        ("source: { webhook: { path: /a, verify: { scheme: stripe, secrets: [x], tolerance: 500ms } } }", "source.webhook.verify.tolerance", "must be at least 1s"),
        ("source: { webhook: { path: /a } }\ndedupe_window: 500ms", "dedupe_window", "must be at least 1s"),
        ("source: { webhook: { path: /a } }\ndedupe_window: a week", "dedupe_window", "'a week' is not a duration"),
        ("boundary: { cancellation_budget: 2x }", "boundary.cancellation_budget", "'2x' is not a duration: write a number and a unit (ms, s, m, h), such as 200ms, 2s, 5m"),
        ("boundary: { cancellation_budget: 5 }", "boundary.cancellation_budget", "'5' is not a duration"),
        ("boundary: { cancellation_budget: -1s }", "boundary.cancellation_budget", "'-1s' is not a duration"),
        ("boundary: { cancellation_budget: [1s] }", "boundary.cancellation_budget", "expected a duration such as 200ms, 2s, 5m or 1h, found a list"),
        ("retry: { initial_interval: 0ms }", "retry.initial_interval", "must be at least 1ms"),
        ("retry: { initial_interval: 10s, max_interval: 1s }", "retry.max_interval", "max_interval (1s) is shorter than initial_interval (10s)"),
        ("retry: { initial_interval: 1m }", "retry", "max_interval is shorter than initial_interval"),
    ])
    func badDurations(line: String, key: String, message: String) {
        let text = line.hasPrefix("source:")
            ? "adapter: demo\n\(line)\nrules: [{ name: r, do: [{ start_workflow: { workflow_type: t } }] }]\n"
            : minimalAdapter(extra: line)
        let (adapter, diagnostics) = CoreTestSupport.compile(text)
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == key && $0.severity == .error }
        #expect(match?.message.hasPrefix(message) == true, "\(diagnostics)")
    }

    @Test("step durations have a one-second minimum")
    func stepDurations() {
        let diagnostics = CoreTestSupport.compile(
            minimalAdapter(step: "update_workflow: { workflow_id: w, update_name: u, wait_timeout: 500ms }")
        ).diagnostics
        #expect(
            diagnostics.first { $0.key == "rules[0].do[0].update_workflow.wait_timeout" }?.message == "must be at least 1s")
        let run = CoreTestSupport.compile(minimalAdapter(step: "start_workflow: { workflow_type: t, run_timeout: soon }")).diagnostics
        #expect(run.first { $0.key == "rules[0].do[0].start_workflow.run_timeout" }?.message.hasPrefix("'soon' is not a duration") == true)
    }

    @Test("adapter names follow ^[a-zA-Z0-9._:-]+$ and are at most 128 bytes", arguments: [
        "stripe orders", "stripe/orders", "ünï", "a\\b", String(repeating: "a", count: 129), "'#hash'",
    ])
    func invalidNames(name: String) {
        let (adapter, diagnostics) = CoreTestSupport.compile(minimalAdapter(name: name))
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == "adapter" }
        #expect(match?.message.contains("is not a valid adapter name") == true, "\(diagnostics)")
    }

    @Test("valid adapter names", arguments: ["a", "kafka.orders", "ns:name_1-2", String(repeating: "Z", count: 128)])
    func validNames(name: String) throws {
        // With an explicit workflow_id: a derived one has room for 88 bytes of name only.
        let step = "start_workflow: { workflow_type: t, workflow_id: \"o-${body.id}\" }"
        #expect(try CoreTestSupport.adapter(minimalAdapter(name: name, step: step)).name == name)
    }

    /// The router matches a path as sent, still percent-encoded: such a path is a route like any other.
    @Test("a webhook path may hold percent-encoded bytes")
    func percentEncodedPaths() {
        let (adapter, diagnostics) = CoreTestSupport.compile(minimalAdapter(path: "/hooks/caf%C3%A9/"))
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics)")
        guard case .webhook(let route)? = adapter?.source else {
            Issue.record("no webhook source")
            return
        }
        #expect(route.path == "/hooks/caf%C3%A9")
    }

    @Test("duplicate adapter names and webhook paths across files are reported on the later file")
    func duplicatesAcrossFiles() {
        let files = [
            AdapterSet.File(name: "adapters/a.yaml", text: minimalAdapter(name: "same", path: "/hooks/one")),
            AdapterSet.File(name: "adapters/b.yaml", text: minimalAdapter(name: "same", path: "/hooks/two")),
            // The router reads `//hooks/one/` as `/hooks/one`: one route, which it would refuse (and stop) to register twice.
            AdapterSet.File(name: "adapters/c.yaml", text: minimalAdapter(name: "other", path: "//hooks/one/")),
            AdapterSet.File(name: "adapters/d.yaml", text: minimalAdapter(name: "fine", path: "/hooks/four")),
        ]
        let (set, diagnostics) = AdapterSet.compile(files, compiler: CoreTestSupport.compiler())
        #expect(set == nil)
        #expect(diagnostics.count == 2, "\(diagnostics)")
        let name = diagnostics.first { $0.key == "adapter" }
        #expect(name?.file == "adapters/b.yaml")
        #expect(name?.message == "duplicate adapter name 'same' (also in adapters/a.yaml)")
        let path = diagnostics.first { $0.key == "source.webhook.path" }
        #expect(path?.file == "adapters/c.yaml")
        #expect(path?.message == "duplicate webhook path '/hooks/one' (also in adapters/a.yaml)")
        #expect(diagnostics == diagnostics.sorted())

        let (good, none) = AdapterSet.compile(Array(files[2...]), compiler: CoreTestSupport.compiler())
        #expect(none.isEmpty)
        #expect(good?.adapters.map(\.name) == ["other", "fine"])
        #expect(good?.adapter(named: "fine")?.name == "fine")
        #expect(good?.adapter(named: "nope") == nil)
    }

    /// Each adapter runs its own consumer: two in one group would split a topic's partitions between them.
    @Test("two Kafka adapters reading one topic in one consumer group are refused")
    func aConsumerGroupReadsATopicForOneAdapterOnly() {
        func kafka(_ name: String, topics: String, group: String?) -> AdapterSet.File {
            let groupText = group.map { ", group: \($0)" } ?? ""
            let text = """
                adapter: \(name)
                source:
                  kafka: { topics: [\(topics)]\(groupText) }
                rules:
                  - name: r
                    do:
                      - start_workflow: { workflow_type: t }

                """
            return AdapterSet.File(name: "\(name).yaml", text: text)
        }
        let (set, diagnostics) = AdapterSet.compile(
            [kafka("a", topics: "orders, refunds", group: "shared"), kafka("b", topics: "refunds", group: "shared")],
            compiler: CoreTestSupport.compiler())
        #expect(set == nil)
        #expect(diagnostics.count == 1, "\(diagnostics)")
        #expect(diagnostics.first?.file == "b.yaml")
        #expect(diagnostics.first?.key == "source.kafka.group")
        #expect(
            diagnostics.first?.message
                == "consumer group 'shared' already reads topic 'refunds' (in a.yaml): each adapter would get only part of its partitions; give each adapter a group of its own")
        // Other topics in one group, or one topic in the default groups (one per adapter), are fine.
        let fine = [
            [kafka("a", topics: "orders", group: "shared"), kafka("b", topics: "refunds", group: "shared")],
            [kafka("a", topics: "orders", group: nil), kafka("b", topics: "orders", group: nil)],
        ]
        for files in fine {
            #expect(AdapterSet.compile(files, compiler: CoreTestSupport.compiler()).diagnostics.isEmpty)
        }
    }

    @Test("an adapter set reports every file's problems, sorted by file")
    func setCollectsAllFiles() {
        let files = [
            AdapterSet.File(name: "b.yaml", text: minimalAdapter(name: "b", extra: "version: x")),
            AdapterSet.File(name: "a.yaml", text: "adapter: [\n"),
        ]
        let (set, diagnostics) = AdapterSet.compile(files, compiler: CoreTestSupport.compiler())
        #expect(set == nil)
        #expect(diagnostics.map(\.file) == ["a.yaml", "b.yaml"])
    }

    @Test("unknown engines are errors when sluice.yaml names engines, unchecked otherwise")
    func unknownEngines() throws {
        let text = minimalAdapter(extra: "engine: primry")
        let (adapter, diagnostics) = CoreTestSupport.compile(text, engines: ["primary", "temporal"])
        #expect(adapter == nil)
        let diagnostic = try #require(only(diagnostics, containing: "unknown engine"))
        #expect(diagnostic.key == "engine")
        #expect(diagnostic.message == "unknown engine 'primry' (did you mean 'primary'?) (sluice.yaml names: primary, temporal)")
        #expect(diagnostic.line == 4)
        #expect(diagnostic.column == 9)
        #expect(try CoreTestSupport.adapter(text).engine == "primry")
        #expect(CoreTestSupport.compile(minimalAdapter(extra: "engine: primary"), engines: ["primary"]).diagnostics.isEmpty)
    }

    @Test("expressions that do not parse are reported at their key", arguments: [
        ("start_workflow: { workflow_type: t, workflow_id: \"o-${bdy.id}\" }", "rules[0].do[0].start_workflow.workflow_id", "unknown root 'bdy' (did you mean 'body'?)"),
        ("start_workflow: { workflow_type: \"${body.t | lowr}\" }", "rules[0].do[0].start_workflow.workflow_type", "unknown filter 'lowr' (did you mean 'lower'?)"),
        ("start_workflow: { workflow_type: t, task_queue: \"${body.q\" }", "rules[0].do[0].start_workflow.task_queue", "unterminated '${'"),
        ("start_workflow: { workflow_type: t, business_key: \"${kafka.topik}\" }", "rules[0].do[0].start_workflow.business_key", "unknown field 'kafka.topik' (did you mean 'topic'?)"),
        ("start_workflow: { workflow_type: t, input: [{ a: [\"${body.x |}\"] }] }", "rules[0].do[0].start_workflow.input", "expected a filter name after '|'"),
        ("signal_workflow: { workflow_id: w, signal_name: \"${}\" }", "rules[0].do[0].signal_workflow.signal_name", "empty expression"),
        ("update_workflow: { workflow_id: \"${body[x]}\", update_name: u }", "rules[0].do[0].update_workflow.workflow_id", "expected an array index"),
        ("signal_with_start: { workflow_type: t, signal_name: s, start_input: \"${webhook}\" }", "rules[0].do[0].signal_with_start.start_input", "webhook needs a field"),
    ])
    func badExpressions(step: String, key: String, message: String) {
        let (adapter, diagnostics) = CoreTestSupport.compile(minimalAdapter(step: step))
        #expect(adapter == nil)
        let match = diagnostics.first { $0.key == key }
        #expect(match?.message.hasPrefix("expression does not parse: " + message) == true, "\(diagnostics)")
    }

    /// A key with no expression of the event is the same for every event: all but the first would be dropped as
    /// duplicates.
    @Test("an idempotency key that is the same for every event is refused", arguments: [
        "idempotency_key: event.id", "idempotency_key: \"$${body.id}\"", "idempotency_key: \"${adapter.name}-${adapter.version}\"",
    ])
    func aConstantKeyIsRefused(line: String) {
        let (adapter, diagnostics) = CoreTestSupport.compile(minimalAdapter(extra: line))
        #expect(adapter == nil)
        let problem = diagnostics.first { $0.key == "idempotency_key" }
        #expect(problem?.message.hasPrefix("the key is the same for every event") == true, "\(diagnostics)")
        #expect(problem?.line == 4)
    }

    /// A webhook's events have no Kafka position and a Kafka record's no webhook request: a condition on such a field
    /// never matches, and a template reading it is always missing.
    @Test("fields the adapter's source never sets are refused")
    func fieldsOfTheOtherSourceAreRefused() {
        let webhook = CoreTestSupport.compile(
            minimalAdapter(
                extra: "idempotency_key: \"${kafka.offset}\"",
                step: "start_workflow: { workflow_type: t, workflow_id: \"w-${body.id}\" }")
        ).diagnostics
        #expect(webhook.first { $0.key == "idempotency_key" }?.message == "${kafka.offset}: a webhook adapter's events have no kafka.* fields")
        let kafka = CoreTestSupport.compile(
            """
            adapter: k
            source:
              kafka: { topics: [orders] }
            rules:
              - name: r
                when: { webhook.path: /x }
                do:
                  - start_workflow: { workflow_type: t, input: ["${webhook.query.a}"] }

            """
        ).diagnostics
        #expect(kafka.first { $0.key == "rules[0].when.webhook.path" }?.message == "${webhook.path}: a Kafka adapter's events have no webhook.* fields")
        #expect(kafka.first { $0.key == "rules[0].do[0].start_workflow.input" }?.message == "${webhook.query.a}: a Kafka adapter's events have no webhook.* fields")
        #expect(kafka.count == 2, "\(kafka)")
    }

    /// A rule or step that could not be read is left out of the spec; problems found later still name the others by
    /// their places in the file.
    @Test("a problem in a later rule or step names its own place when an earlier one could not be read")
    func placesSurviveAnUnreadableRule() {
        let diagnostics = CoreTestSupport.compile(
            """
            adapter: demo
            source: { webhook: { path: /a, verify: { scheme: none } } }
            rules:
              - do: [{ start_workflow: { workflow_type: t } }]
              - name: b
                do:
                  - start_workflow: {}
                  - start_workflow: { workflow_type: "${evnt.x}" }

            """
        ).diagnostics
        let expression = diagnostics.first { $0.message.hasPrefix("expression does not parse") }
        #expect(expression?.key == "rules[1].do[1].start_workflow.workflow_type", "\(diagnostics)")
        #expect(expression?.line == 8, "\(diagnostics)")
    }

    @Test("expressions in keys and conditions are checked too")
    func badExpressionsElsewhere() {
        let keyed = CoreTestSupport.compile(minimalAdapter(extra: "idempotency_key: \"${evnt.id}\"\nordering: { key: \"${body.k | nope}\" }")).diagnostics
        #expect(keyed.first { $0.key == "idempotency_key" }?.message.hasPrefix("expression does not parse: unknown root 'evnt'") == true, "\(keyed)")
        #expect(keyed.first { $0.key == "ordering.key" }?.message.hasPrefix("expression does not parse: unknown filter 'nope'") == true, "\(keyed)")

        let condition = CoreTestSupport.compile(
            """
            adapter: demo
            source: { webhook: { path: /a, verify: { scheme: none } } }
            rules:
              - name: r
                when: { evnt.type: a, "${kafka.topk}": b, body.ok: c, "${body.fine}": d }
                do: [{ start_workflow: { workflow_type: t } }]
            """
        ).diagnostics
        #expect(condition.count == 2, "\(condition)")
        #expect(condition.first { $0.key == "rules[0].when.evnt.type" }?.message.hasPrefix("condition path does not parse: unknown root 'evnt' (did you mean 'event'?)") == true)
        #expect(condition.first { $0.key == "rules[0].when.${kafka.topk}" }?.message.hasPrefix("condition path does not parse: unknown field 'kafka.topk'") == true)
    }

    @Test("needs must name steps declared earlier in the rule; step ids are unique")
    func needs() throws {
        let text = """
            adapter: demo
            source: { webhook: { path: /a, verify: { scheme: none } } }
            rules:
              - name: r
                do:
                  - id: start
                    start_workflow: { workflow_type: t }
                  - id: signal
                    needs: [strat]
                    signal_workflow: { workflow_id: w, signal_name: s }
                  - id: later
                    needs: [after]
                    signal_workflow: { workflow_id: w, signal_name: s }
                  - id: after
                    signal_workflow: { workflow_id: w, signal_name: s }
                  - id: start
                    signal_workflow: { workflow_id: w, signal_name: s }
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text)
        #expect(adapter == nil)
        #expect(errors(diagnostics).count == 3, "\(diagnostics)")
        #expect(
            diagnostics.first { $0.key == "rules[0].do[1].needs" }?.message
                == "needs 'strat', which is not a step declared before this one (did you mean 'start'?)")
        #expect(
            diagnostics.first { $0.key == "rules[0].do[2].needs" }?.message
                == "needs 'after', which is not a step declared before this one")
        #expect(diagnostics.first { $0.key == "rules[0].do[4].id" }?.message == "duplicate step id 'start' in rule 'r'")
        let needsLocation = try #require(diagnostics.first { $0.key == "rules[0].do[1].needs" })
        #expect(needsLocation.line == 9)
        #expect(needsLocation.column == 16)
    }

    @Test("file:line:column point at the value or key at fault")
    func locations() throws {
        let text = """
            adapter: demo
            version: 2
            source:
              webhook:
                path: /hooks/demo
                verify: { scheme: none }
            rules:
              - name: first
                when: { event.type: a }
                do:
                  - start_workflow:
                      workflow_type: t
                      workflow_id: "w-${bdy.id}"
                      task_queu: q
                      execution_timeout: soon
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text, file: "adapters/demo.yaml")
        #expect(adapter == nil)
        #expect(diagnostics.count == 3, "\(diagnostics)")
        let unknown = try #require(diagnostics.first { $0.key == "rules[0].do[0].start_workflow.task_queu" })
        #expect((unknown.file, unknown.line, unknown.column) == ("adapters/demo.yaml", 14, 11))
        #expect(
            unknown.description
                == "adapters/demo.yaml:14:11: rules[0].do[0].start_workflow.task_queu: unknown key 'task_queu' (did you mean 'task_queue'?) (known keys: workflow_type, workflow_id, task_queue, business_key, duplicate_policy, input, execution_timeout, run_timeout)")
        let expression = try #require(diagnostics.first { $0.key == "rules[0].do[0].start_workflow.workflow_id" })
        #expect((expression.line, expression.column) == (13, 24))
        let duration = try #require(diagnostics.first { $0.key == "rules[0].do[0].start_workflow.execution_timeout" })
        #expect((duration.line, duration.column) == (15, 30))

        let top = CoreTestSupport.compile("adapter: demo\nsource: { webhook: { path: /a } }\nrules: [{ name: r, do: [{ start_workflow: { workflow_type: t } }] }]\nunmatched: nope\n").diagnostics
        let unmatched = try #require(top.first { $0.key == "unmatched" })
        #expect((unmatched.line, unmatched.column) == (4, 12))
        let missing = CoreTestSupport.compile("source: { webhook: { path: /a } }\nrules: []\n").diagnostics
        #expect(missing.first { $0.key == "adapter" }.map { ($0.line, $0.column) } ?? (0, 0) == (1, 1))
    }

    @Test("every problem of a file is reported at once")
    func allAtOnce() {
        let text = """
            adapter: demo
            version: three
            source:
              webhook: { path: /hooks/demo, verify: { scheme: none }, max_body_bytes: lots }
            engine: secondary
            boundary: { max_in_flight: 0, cancellation_budget: 2 fortnights, mode: push }
            retry: { max_attempts: 0 }
            unmatched: drop
            idempotency_key: "${event.idd | nope}"
            colour: blue
            rules:
              - name: r
                when: { evnt.type: a }
                do:
                  - id: one
                    start_workflow: { workflow_type: "${body.t | lowr}", workflow_id: "${kafka.topik}", duplicate_policy: maybe }
                  - needs: [two]
                    signal_workflow: { workflow_id: "${body.x", signal_name: s }
            """
        let (adapter, diagnostics) = CoreTestSupport.compile(text, engines: ["primary"])
        #expect(adapter == nil)
        let keys = Set(errors(diagnostics).map(\.key))
        let expected: Set<String> = [
            "version", "source.webhook.max_body_bytes", "engine", "boundary.max_in_flight", "boundary.cancellation_budget",
            "boundary.mode", "retry.max_attempts", "unmatched", "idempotency_key", "colour", "rules[0].when.evnt.type",
            "rules[0].do[0].start_workflow.workflow_type", "rules[0].do[0].start_workflow.workflow_id",
            "rules[0].do[0].start_workflow.duplicate_policy", "rules[0].do[1].needs",
            "rules[0].do[1].signal_workflow.workflow_id",
        ]
        #expect(keys == expected, "missing \(expected.subtracting(keys)), extra \(keys.subtracting(expected))")
        #expect(errors(diagnostics).count >= 16)
    }

    @Test("a five-problem file yields at least five errors")
    func fiveProblems() {
        let text = minimalAdapter(
            extra: "version: x\nunmatched: nope\nboundary: { cancellation_budget: forever }\nengine: missing",
            step: "start_workflow: { workflow_type: \"${bdy}\" }")
        let found = errors(CoreTestSupport.compile(text, engines: ["primary"]).diagnostics)
        #expect(found.count >= 5, "\(found)")
        #expect(Set(found.map(\.key)).count >= 5)
    }
}

@Suite("Config references and secrets")
struct ConfigReferenceTests {
    static let secret = "whsec_SUPER-SECRET-7f3a9c"

    @Test("a missing ${env:X} is a warning when lenient and an error when strict")
    func missingEnvironment() throws {
        let lenient = CoreTestSupport.compile(stripeAdapterText)
        #expect(lenient.adapter != nil)
        #expect(lenient.diagnostics.count == 1)
        let warning = try #require(lenient.diagnostics.first)
        #expect(warning.severity == .warning)
        #expect(warning.message == "environment variable STRIPE_WEBHOOK_SECRET is not set")
        #expect(warning.key == "source.webhook.verify.secrets[0]")
        #expect(warning.line == 8)
        #expect(warning.description.contains(": warning: environment variable STRIPE_WEBHOOK_SECRET is not set"))

        let strict = CoreTestSupport.compile(stripeAdapterText, strict: true)
        #expect(strict.adapter == nil)
        #expect(strict.diagnostics.map(\.severity) == [.error])
        #expect(strict.diagnostics.first?.message == "environment variable STRIPE_WEBHOOK_SECRET is not set")

        let set = CoreTestSupport.compile(stripeAdapterText, env: ["STRIPE_WEBHOOK_SECRET": "x"], strict: true)
        #expect(set.diagnostics.isEmpty)
    }

    @Test("${file:PATH} reads the file without its trailing newline; a missing file is reported by path")
    func fileReferences() throws {
        let text = minimalAdapter(path: "/a").replacingOccurrences(
            of: "verify: { scheme: none }", with: "verify: { scheme: github, secrets: [\"${file:/run/secrets/gh}\", \"${file:/nope}\"] }")
        let compiler = CoreTestSupport.compiler(files: ["/run/secrets/gh": "from-file\r\n"])
        let (adapter, diagnostics) = compiler.compile(text: text, file: "f.yaml")
        #expect(adapter != nil)
        #expect(diagnostics.map(\.message) == ["cannot read file /nope: no such file"])
        guard case .webhook(let route)? = adapter?.source else {
            Issue.record("no webhook")
            return
        }
        #expect(route.verification.secrets.map(\.text) == ["from-file", ""])

        // Trailing CR and LF in any mix are dropped (a file saved with CRLF line ends).
        for contents in ["tok\n", "tok\r\n", "tok\n\r\n", "tok\r\n\r\n", "tok"] {
            let references = ConfigReferences(source: FakeValues(files: ["/s": contents]), resolution: .strict)
            #expect(references.resolve("${file:/s}").text == "tok", "\(contents.debugDescription)")
        }
        // Inner line breaks are kept.
        let inner = ConfigReferences(source: FakeValues(files: ["/s": "a\r\nb\n"]), resolution: .strict)
        #expect(inner.resolve("${file:/s}").text == "a\r\nb")
    }

    @Test("references resolve inside text; $${ and unknown kinds are left alone")
    func resolveText() {
        let references = ConfigReferences(source: FakeValues(env: ["A": "1", "B": "two"]), resolution: .strict)
        #expect(references.resolve("x-${env:A}-${env:B}-y").text == "x-1-two-y")
        #expect(references.resolve("${body.id}").text == "${body.id}")
        // `$${` is a literal `${`: plain configuration text drops the escaping `$`, templates keep it.
        #expect(references.resolve("$${env:A}").text == "${env:A}")
        #expect(references.resolve("$${env:A}", escapeForTemplate: true).text == "$${env:A}")
        #expect(references.resolve("cost $5 ${env:A}").text == "cost $5 1")
        #expect(references.resolve("${env:A").text == "${env:A")
        #expect(references.resolve("plain").problems.isEmpty)
        let empty = references.resolve("${env:}")
        #expect(empty.problems.map(\.message) == ["empty ${env:} reference"])
        #expect(empty.problems.map(\.severity) == [.error])
        let escaped = ConfigReferences(source: FakeValues(env: ["T": "a${body.x}b"]), resolution: .strict)
            .resolve("${env:T}", escapeForTemplate: true)
        #expect(escaped.text == "a$${body.x}b")
        // A value ending in `$` right before `{` would turn the expression after it into literal text.
        let dollar = ConfigReferences(source: FakeValues(env: ["P": "acme$"]), resolution: .strict)
        let joined = dollar.resolve("${env:P}${body.id}", escapeForTemplate: true)
        #expect(joined.problems.map(\.severity) == [.error])
        #expect(joined.problems.first?.message.contains("${env:P} ends with '$'") == true)
        #expect(!joined.problems.contains { $0.message.contains("acme") }, "the value itself is never quoted")
        #expect(dollar.resolve("${env:P}-${body.id}", escapeForTemplate: true).problems.isEmpty)
    }

    @Test("an env value holding ${...} is never read as an expression")
    func envValueIsNotAnExpression() throws {
        let adapter = try CoreTestSupport.adapter(
            minimalAdapter(step: "start_workflow: { workflow_type: \"${env:PREFIX}-${body.id}\" }"),
            env: ["PREFIX": "${body.secret}"])
        let event = CoreTestSupport.event(body: ["id": "1", "secret": "leak"])
        let plan = try #require(adapter.map(event, now: CoreTestSupport.receivedAt).plan)
        #expect(plan.steps.first?.command.target.workflowType == "${body.secret}-1")
    }

    @Test("a secret's value never appears in any diagnostic")
    func secretsNeverInDiagnostics() {
        let secret = Self.secret
        let env = ["SECRET": secret, "STRIPE_WEBHOOK_SECRET": secret, "TOKEN": secret]
        let attempts = [
            stripeAdapterText,
            stripeAdapterText.replacingOccurrences(of: "tolerance: 5m", with: "tolerance: 5 minutes, header: X"),
            minimalAdapter(step: "start_workflow: { workflow_type: \"${env:SECRET}\", workflow_id: \"${env:SECRET}-${bdy.id}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, workflow_id: \"${${env:SECRET}}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, workflow_id: \"${body.x | default(${env:SECRET})}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, workflow_id: \"${body.x ${env:SECRET}}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, workflow_id: \"${body[${env:SECRET}]}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, workflow_id: \"${body.${env:SECRET}\" }"),
            minimalAdapter(step: "start_workflow: { workflow_type: t, input: [\"${env:SECRET}\", { k: \"${${env:SECRET} | x}\" }] }"),
            minimalAdapter(extra: "idempotency_key: \"${${env:SECRET}}\"\nordering: { key: \"${${env:SECRET}\" }"),
            minimalAdapter(extra: "engine: \"${env:SECRET}\""),
            minimalAdapter(extra: "description: \"${env:SECRET}\"\nversion: \"${env:SECRET}\""),
            minimalAdapter(name: "${env:SECRET}"),
            minimalAdapter(path: "/${env:SECRET}?x"),
            """
            adapter: demo
            source: { webhook: { path: /a, verify: { scheme: hmac, secrets: ["${env:SECRET}", "${env:MISSING}"], algorithm: "${env:SECRET}" } } }
            rules: [{ name: r, when: { "${env:SECRET}": x, body.a: "${env:SECRET}" }, do: [{ start_workflow: { workflow_type: t } }] }]
            """,
        ]
        var total = 0
        for (index, text) in attempts.enumerated() {
            for strict in [false, true] {
                let diagnostics = CoreTestSupport.compile(text, env: env, strict: strict, engines: ["primary"]).diagnostics
                total += diagnostics.count
                for diagnostic in diagnostics {
                    #expect(!diagnostic.description.contains(secret), "case \(index): \(diagnostic)")
                    #expect(!diagnostic.message.contains("SUPER-SECRET"), "case \(index): \(diagnostic)")
                }
            }
        }
        #expect(total >= 20)

        // Sets of adapters, and sluice.yaml, too.
        let set = AdapterSet.compile(
            attempts.enumerated().map { AdapterSet.File(name: "f\($0.offset).yaml", text: $0.element) },
            compiler: CoreTestSupport.compiler(env: env, strict: true))
        #expect(!set.diagnostics.isEmpty)
        #expect(!set.diagnostics.contains { $0.description.contains(secret) })
        let config = SluiceConfigSpec.read(
            "engines: { primary: { type: durable-workflow, url: \"${env:SECRET}\", token: \"${env:SECRET}\", timeout: \"${env:SECRET}\" } }\n",
            file: "sluice.yaml")
        #expect(!config.diagnostics.contains { $0.description.contains(secret) })
        // Compiled secrets print redacted.
        #expect("\(Secret(secret))" == "<redacted>")
        #expect(String(reflecting: Secret(secret)) == "<redacted>")
    }
}

@Suite("Durations")
struct DurationTextTests {
    @Test("parse", arguments: [
        ("250ms", Duration.milliseconds(250)), ("2s", .seconds(2)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("1d", .seconds(86_400)), ("1m30s", .seconds(90)), ("1.5s", .milliseconds(1500)), ("0", .zero),
        (" 3s ", .seconds(3)), ("10us", .microseconds(10)), ("10µs", .microseconds(10)), ("7ns", .nanoseconds(7)),
        ("1h1m1s1ms", .milliseconds(3_661_001)), ("0.5ms", .microseconds(500)), ("0s", .zero),
    ])
    func parse(text: String, expected: Duration) {
        #expect(DurationText.parse(text) == expected)
    }

    @Test("not durations", arguments: [
        "", " ", "5", "ms", "-1s", "+1s", "1s2", "2 s", "1.2.3s", "1e3s", "1x", "s5", "1S", "1sec", "∞s", "1,5s",
        "99999999999h", "nan s", "1..s",
    ])
    func notDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("format writes the shortest text parse reads back")
    func format() {
        let cases: [(Duration, String)] = [
            (.zero, "0s"), (.milliseconds(200), "200ms"), (.seconds(2), "2s"), (.seconds(300), "5m"),
            (.seconds(3600), "1h"), (.seconds(90), "90s"), (.milliseconds(1500), "1500ms"), (.microseconds(3), "3us"),
            (.nanoseconds(1500), "1500ns"),
        ]
        for (duration, text) in cases {
            #expect(DurationText.format(duration) == text)
            #expect(DurationText.parse(text) == duration)
        }
        #expect(DurationText.seconds(.milliseconds(1500)) == 2)
        #expect(DurationText.seconds(.seconds(2)) == 2)
        #expect(DurationText.seconds(.nanoseconds(1)) == 1)
        #expect(Duration.milliseconds(1500).secondsDouble == 1.5)
    }
}

@Suite("sluice.yaml")
struct SluiceConfigTests {
    static let valid = """
        adapters: adapters
        engines:
          primary:
            type: durable-workflow
            url: http://127.0.0.1:8080
            namespace: default
            token: ${env:DW_OPERATOR_TOKEN}
            mode: bridge
            timeout: 10s
          temporal:
            type: temporal
            url: http://127.0.0.1:7243
        default_engine: primary
        http: { host: 0.0.0.0, port: 8080 }
        kafka:
          bootstrap_servers: localhost:9092
          properties: { security.protocol: SASL_SSL }
        """

    @Test("a valid sluice.yaml")
    func valid() throws {
        let (spec, diagnostics) = SluiceConfigSpec.read(Self.valid, file: "sluice.yaml")
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let config = try #require(spec)
        #expect(config.adaptersDirectory == "adapters")
        #expect(Set(config.engines.keys) == ["primary", "temporal"])
        #expect(config.defaultEngine == "primary")
        #expect(config.sections == ["http", "kafka"])
        let primary = try #require(config.engines["primary"])
        #expect(primary.kind == .durableWorkflow)
        #expect(primary.url == "http://127.0.0.1:8080")
        #expect(primary.token == "${env:DW_OPERATOR_TOKEN}")
        #expect(primary.mode == .bridge)
        #expect(primary.timeout == .seconds(10))
        let temporal = try #require(config.engines["temporal"])
        #expect(temporal.kind == .temporal)
        #expect(temporal.namespace == "default")
        #expect(temporal.timeout == .seconds(10))
    }

    /// `serve` refuses an operations port that is the webhook port; `validate` says so first, at its line.
    @Test("http.operations_port may not be http.port (8080 by default)")
    func operationsPortBesideTheWebhookPort() {
        let engines = "engines: { solo: { type: temporal, url: http://x } }\n"
        for http in ["http: { operations_port: 8080 }", "http: { port: 9000, operations_port: 9000 }"] {
            let read = SluiceConfigSpec.read(engines + http, file: "s.yaml")
            #expect(read.spec == nil, "\(http)")
            #expect(read.diagnostics.first?.key == "http.operations_port")
            #expect(read.diagnostics.first?.line == 2)
        }
        for http in ["http: { operations_port: 9090 }", "http: { port: 9000, operations_port: 8080 }", "http: { port: 0, operations_port: 0 }"] {
            #expect(SluiceConfigSpec.read(engines + http, file: "s.yaml").spec != nil, "\(http)")
        }
    }

    @Test("default engine: the only one, or the one named default")
    func defaultEngine() {
        let one = SluiceConfigSpec.read("engines: { solo: { type: temporal, url: http://x } }", file: "s.yaml")
        #expect(one.spec?.defaultEngine == "solo")
        #expect(one.spec?.adaptersDirectory == "adapters")
        let named = SluiceConfigSpec.read(
            "engines: { default: { type: temporal, url: http://x }, b: { type: temporal, url: http://y } }", file: "s.yaml")
        #expect(named.spec?.defaultEngine == "default")
        let none = SluiceConfigSpec.read(
            "engines: { a: { type: temporal, url: http://x }, b: { type: temporal, url: http://y } }", file: "s.yaml")
        #expect(none.spec != nil)
        #expect(none.spec?.defaultEngine == nil)
    }

    @Test("problems in sluice.yaml", arguments: [
        ("adapters: a", "engines", "missing required key 'engines'"),
        ("engines: {}", "engines", "name at least one engine"),
        ("engines: { p: { typ: temporal, url: http://x } }", "engines.p.typ", "unknown key 'typ' (did you mean 'type'?)"),
        ("engines: { p: { type: temporl, url: http://x } }", "engines.p.type", "'temporl' is not one of durable-workflow, temporal (did you mean 'temporal'?)"),
        ("engines: { p: { type: temporal, url: ftp://x } }", "engines.p.url", "'ftp://x' is not an http:// or https:// URL"),
        ("engines: { p: { type: temporal, url: http://x, token: abc } }", "engines.p.token", "write the token as ${env:NAME} or ${file:PATH}, not in the file"),
        ("engines: { p: { type: temporal, url: http://x, mode: bridge } }", "engines.p.mode", "'mode' applies to durable-workflow engines only"),
        ("engines: { p: { type: durable-workflow, url: http://x, mode: direct } }", "engines.p.mode", "'direct' is not one of bridge, control-plane"),
        ("engines: { p: { type: temporal, url: http://x, timeout: 0s } }", "engines.p.timeout", "must be at least 1ms"),
        ("engines: { p: { type: temporal, url: http://x, timeout: ages } }", "engines.p.timeout", "'ages' is not a duration"),
        ("engines: { 'bad name': { type: temporal, url: http://x } }", "engines.bad name", "an engine name uses letters, digits and . _ : -"),
        ("engines: { p: { type: temporal, url: http://x } }\ndefault_engine: q", "default_engine", "unknown engine 'q'"),
        ("engines: { prim: { type: temporal, url: http://x } }\ndefault_engine: prin", "default_engine", "unknown engine 'prin' (did you mean 'prim'?)"),
        ("engines: { p: { type: temporal, url: http://x } }\nledgr: {}", "ledgr", "unknown key 'ledgr' (did you mean 'ledger'?)"),
        ("engines: { p: { type: temporal, url: http://x } }\nhttp: { prot: 1 }", "http.prot", "unknown key 'prot' (did you mean 'port'?)"),
        ("engines: { p: { type: temporal, url: http://x } }\nkafka: { properties: [a] }", "kafka.properties", "expected a mapping, found a list"),
        ("engines: [a]", "engines", "expected a mapping, found a list"),
        ("engines: {", "", "invalid YAML"),
    ])
    func problems(text: String, key: String, message: String) {
        let (spec, diagnostics) = SluiceConfigSpec.read(text, file: "sluice.yaml")
        #expect(spec == nil)
        let match = diagnostics.first { $0.key == key }
        #expect(match?.message.hasPrefix(message) == true, "\(diagnostics)")
        #expect(match?.file == "sluice.yaml")
    }

    @Test("every problem of sluice.yaml is reported at once")
    func allAtOnce() {
        let text = """
            engins: {}
            engines:
              p: { type: temporl, url: ftp://x, token: plain, timeout: ages, extra: 1 }
            default_engine: zzz
            metrics: { enabld: true }
            """
        let (spec, diagnostics) = SluiceConfigSpec.read(text, file: "sluice.yaml")
        #expect(spec == nil)
        #expect(
            Set(diagnostics.map(\.key))
                == [
                    "engins", "engines.p.type", "engines.p.url", "engines.p.token", "engines.p.timeout", "engines.p.extra",
                    "default_engine", "metrics.enabld",
                ], "\(diagnostics)")
    }
}
