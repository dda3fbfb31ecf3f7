import Foundation
import Testing

@testable import SluiceCore

private let now = Date(timeIntervalSince1970: 1_700_000_100)

private func adapter(_ text: String) throws -> CompiledAdapter {
    try CoreTestSupport.adapter(text)
}

/// An adapter with one rule whose `when` is `when` and whose only step starts a workflow.
private func conditionAdapter(_ when: String) throws -> CompiledAdapter {
    try adapter(
        """
        adapter: cond
        source: { webhook: { path: /c, verify: { scheme: none } } }
        rules:
          - name: only
            when: \(when)
            do: [{ start_workflow: { workflow_type: t, workflow_id: w } }]
        """)
}

private func matches(_ adapter: CompiledAdapter, type: String? = "a", body: JSONValue, headers: HeaderFields = [:]) -> Bool {
    switch adapter.map(CoreTestSupport.event(type: type, body: body, headers: headers), now: now) {
    case .plan: return true
    case .rejected(let outcome):
        #expect(outcome.reason == .unmatched, "\(outcome)")
        return false
    }
}

private func rejection(_ decision: MappingDecision) -> Outcome? {
    if case .rejected(let outcome) = decision { return outcome }
    return nil
}

private func expectedRequestID(adapter: String, key: String, rule: String, step: String) -> String {
    "sluice-" + independentSHA256Hex("\(adapter)\u{1F}\(key)\u{1F}\(rule)\u{1F}\(step)").prefix(40)
}

@Suite("Mapping: rules and conditions")
struct RuleMatchingTests {
    static let twoRules = """
        adapter: shop
        version: 4
        source: { webhook: { path: /shop, verify: { scheme: none } } }
        rules:
          - name: first
            when: { event.type: order.paid }
            do: [{ signal_workflow: { workflow_id: "order-${body.id}", signal_name: paid } }]
          - name: second
            when: { event.type: [order.paid, order.refunded] }
            do: [{ signal_workflow: { workflow_id: "order-${body.id}", signal_name: refunded } }]
          - name: catch-all
            do: [{ signal_workflow: { workflow_id: "order-${body.id}", signal_name: other } }]
        """

    @Test("the first matching rule wins")
    func firstMatchWins() throws {
        let shop = try adapter(Self.twoRules)
        let paid = try #require(shop.map(CoreTestSupport.event(type: "order.paid", body: ["id": "1"]), now: now).plan)
        #expect(paid.rule == "first")
        #expect(paid.steps.map(\.command.target.signalName) == ["paid"])
        let refunded = try #require(shop.map(CoreTestSupport.event(type: "order.refunded", body: ["id": "1"]), now: now).plan)
        #expect(refunded.rule == "second")
        let other = try #require(shop.map(CoreTestSupport.event(type: "anything", body: ["id": "1"]), now: now).plan)
        #expect(other.rule == "catch-all")
        let untyped = try #require(shop.map(CoreTestSupport.event(type: nil, body: ["id": "1"]), now: now).plan)
        #expect(untyped.rule == "catch-all")
    }

    @Test("equals compares scalars by their text")
    func equalsByText() throws {
        let text = try conditionAdapter("{ body.amount: \"200\" }")
        #expect(matches(text, body: ["amount": 200]))
        #expect(matches(text, body: ["amount": "200"]))
        #expect(!matches(text, body: ["amount": 201]))
        #expect(!matches(text, body: ["amount": "0200"]))
        #expect(!matches(text, body: ["amount": [200]]))
        #expect(!matches(text, body: [:]))

        let number = try conditionAdapter("{ body.amount: 200 }")
        #expect(matches(number, body: ["amount": "200"]))
        #expect(matches(number, body: ["amount": 200]))
        #expect(!matches(number, body: ["amount": "200.0"]))

        let boolean = try conditionAdapter("{ body.flag: true }")
        #expect(matches(boolean, body: ["flag": true]))
        #expect(matches(boolean, body: ["flag": "true"]))
        #expect(!matches(boolean, body: ["flag": false]))
        #expect(!matches(boolean, body: ["flag": 1]))

        let quotedBool = try conditionAdapter("{ body.flag: \"true\" }")
        #expect(matches(quotedBool, body: ["flag": true]))

        let big = try conditionAdapter("{ body.id: 12345678901234567890 }")
        #expect(matches(big, body: ["id": .exactNumber("12345678901234567890")]))
        #expect(matches(big, body: ["id": "12345678901234567890"]))
        #expect(!matches(big, body: ["id": .exactNumber("12345678901234567891")]))

        let double = try conditionAdapter("{ body.v: 1.5 }")
        #expect(matches(double, body: ["v": 1.5]))
        #expect(matches(double, body: ["v": "1.5"]))

        let explicit = try conditionAdapter("{ body.v: { equals: abc } }")
        #expect(matches(explicit, body: ["v": "abc"]))
        #expect(!matches(explicit, body: ["v": "ABC"]))
    }

    @Test("equals on objects and lists compares JSON, ignoring member order")
    func equalsStructured() throws {
        let object = try conditionAdapter("{ body.o: { equals: { a: 1, b: [x, 2] } } }")
        #expect(matches(object, body: ["o": ["b": ["x", 2], "a": 1]]))
        #expect(!matches(object, body: ["o": ["a": 1, "b": [2, "x"]]]))
        #expect(!matches(object, body: ["o": ["a": 1]]))
        let null = try conditionAdapter("{ body.x: null }")
        #expect(matches(null, body: ["x": nil]))
        #expect(!matches(null, body: [:]))
        #expect(!matches(null, body: ["x": "null"]))
    }

    @Test("any-of lists, written plainly or with any_of")
    func anyOf() throws {
        let plain = try conditionAdapter("{ event.type: [charge.refunded, charge.refund.updated] }")
        #expect(matches(plain, type: "charge.refunded", body: [:]))
        #expect(matches(plain, type: "charge.refund.updated", body: [:]))
        #expect(!matches(plain, type: "charge.refund", body: [:]))
        #expect(!matches(plain, type: nil, body: [:]))
        let numbers = try conditionAdapter("{ body.code: { any_of: [200, \"201\", true] } }")
        #expect(matches(numbers, body: ["code": "200"]))
        #expect(matches(numbers, body: ["code": 201]))
        #expect(matches(numbers, body: ["code": true]))
        #expect(!matches(numbers, body: ["code": 202]))
    }

    @Test("exists: present and not null")
    func exists() throws {
        let present = try conditionAdapter("{ body.x: { exists: true } }")
        #expect(matches(present, body: ["x": 0]))
        #expect(matches(present, body: ["x": ""]))
        #expect(matches(present, body: ["x": false]))
        #expect(matches(present, body: ["x": [:]]))
        #expect(!matches(present, body: ["x": nil]))
        #expect(!matches(present, body: [:]))
        let absent = try conditionAdapter("{ body.x: { exists: false } }")
        #expect(matches(absent, body: [:]))
        #expect(matches(absent, body: ["x": nil]))
        #expect(!matches(absent, body: ["x": 1]))
        let header = try conditionAdapter("{ headers.X-Signature: { exists: true } }")
        #expect(matches(header, body: [:], headers: ["x-signature": "s"]))
        #expect(!matches(header, body: [:], headers: ["x-signatures": "s"]))
    }

    @Test("prefix: text, numbers as text, any of several prefixes")
    func prefix() throws {
        let one = try conditionAdapter("{ event.type: { prefix: charge. } }")
        #expect(matches(one, type: "charge.refunded", body: [:]))
        #expect(matches(one, type: "charge.", body: [:]))
        #expect(!matches(one, type: "charge", body: [:]))
        #expect(!matches(one, type: "checkout.charge.x", body: [:]))
        #expect(!matches(one, type: "Charge.refunded", body: [:]))
        let several = try conditionAdapter("{ event.type: { prefix: [invoice., customer.subscription.] } }")
        #expect(matches(several, type: "invoice.paid", body: [:]))
        #expect(matches(several, type: "customer.subscription.deleted", body: [:]))
        #expect(!matches(several, type: "customer.created", body: [:]))
        let number = try conditionAdapter("{ body.status: { prefix: \"4\" } }")
        #expect(matches(number, body: ["status": 404]))
        #expect(!matches(number, body: ["status": 500]))
        #expect(!matches(number, body: ["status": ["4"]]))
        #expect(!matches(number, body: ["status": nil]))
    }

    @Test("all conditions must hold; headers, filters and ${} paths work in conditions")
    func conjunction() throws {
        let both = try conditionAdapter("{ event.type: push, headers.X-GitHub-Event: push, body.ref: { prefix: refs/heads/ } }")
        #expect(matches(both, type: "push", body: ["ref": "refs/heads/main"], headers: ["x-github-event": "push"]))
        #expect(!matches(both, type: "push", body: ["ref": "refs/tags/v1"], headers: ["x-github-event": "push"]))
        #expect(!matches(both, type: "push", body: ["ref": "refs/heads/main"], headers: [:]))
        #expect(!matches(both, type: "pull", body: ["ref": "refs/heads/main"], headers: ["x-github-event": "push"]))
        let filtered = try conditionAdapter("{ \"event.type | lower\": order.paid, \"${body.kind}\": x }")
        #expect(matches(filtered, type: "ORDER.Paid", body: ["kind": "x"]))
        #expect(!matches(filtered, type: "ORDER.Paid", body: ["kind": "y"]))
        let defaulted = try conditionAdapter("{ \"body.kind | default(\\\"none\\\")\": none }")
        #expect(matches(defaulted, body: [:]))
        #expect(!matches(defaulted, body: ["kind": "some"]))
    }

    @Test("an event no rule matches is rejected as unmatched, with Sluice's details")
    func unmatched() throws {
        let shop = try adapter(
            """
            adapter: shop
            version: 4
            source: { webhook: { path: /shop, verify: { scheme: none } } }
            idempotency_key: "shop:${event.id}"
            rules:
              - name: paid
                when: { event.type: order.paid }
                do: [{ start_workflow: { workflow_type: t } }]
            unmatched: dead_letter
            """)
        #expect(shop.unmatched == .deadLetter)
        let event = Event(
            source: "/shop", id: "evt_77", type: "order.created", body: .json([:]), receivedAt: CoreTestSupport.receivedAt,
            position: .inbox(id: 12))
        let outcome = try #require(rejection(shop.map(event, now: now)))
        #expect(outcome.kind == .rejected)
        #expect(!outcome.accepted)
        #expect(outcome.reason == .unmatched)
        #expect(outcome.adapter == "shop")
        #expect(outcome.action == "none")
        #expect(outcome.idempotencyKey == "shop:evt_77")
        #expect(outcome.message == "no rule of adapter 'shop' matches event type 'order.created'")
        #expect(
            outcome.correlation
                == ["source": "sluice", "adapter": "shop", "adapter_version": 4, "event_id": "evt_77", "event_type": "order.created"])
        let details = try #require(outcome.sluice)
        #expect(details.eventID == "evt_77")
        #expect(details.eventType == "order.created")
        #expect(details.sourcePosition == .inbox(id: 12))
        #expect(details.adapterVersion == 4)
        #expect(details.rule == nil)
        #expect(details.attempts == 0)
        #expect(details.steps.isEmpty)
        #expect(details.receivedAt == CoreTestSupport.receivedAt)
        #expect(details.decidedAt == now)

        let untyped = try #require(rejection(shop.map(CoreTestSupport.event(type: nil, body: [:]), now: now)))
        #expect(untyped.message == "no rule of adapter 'shop' matches event type '(none)'")
        #expect(untyped.correlation?["event_type"] == nil)
    }
}

@Suite("Mapping: plans and commands")
struct PlanTests {
    static let stripeEventBody = """
        {"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_1",\
        "amount_total":4200,"currency":"eur","payment_status":"paid","metadata":{"order_id":"1001"},\
        "customer_details":{"email":null}}}}
        """

    @Test("a plan is a value: a changed copy leaves the original as it was, and equal fields make equal plans")
    func planIsAValue() throws {
        let original = Plan(
            adapter: "a", adapterVersion: 1, rule: "r", eventID: "e", eventType: "t", idempotencyKey: "k",
            orderingKey: nil, steps: [], sourcePosition: .inbox(id: 7), receivedAt: CoreTestSupport.receivedAt)
        var copy = original
        #expect(copy == original && copy.hashValue == original.hashValue)
        copy.idempotencyKey = "k2"
        copy.steps.append(PlanStep(id: "1", needs: [], command: try #require(
            stripeStep(in: try CoreTestSupport.adapter(stripeAdapterText, env: ["STRIPE_WEBHOOK_SECRET": "s"])))))
        copy.orderingKey = "o"
        #expect(original.idempotencyKey == "k" && original.steps.isEmpty && original.orderingKey == nil)
        #expect(copy.idempotencyKey == "k2" && copy.steps.count == 1 && copy.orderingKey == "o")
        #expect(copy != original)
        var rebuilt = Plan(
            adapter: "a", adapterVersion: 1, rule: "r", eventID: "e", eventType: "t", idempotencyKey: "k2",
            orderingKey: "o", steps: copy.steps, sourcePosition: .inbox(id: 7), receivedAt: CoreTestSupport.receivedAt)
        #expect(rebuilt == copy && rebuilt.hashValue == copy.hashValue)
        rebuilt.adapterVersion = 2
        #expect(rebuilt != copy && copy.adapterVersion == 1)
    }

    /// The Stripe example's one engine command, for a plan built by hand.
    private func stripeStep(in adapter: CompiledAdapter) throws -> EngineCommand? {
        let event = try Event.webhook(
            source: "/webhooks/stripe", request: .init(path: "/webhooks/stripe"),
            headers: ["Content-Type": "application/json", "Stripe-Signature": "t=1,v1=x"],
            body: Array(Self.stripeEventBody.utf8), receivedAt: CoreTestSupport.receivedAt)
        return adapter.map(event, now: now).plan?.steps.first?.command
    }

    @Test("the Stripe example maps to the exact bridge request")
    func stripeEndToEnd() throws {
        let stripe = try CoreTestSupport.adapter(stripeAdapterText, env: ["STRIPE_WEBHOOK_SECRET": "s"])
        let event = try Event.webhook(
            source: "/webhooks/stripe", request: .init(path: "/webhooks/stripe"),
            headers: ["Content-Type": "application/json", "Stripe-Signature": "t=1,v1=x"],
            body: Array(Self.stripeEventBody.utf8), receivedAt: CoreTestSupport.receivedAt)
        let plan = try #require(stripe.map(event, now: now).plan)
        #expect(plan.adapter == "stripe-orders")
        #expect(plan.adapterVersion == 3)
        #expect(plan.rule == "order-paid")
        #expect(plan.eventID == "evt_1")
        #expect(plan.eventType == "checkout.session.completed")
        #expect(plan.idempotencyKey == "evt_1")
        #expect(plan.orderingKey == "1001")
        #expect(plan.steps.count == 1)
        let step = try #require(plan.steps.first)
        #expect(step.id == "1")
        #expect(step.needs == [])
        #expect(step.command.requestID == expectedRequestID(adapter: "stripe-orders", key: "evt_1", rule: "order-paid", step: "1"))
        let requests = BridgeRequest.requests(for: step.command, adapter: plan.adapter)
        #expect(requests.count == 1)
        #expect(requests[0].path == "/api/bridge-adapters/webhook/stripe-orders")
        #expect(
            JSONWriter.string(.object(requests[0].body))
                == #"{"action":"start_workflow","idempotency_key":"evt_1","target":{"workflow_type":"orders.fulfillment","workflow_id":"order-1001","task_queue":"orders","business_key":"1001","duplicate_policy":"use_existing"},"input":[{"order_id":"1001","amount_total":4200,"currency":"EUR","customer_email":null}],"correlation":{"source":"sluice","adapter":"stripe-orders","adapter_version":3,"rule":"order-paid","step":"1","event_id":"evt_1","event_type":"checkout.session.completed"}}"#
        )
    }

    @Test("a missing path rejects the event as malformed_payload, naming the path")
    func missingPath() throws {
        let stripe = try CoreTestSupport.adapter(stripeAdapterText, env: ["STRIPE_WEBHOOK_SECRET": "s"])
        let body: JSONValue = [
            "id": "evt_2", "object": "event", "type": "checkout.session.completed",
            "data": ["object": ["payment_status": "paid", "metadata": [:]]],
        ]
        let event = CoreTestSupport.event(id: "evt_2", type: "checkout.session.completed", body: body, position: .inbox(id: 3))
        let outcome = try #require(rejection(stripe.map(event, now: now)))
        #expect(outcome.kind == .rejected)
        #expect(outcome.reason == .malformedPayload)
        #expect(outcome.action == "start_workflow")
        #expect(outcome.idempotencyKey == "evt_2")
        #expect(outcome.message == "body.data.object.metadata.order_id is missing from the event")
        #expect(outcome.sluice?.rule == "order-paid")
        #expect(outcome.sluice?.sourcePosition == .inbox(id: 3))
        #expect(outcome.correlation?["rule"] == "order-paid")
    }

    /// Two events whose ids differ only past a double's 17 digits are two keys, and the id reaches
    /// the engine's input digit for digit.
    @Test("integer ids beyond 64 bits make distinct keys and unchanged input")
    func bigIntegerIDs() throws {
        let shop = try adapter(
            """
            adapter: big
            source: { webhook: { path: /big, verify: { scheme: none } } }
            idempotency_key: "order-${body.id}"
            rules:
              - name: r
                do: [{ start_workflow: { workflow_type: t, input: ["${body.id}", "${body.id | string}"] } }]
            """)
        var keys: [String] = []
        for text in [#"{"id":12345678901234567890}"#, #"{"id":12345678901234567891}"#] {
            let event = CoreTestSupport.event(body: try JSONParser.parse(text))
            let plan = try #require(shop.map(event, now: now).plan)
            keys.append(plan.idempotencyKey)
            let digits = String(text.dropFirst(6).dropLast())
            #expect(plan.steps.first?.command.input == [.exactNumber(digits), .string(digits)])
        }
        #expect(keys == ["order-12345678901234567890", "order-12345678901234567891"])
    }

    /// A fraction of more than 17 significant digits (an amount in wei) reaches the engine as written; a double
    /// would have rounded it to `1.2345678901234568`.
    @Test("long fractions reach the engine's input as written")
    func longFractions() throws {
        let wallet = try adapter(
            """
            adapter: wallet
            source: { webhook: { path: /wallet, verify: { scheme: none } } }
            rules:
              - name: r
                do: [{ start_workflow: { workflow_type: t, input: ["${body}", "${body.amount | string}"] } }]
            """)
        let text = #"{"amount":1.234567890123456789,"fee":0.5}"#
        let plan = try #require(wallet.map(CoreTestSupport.event(body: try JSONParser.parse(text)), now: now).plan)
        let input = try #require(plan.steps.first?.command.input)
        #expect(input.first.map(JSONWriter.string) == text)
        #expect(input.last == .string("1.234567890123456789"))
    }

    /// A key written decomposed (`e` + U+0301) is stored composed (U+00E9): the ledger compares bytes, the gate
    /// compares text, and both must see one key.
    @Test("idempotency keys are composed (NFC), so the ledger and the gate agree on them")
    func keysAreComposed() throws {
        let shop = try adapter(
            """
            adapter: nfc
            source: { webhook: { path: /nfc, verify: { scheme: none } } }
            idempotency_key: "order-${body.id}"
            rules:
              - name: r
                do: [{ start_workflow: { workflow_type: t } }]
            """)
        var bytes: [[UInt8]] = []
        for id in ["cafe\u{301}", "caf\u{E9}"] {
            let body = JSONValue.object(JSONObject([.init(key: "id", value: .string(id))]))
            let plan = try #require(shop.map(CoreTestSupport.event(body: body), now: now).plan)
            bytes.append(Array(plan.idempotencyKey.utf8))
            #expect(plan.steps.first?.command.idempotencyKey.utf8.elementsEqual(plan.idempotencyKey.utf8) == true)
        }
        #expect(bytes == [Array("order-caf\u{E9}".utf8), Array("order-caf\u{E9}".utf8)])
    }

    /// A rejected event's outcome is stored under a key as a plan's would be: composed, and within the ledger's
    /// 1–255 bytes even when the event's own id is no key (an empty or oversized unsigned header).
    @Test("a rejection's key is composed and bounded like a plan's")
    func rejectionKeys() throws {
        let strict = try adapter(
            """
            adapter: nfc
            source: { webhook: { path: /nfc, verify: { scheme: none } } }
            idempotency_key: "${body.ref}"
            unmatched: dead_letter
            rules:
              - name: r
                when: { body.kind: wanted }
                do: [{ start_workflow: { workflow_type: t } }]
            """)
        let decomposed = JSONValue.object(JSONObject([.init(key: "ref", value: "cafe\u{301}")]))
        guard case .rejected(let unmatched) = strict.map(CoreTestSupport.event(body: decomposed), now: now) else {
            Issue.record("an unmatched event was planned")
            return
        }
        #expect(Array(unmatched.idempotencyKey.utf8) == Array("caf\u{E9}".utf8))
        // No usable key anywhere: the refused key and the event's empty id give way to the id's hash.
        var event = CoreTestSupport.event(body: .object(JSONObject([.init(key: "ref", value: "")])))
        event.id = ""
        guard case .rejected(let keyless) = strict.map(event, now: now) else {
            Issue.record("an event with no key was planned")
            return
        }
        #expect(keyless.idempotencyKey == "sha256:" + Digest.sha256Hex(""))
    }

    @Test("a start without workflow_id gets bridge-{adapter}-{first 32 hex of sha256(key)}")
    func derivedWorkflowID() throws {
        let derived = try adapter(
            """
            adapter: kafka.orders
            source: { kafka: { topics: [orders] } }
            idempotency_key: "${kafka.topic}-${kafka.partition}-${kafka.offset}"
            rules:
              - name: r
                do:
                  - start_workflow: { workflow_type: t }
                  - signal_with_start: { workflow_type: t, signal_name: s }
            """)
        let event = try Event.kafka(
            record: .init(topic: "orders", partition: 3, offset: 1042), headers: [:], value: Array("{}".utf8),
            receivedAt: CoreTestSupport.receivedAt)
        let plan = try #require(derived.map(event, now: now).plan)
        let expected = "bridge-kafka.orders-" + independentSHA256Hex("orders-3-1042").prefix(32)
        #expect(plan.idempotencyKey == "orders-3-1042")
        #expect(plan.steps.map(\.command.target.workflowID) == [expected, expected])
        #expect(CompiledAdapter.derivedWorkflowID(adapter: "kafka.orders", idempotencyKey: "orders-3-1042") == expected)
        #expect(expected.count == "bridge-kafka.orders-".count + 32)
        // Each step's engine key is key#step; the derived id still uses the event's key.
        #expect(plan.steps.map(\.command.idempotencyKey) == ["orders-3-1042#1", "orders-3-1042#2"])
    }

    @Test("input is always a list: a list gives the arguments, anything else is the only argument", arguments: [
        ("input: [\"${body.a}\", 2, { k: \"${body.b}\" }]", #"["A",2,{"k":[1,2]}]"#),
        ("input: [\"${body.b}\"]", #"[[1,2]]"#),
        ("input: \"${body.b}\"", #"[[1,2]]"#),
        ("input: \"${body.o}\"", #"[{"x":1}]"#),
        ("input: \"${body}\"", #"[{"a":"A","b":[1,2],"o":{"x":1}}]"#),
        ("input: { k: \"${body.a}\" }", #"[{"k":"A"}]"#),
        ("input: { k: v }", #"[{"k":"v"}]"#),
        ("input: [1, two]", #"[1,"two"]"#),
        ("input: []", #"[]"#),
        ("input: 5", #"[5]"#),
        ("input: text", #"["text"]"#),
        ("input: \"id-${body.a}\"", #"["id-A"]"#),
        ("", #"[]"#),
    ])
    func inputIsAList(input: String, expected: String) throws {
        let fields = (["workflow_id: w", "signal_name: s"] + (input.isEmpty ? [] : [input])).joined(separator: ", ")
        let mapped = try adapter(
            """
            adapter: in
            source: { webhook: { path: /in, verify: { scheme: none } } }
            rules: [{ name: r, do: [{ signal_workflow: { \(fields) } }] }]
            """)
        let plan = try #require(mapped.map(CoreTestSupport.event(body: ["a": "A", "b": [1, 2], "o": ["x": 1]]), now: now).plan)
        let command = try #require(plan.steps.first?.command)
        #expect(JSONWriter.string(.array(command.input)) == expected)
        let body = BridgeRequest.requests(for: command, adapter: "in")[0].body
        #expect(body["input"].map(JSONWriter.string) == expected)
    }

    @Test("request ids are deterministic, distinct per step, and derived from adapter, key, rule and step")
    func requestIDs() throws {
        let text = """
            adapter: multi
            source: { webhook: { path: /m, verify: { scheme: none } } }
            rules:
              - name: r
                do:
                  - start_workflow: { workflow_type: t, workflow_id: "w-${body.id}" }
                  - signal_workflow: { workflow_id: "w-${body.id}", signal_name: s }
                  - update_workflow: { workflow_id: "w-${body.id}", update_name: u, wait_for: completed, wait_timeout: 90s }
            """
        let first = try adapter(text)
        let second = try adapter(text)
        let event = CoreTestSupport.event(id: "evt_A", body: ["id": "1"])
        let plan = try #require(first.map(event, now: now).plan)
        let again = try #require(first.map(event, now: Date()).plan)
        let recompiled = try #require(second.map(event, now: now).plan)
        let ids = plan.steps.map(\.command.requestID)
        #expect(Set(ids).count == 3)
        #expect(again.steps.map(\.command.requestID) == ids)
        #expect(recompiled.steps.map(\.command.requestID) == ids)
        #expect(plan == recompiled)
        for (id, step) in zip(ids, ["1", "2", "3"]) {
            #expect(id == expectedRequestID(adapter: "multi", key: "evt_A", rule: "r", step: step))
            #expect(id.count == "sluice-".count + 40)
        }
        #expect(CompiledAdapter.requestID(adapter: "multi", idempotencyKey: "evt_A", rule: "r", step: "1") == ids[0])
        // Another event (another key) gets other ids, even with the same body.
        let other = try #require(first.map(CoreTestSupport.event(id: "evt_B", body: ["id": "1"]), now: now).plan)
        #expect(Set(other.steps.map(\.command.requestID)).isDisjoint(with: ids))
        // A redelivery with a different receive time and position keeps them.
        let redelivered = Event(
            source: "test", id: "evt_A", type: "test.event", body: .json(["id": "1"]),
            receivedAt: Date(timeIntervalSince1970: 1), position: .inbox(id: 99))
        #expect(try #require(first.map(redelivered, now: now).plan).steps.map(\.command.requestID) == ids)
    }

    @Test("needs default to the previous step; multi-step plans use key#step as the engine key")
    func needsAndEngineKeys() throws {
        let dag = try adapter(
            """
            adapter: dag
            source: { webhook: { path: /d, verify: { scheme: none } } }
            rules:
              - name: r
                do:
                  - id: start
                    start_workflow: { workflow_type: t, workflow_id: w }
                  - signal_workflow: { workflow_id: w, signal_name: a }
                  - id: b
                    needs: [start]
                    signal_workflow: { workflow_id: w, signal_name: b }
                  - id: join
                    needs: [2, b]
                    signal_workflow: { workflow_id: w, signal_name: c }
                  - id: free
                    needs: []
                    signal_workflow: { workflow_id: w, signal_name: d }
            """)
        let plan = try #require(dag.map(CoreTestSupport.event(id: "evt_D", body: [:]), now: now).plan)
        #expect(plan.steps.map(\.id) == ["start", "2", "b", "join", "free"])
        #expect(plan.steps.map(\.needs) == [[], ["start"], ["start"], ["2", "b"], []])
        #expect(plan.steps.map(\.command.idempotencyKey) == ["evt_D#start", "evt_D#2", "evt_D#b", "evt_D#join", "evt_D#free"])
        #expect(plan.idempotencyKey == "evt_D")
        #expect(plan.steps.map { $0.command.correlation["step"] } == ["start", "2", "b", "join", "free"])
        // A key near the 255-byte limit: each step's engine key still fits, and stays one per event and step.
        let long = String(repeating: "k", count: 254)
        let longPlan = try #require(dag.map(CoreTestSupport.event(id: long, body: [:]), now: now).plan)
        let longKeys = longPlan.steps.map(\.command.idempotencyKey)
        #expect(longKeys.allSatisfy { $0.utf8.count <= 255 && $0.hasPrefix("sha256:") }, "\(longKeys)")
        #expect(Set(longKeys).count == 5)
        #expect(longKeys == dag.map(CoreTestSupport.event(id: long, body: [:]), now: now).plan?.steps.map(\.command.idempotencyKey))

        let single = try adapter(minimalAdapter())
        let singlePlan = try #require(single.map(CoreTestSupport.event(id: "evt_S", body: [:]), now: now).plan)
        #expect(singlePlan.steps.map(\.command.idempotencyKey) == ["evt_S"])
    }

    @Test("commands carry targets, correlation and update settings")
    func commandContents() throws {
        let full = try adapter(
            """
            adapter: gh
            version: 2
            source: { webhook: { path: /gh, verify: { scheme: none } } }
            rules:
              - name: deploy
                do:
                  - update_workflow: { workflow_id: "deploy-${body.id}", update_name: "${body.action | lower}", wait_for: completed, wait_timeout: 1500ms }
                  - update_workflow: { workflow_id: "deploy-${body.id}", update_name: approve }
                  - start_workflow: { workflow_type: t, workflow_id: x, duplicate_policy: reject_duplicate, execution_timeout: 1h, run_timeout: 10m }
            """)
        let plan = try #require(full.map(CoreTestSupport.event(id: "d-1", type: "deployment", body: ["id": 42, "action": "APPROVE"]), now: now).plan)
        let update = plan.steps[0].command
        #expect(update.action == .updateWorkflow)
        #expect(update.target.workflowID == "deploy-42")
        #expect(update.target.updateName == "approve")
        #expect(update.target.waitFor == .completed)
        #expect(update.target.waitTimeout == .milliseconds(1500))
        #expect(
            JSONWriter.string(.object(update.target.bridgeJSON(for: .updateWorkflow)))
                == #"{"workflow_id":"deploy-42","update_name":"approve","wait_for":"completed","wait_timeout_seconds":2}"#)
        #expect(
            JSONWriter.string(.object(update.correlation))
                == #"{"source":"sluice","adapter":"gh","adapter_version":2,"rule":"deploy","step":"1","event_id":"d-1","event_type":"deployment"}"#)
        #expect(plan.steps[1].command.target.waitFor == .accepted)
        #expect(
            JSONWriter.string(.object(plan.steps[1].command.target.bridgeJSON(for: .updateWorkflow)))
                == #"{"workflow_id":"deploy-42","update_name":"approve","wait_for":"accepted"}"#)
        let start = plan.steps[2].command.target
        #expect(start.duplicatePolicy == .rejectDuplicate)
        #expect(start.executionTimeout == .seconds(3600))
        #expect(start.runTimeout == .seconds(600))
        #expect(
            JSONWriter.string(.object(start.bridgeJSON(for: .startWorkflow)))
                == #"{"workflow_type":"t","workflow_id":"x","duplicate_policy":"reject_duplicate"}"#)
    }

    @Test("workflow ids the engine would refuse reject the event as malformed_payload", arguments: [
        ("order 1", "has characters the engine refuses"),
        ("order/1", "has characters the engine refuses"),
        ("ordér", "has characters the engine refuses"),
        ("a${b}", "has characters the engine refuses"),
        (String(repeating: "x", count: 129), "is longer than 128 bytes"),
        ("", "is empty"),
    ])
    func badWorkflowIDs(id: String, problem: String) throws {
        let mapped = try adapter(
            """
            adapter: ids
            source: { webhook: { path: /ids, verify: { scheme: none } } }
            rules: [{ name: r, do: [{ signal_workflow: { workflow_id: "${body.id}", signal_name: s } }] }]
            """)
        let outcome = try #require(rejection(mapped.map(CoreTestSupport.event(body: ["id": .string(id)]), now: now)))
        #expect(outcome.reason == .malformedPayload)
        #expect(outcome.message?.hasPrefix("signal_workflow.workflow_id") == true, "\(String(describing: outcome.message))")
        #expect(outcome.message?.contains(problem) == true, "\(String(describing: outcome.message))")
        #expect(outcome.action == "signal_workflow")
    }

    @Test("workflow ids of exactly 128 allowed characters pass")
    func longestWorkflowID() throws {
        let mapped = try adapter(
            """
            adapter: ids
            source: { webhook: { path: /ids, verify: { scheme: none } } }
            rules: [{ name: r, do: [{ signal_workflow: { workflow_id: "${body.id}", signal_name: s } }] }]
            """)
        let id = "aZ09._:-" + String(repeating: "q", count: 120)
        let plan = try #require(mapped.map(CoreTestSupport.event(body: ["id": .string(id)]), now: now).plan)
        #expect(plan.steps[0].command.target.workflowID == id)
        // Numbers make workflow ids as their text.
        let numeric = try #require(mapped.map(CoreTestSupport.event(body: ["id": 77]), now: now).plan)
        #expect(numeric.steps[0].command.target.workflowID == "77")
    }

    @Test("other fields the engine would refuse are malformed too")
    func otherBadFields() throws {
        let mapped = try adapter(
            """
            adapter: f
            source: { webhook: { path: /f, verify: { scheme: none } } }
            idempotency_key: "${body.key}"
            rules: [{ name: r, do: [{ start_workflow: { workflow_type: "${body.type}", workflow_id: w } }] }]
            """)
        func message(_ body: JSONValue) throws -> String? {
            try #require(rejection(mapped.map(CoreTestSupport.event(body: body), now: now))).message
        }
        #expect(try message(["key": .string(String(repeating: "k", count: 256)), "type": "t"]) == "idempotency_key is longer than 255 bytes")
        #expect(try message(["key": "", "type": "t"]) == "idempotency_key is empty")
        #expect(try message(["key": "a\u{0}b", "type": "t"]) == "idempotency_key contains a NUL character (U+0000)")
        // The rejection is recorded under the event's id, not under the key the plan refused.
        let refused = try #require(rejection(mapped.map(CoreTestSupport.event(body: ["key": "a\u{0}b", "type": "t"]), now: now)))
        #expect(refused.idempotencyKey == "evt_1")
        let tooLong = try #require(
            rejection(mapped.map(CoreTestSupport.event(body: ["key": .string(String(repeating: "k", count: 256)), "type": "t"]), now: now)))
        #expect(tooLong.idempotencyKey == "evt_1")
        #expect(try message(["key": ["a": 1], "type": "t"]) == "idempotency_key must be text, but the event gave object")
        #expect(try message(["key": "k", "type": ["a"]]) == "start_workflow.workflow_type must be text, but the event gave array")
        #expect(try message(["key": "k", "type": ""]) == "start_workflow.workflow_type is empty")
        #expect(try message(["key": "k", "type": .string(String(repeating: "t", count: 256))]) == "start_workflow.workflow_type is longer than 255 bytes")
        // The idempotency key of a malformed event falls back to the event id when it cannot be computed.
        let outcome = try #require(rejection(mapped.map(CoreTestSupport.event(id: "evt_F", body: [:]), now: now)))
        #expect(outcome.idempotencyKey == "evt_F")
        #expect(outcome.message == "body.key is missing from the event")
        #expect(try #require(mapped.map(CoreTestSupport.event(body: ["key": 5, "type": "t"]), now: now).plan).idempotencyKey == "5")
    }

    @Test("ordering keys: a template, the record key, the partition, or none")
    func orderingKeys() throws {
        func plan(_ ordering: String, source: String, event: Event) throws -> Plan {
            let text = """
                adapter: o
                source: \(source)
                \(ordering)
                rules: [{ name: r, do: [{ signal_workflow: { workflow_id: w, signal_name: s } }] }]
                """
            return try #require(try adapter(text).map(event, now: now).plan)
        }
        let kafkaSource = "{ kafka: { topics: [orders] } }"
        let webhookSource = "{ webhook: { path: /o, verify: { scheme: none } } }"
        let keyed = try Event.kafka(
            record: .init(topic: "orders", partition: 2, offset: 5, key: Array("cust-9".utf8)), headers: [:],
            value: Array(#"{"customer":"c-1"}"#.utf8), receivedAt: CoreTestSupport.receivedAt)
        let unkeyed = try Event.kafka(
            record: .init(topic: "orders", partition: 2, offset: 6), headers: [:], value: Array("{}".utf8),
            receivedAt: CoreTestSupport.receivedAt)
        #expect(try plan("", source: kafkaSource, event: keyed).orderingKey == "cust-9")
        #expect(try plan("", source: kafkaSource, event: unkeyed).orderingKey == "orders-2")
        #expect(try plan("ordering: partition", source: kafkaSource, event: keyed).orderingKey == "orders-2")
        #expect(try plan("ordering: none", source: kafkaSource, event: keyed).orderingKey == nil)
        #expect(try plan("ordering: { key: \"c:${body.customer}\" }", source: kafkaSource, event: keyed).orderingKey == "c:c-1")
        #expect(try plan("", source: webhookSource, event: CoreTestSupport.event(body: [:], key: "k")).orderingKey == nil)
        #expect(
            try plan("ordering: { key: \"${body.customer}\" }", source: webhookSource, event: CoreTestSupport.event(body: ["customer": 7]))
                .orderingKey == "7")
    }

    @Test("signal_with_start is a use_existing start, then the signal, with their own inputs")
    func signalWithStart() throws {
        let sws = try adapter(
            """
            adapter: kafka.orders
            source: { kafka: { topics: [orders.events] } }
            idempotency_key: "${event.source}/${event.id}"
            rules:
              - name: shipped
                do:
                  - signal_with_start:
                      workflow_type: orders.fulfillment
                      workflow_id: "order-${event.subject}"
                      task_queue: orders
                      business_key: "${event.subject}"
                      signal_name: shipped
                      input: [{ carrier: "${body.carrier}" }]
                      start_input: [{ order_id: "${event.subject}", started_by: "${adapter.name}" }]
            """)
        let event = try Event.kafka(
            record: .init(topic: "orders.events", partition: 0, offset: 7),
            headers: ["ce_specversion": "1.0", "ce_id": "ship-1", "ce_source": "/warehouse", "ce_type": "shipped", "ce_subject": "1001"],
            value: Array(#"{"carrier":"ups"}"#.utf8), receivedAt: CoreTestSupport.receivedAt)
        let plan = try #require(sws.map(event, now: now).plan)
        let command = try #require(plan.steps.first?.command)
        #expect(command.action == .signalWithStart)
        #expect(command.idempotencyKey == "/warehouse/ship-1")
        let requests = BridgeRequest.requests(for: command, adapter: "kafka.orders")
        #expect(requests.count == 2)
        #expect(requests.map(\.path) == ["/api/bridge-adapters/webhook/kafka.orders", "/api/bridge-adapters/webhook/kafka.orders"])
        let correlation = #"{"source":"sluice","adapter":"kafka.orders","adapter_version":1,"rule":"shipped","step":"1","event_id":"ship-1","event_type":"shipped"}"#
        #expect(
            JSONWriter.string(.object(requests[0].body))
                == #"{"action":"start_workflow","idempotency_key":"/warehouse/ship-1","target":{"workflow_type":"orders.fulfillment","workflow_id":"order-1001","task_queue":"orders","business_key":"1001","duplicate_policy":"use_existing"},"input":[{"order_id":"1001","started_by":"kafka.orders"}],"correlation":"#
                + correlation + "}")
        #expect(
            JSONWriter.string(.object(requests[1].body))
                == #"{"action":"signal_workflow","idempotency_key":"/warehouse/ship-1","target":{"workflow_id":"order-1001","signal_name":"shipped"},"input":[{"carrier":"ups"}],"correlation":"#
                + correlation + "}")
    }

    @Test("a hand-built signal_with_start forces use_existing even when the command says otherwise")
    func signalWithStartForcesUseExisting() {
        let command = EngineCommand(
            action: .signalWithStart,
            target: CommandTarget(workflowID: "w", workflowType: "t", duplicatePolicy: .rejectDuplicate, signalName: "s"),
            input: [1], startInput: [], idempotencyKey: "k", requestID: "r")
        let requests = BridgeRequest.requests(for: command, adapter: "a")
        #expect(requests[0].body["target"]?["duplicate_policy"] == "use_existing")
        #expect(requests[0].body["input"] == [])
        #expect(requests[1].body["input"] == [1])
        // No correlation means no correlation member.
        #expect(requests[0].body["correlation"] == nil)
        #expect(requests[0].body.keys == ["action", "idempotency_key", "target", "input"])
    }

    @Test("adapter labels in the bridge path are percent-escaped like Python's quote(safe='._:-')")
    func pathEscaping() {
        #expect(BridgeRequest.escapeAdapter("kafka.orders:v1_x-y~z") == "kafka.orders:v1_x-y~z")
        #expect(BridgeRequest.escapeAdapter("a b/c") == "a%20b%2Fc")
        #expect(BridgeRequest.escapeAdapter("é") == "%C3%A9")
        #expect(BridgeRequest.escapeAdapter("%") == "%25")
    }
}
