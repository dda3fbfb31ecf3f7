import Foundation
import Testing

@testable import SluiceCore

private let body: JSONValue = [
    "id": "ord_1",
    "n": 5,
    "price": 12.5,
    "flag": true,
    "nothing": nil,
    "currency": "eur",
    "padded": "  Spaced Out \n",
    "items": [["id": "a", "qty": 1], ["id": "b", "qty": 2]],
    "matrix": [[1, 2], [3, 4]],
    "a.b": "dotted",
    "x y": "spaced",
    "q\"uote": "quoted",
    "nested": ["k": "v", "list": [1, "two"]],
    "big": 9_007_199_254_740_993,
]

private let headers: HeaderFields = ["X-GitHub-Event": "push", "Content-Type": "application/json", "x-dup": "first", "X-Dup": "second"]

private func bodyContext() -> EvaluationContext {
    CoreTestSupport.context(CoreTestSupport.event(id: "evt_9", type: "order.paid", body: body, key: "key-1", headers: headers))
}

private func evaluate(_ text: String, in context: EvaluationContext = bodyContext()) throws -> JSONValue {
    try Template.compile(text).evaluate(in: context)
}

private func mappingError(_ text: String, in context: EvaluationContext = bodyContext()) throws -> MappingError? {
    let template = try Template.compile(text)
    do {
        _ = try template.evaluate(in: context)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String) -> ExpressionError? {
    do {
        _ = try Template.compile(text)
        return nil
    } catch {
        return error
    }
}

@Suite("Templates")
struct TemplateTests {
    @Test("text without ${ is a literal; $${ escapes")
    func literals() throws {
        #expect(try Template.compile("plain text") == .literal("plain text"))
        #expect(try Template.compile("") == .literal(""))
        #expect(try Template.compile("costs $5 {not} $ {x}") == .literal("costs $5 {not} $ {x}"))
        #expect(try Template.compile("$${body.id}") == .literal("${body.id}"))
        #expect(try Template.compile("a $${x} b $${y}") == .literal("a ${x} b ${y}"))
        #expect(try evaluate("$${body.id}-${body.id}") == "${body.id}-ord_1")
        #expect(try Template.compile("$${body.id}-${body.id}").expressions.count == 1)
        #expect(try Template.compile("plain").isLiteral)
        // Inside lists and objects with no expression at all, the escape is undone too.
        #expect(try Template.compile(.array(["$${x}", "y"])) == .literal(.array(["${x}", "y"])))
        let escapedNote = JSONObject([.init(key: "note", value: "$${x}"), .init(key: "n", value: .int(1))])
        let note = JSONObject([.init(key: "note", value: "${x}"), .init(key: "n", value: .int(1))])
        #expect(try Template.compile(.object(escapedNote)) == .literal(.object(note)))
    }

    @Test("exactly one ${...} yields the JSON value itself")
    func wholeValue() throws {
        #expect(try Template.compile("${body.n}") == .expression(SluiceCore.Expression(root: .body, segments: [.member("n")])))
        #expect(try evaluate("${body.n}") == .int(5))
        #expect(try evaluate("${body.price}") == .double(12.5))
        #expect(try evaluate("${body.flag}") == .bool(true))
        #expect(try evaluate("${body.nested}") == ["k": "v", "list": [1, "two"]])
        #expect(try evaluate("${body.items}") == body["items"])
        #expect(try evaluate("${body}") == body)
        #expect(try evaluate("${ body.n }") == .int(5))
        // A whole-value null is a value (not an error).
        #expect(try evaluate("${body.nothing}") == .null)
    }

    @Test("anything else is interpolated text")
    func interpolation() throws {
        #expect(try evaluate("order-${body.id}") == "order-ord_1")
        #expect(try evaluate("${body.id}${body.n}") == "ord_15")
        #expect(try evaluate("${body.id} ") == "ord_1 ")
        #expect(try evaluate("n=${body.n}, p=${body.price}, f=${body.flag}") == "n=5, p=12.5, f=true")
        #expect(try evaluate("obj=${body.nested}") == #"obj={"k":"v","list":[1,"two"]}"#)
        #expect(try evaluate("é ${body.id} 😀") == "é ord_1 😀")
        guard case .interpolation(let parts) = try Template.compile("a${body.id}b") else {
            Issue.record("not an interpolation")
            return
        }
        #expect(parts == [.text("a"), .expression(SluiceCore.Expression(root: .body, segments: [.member("id")])), .text("b")])
    }

    @Test("paths: members, array indices, quoted members, nested indices")
    func paths() throws {
        #expect(try evaluate("${body.items[1].id}") == "b")
        #expect(try evaluate("${body.items[0].qty}") == .int(1))
        #expect(try evaluate("${body.matrix[1][0]}") == .int(3))
        #expect(try evaluate("${body[\"a.b\"]}") == "dotted")
        #expect(try evaluate("${body['x y']}") == "spaced")
        #expect(try evaluate("${body[ \"x y\" ]}") == "spaced")
        #expect(try evaluate(#"${body["q\"uote"]}"#) == "quoted")
        #expect(try evaluate("${body[\"items\"][1][\"id\"]}") == "b")
        #expect(try evaluate("${body[\"nested\"].list[1]}") == "two")
        #expect(try evaluate("${body.big}") == .int(9_007_199_254_740_993))
        // A quoted member may hold '}' without ending the expression.
        #expect(try Template.compile("${body[\"}\"] | default(1)}").evaluate(in: bodyContext()) == .int(1))
    }

    @Test("missing paths are MappingErrors naming the path", arguments: [
        ("${body.missing}", "body.missing"),
        ("${body.items[5].id}", "body.items[5]"),
        ("${body.items[0].nope}", "body.items[0].nope"),
        ("${body.id.deeper}", "body.id.deeper"),
        ("${body.items.id}", "body.items.id"),
        ("${body.nested[0]}", "body.nested[0]"),
        ("x-${body.missing}", "body.missing"),
        ("${headers.x-absent}", "headers.x-absent"),
        ("${kafka.topic}", "kafka.topic"),
        ("${webhook.path}", "webhook.path"),
        ("${event.subject}", "event.subject"),
    ])
    func missingPaths(text: String, path: String) throws {
        let error = try mappingError(text)
        let expression = try #require(Template.compile(text).expressions.first)
        #expect(error == .missingValue(path: expression.path, found: nil))
        #expect(expression.path.hasPrefix(path))
        #expect(error?.description == "\(expression.path) is missing from the event")
    }

    @Test("null in interpolated text is an error unless a default applies")
    func nullInterpolation() throws {
        #expect(try mappingError("id-${body.nothing}") == .missingValue(path: "body.nothing", found: "null"))
        #expect(try mappingError("id-${body.nothing}")?.description == "body.nothing is null")
        #expect(try evaluate("id-${body.nothing | default(\"none\")}") == "id-none")
        #expect(try evaluate("id-${body.missing | default(\"none\")}") == "id-none")
        // default(null) in interpolated text is still null, so still an error.
        #expect(try mappingError("id-${body.missing | default(null)}") == .missingValue(path: "body.missing", found: "null"))
        // Whole value: default(null) gives null.
        #expect(try evaluate("${body.missing | default(null)}") == .null)
    }

    @Test("headers are looked up without regard to case")
    func headerLookup() throws {
        #expect(try evaluate("${headers.x-github-event}") == "push")
        #expect(try evaluate("${headers.X-GITHUB-EVENT}") == "push")
        #expect(try evaluate("${headers[\"x-github-event\"]}") == "push")
        #expect(try evaluate("${headers.X-Dup}") == "first")
        let all = try evaluate("${headers}")
        #expect(all["x-github-event"] == "push")
        #expect(all["content-type"] == "application/json")
        #expect(all["x-dup"] == "first", "the object keeps the first value of a repeated header, as headers.NAME does")
    }

    @Test("event fields")
    func eventFields() throws {
        let context = bodyContext()
        #expect(try evaluate("${event.id}", in: context) == "evt_9")
        #expect(try evaluate("${event.type}", in: context) == "order.paid")
        #expect(try evaluate("${event.key}", in: context) == "key-1")
        #expect(try evaluate("${event.source}", in: context) == "test")
        #expect(try evaluate("${event.convention}", in: context) == "explicit")
        #expect(try evaluate("${event.position}", in: context) == "none")
        #expect(try evaluate("${event.received_at}", in: context) == "2023-11-14T22:13:20.000Z")
        #expect(try mappingError("${event.subject}", in: context) == .missingValue(path: "event.subject", found: nil))
        #expect(try evaluate("${event.extensions}", in: context) == .object(JSONObject()))
        #expect(try mappingError("${event.extensions.tenant}", in: context) == .missingValue(path: "event.extensions.tenant", found: nil))

        let cloud = try Event.webhook(
            source: "/hooks", request: .init(path: "/hooks"),
            headers: ["ce-specversion": "1.0", "ce-id": "c1", "ce-source": "/svc", "ce-type": "t", "ce-subject": "sub",
                "ce-tenant": "acme"],
            body: Array("{}".utf8), receivedAt: CoreTestSupport.receivedAt)
        let cloudContext = CoreTestSupport.context(cloud)
        #expect(try evaluate("${event.source}", in: cloudContext) == "/svc")
        #expect(try evaluate("${event.subject}", in: cloudContext) == "sub")
        #expect(try evaluate("${event.extensions.tenant}", in: cloudContext) == "acme")
        #expect(try evaluate("${event.extensions}", in: cloudContext) == ["tenant": "acme"])
        #expect(try evaluate("${event.specversion}", in: cloudContext) == "1.0")
    }

    @Test("kafka fields")
    func kafkaFields() throws {
        let event = try Event.kafka(
            record: .init(
                topic: "orders", partition: 3, offset: 1042, key: Array("k-1".utf8),
                timestamp: Date(timeIntervalSince1970: 1_700_000_000.25)),
            headers: ["traceparent": "00-x"], value: Array(#"{"a":1}"#.utf8), receivedAt: CoreTestSupport.receivedAt)
        let context = CoreTestSupport.context(event)
        #expect(try evaluate("${kafka.topic}", in: context) == "orders")
        #expect(try evaluate("${kafka.partition}", in: context) == .int(3))
        #expect(try evaluate("${kafka.offset}", in: context) == .int(1042))
        #expect(try evaluate("${kafka.key}", in: context) == "k-1")
        #expect(try evaluate("${kafka.timestamp}", in: context) == "2023-11-14T22:13:20.250Z")
        #expect(try evaluate("${kafka.topic}/${kafka.partition}/${kafka.offset}", in: context) == "orders/3/1042")
        #expect(try evaluate("${event.position}", in: context) == "orders-3-1042")
        #expect(try evaluate("${headers.TraceParent}", in: context) == "00-x")

        let binaryKey = try Event.kafka(
            record: .init(topic: "t", partition: 0, offset: 1, key: [0xFF, 0x00]), headers: [:], value: [],
            receivedAt: CoreTestSupport.receivedAt)
        #expect(try evaluate("${kafka.key}", in: CoreTestSupport.context(binaryKey)) == "/wA=")
        #expect(try mappingError("${kafka.timestamp}", in: CoreTestSupport.context(binaryKey)) != nil)
        // kafka.* on a webhook event is missing, not a crash.
        #expect(try mappingError("${kafka.key}") == .missingValue(path: "kafka.key", found: nil))
    }

    @Test("webhook fields")
    func webhookFields() throws {
        let event = try Event.webhook(
            source: "/hooks/x", request: .init(target: "/hooks/x?tenant=acme&mode=test%20run"),
            headers: [:], body: Array("{}".utf8), receivedAt: CoreTestSupport.receivedAt)
        let context = CoreTestSupport.context(event)
        #expect(try evaluate("${webhook.path}", in: context) == "/hooks/x")
        #expect(try evaluate("${webhook.query.tenant}", in: context) == "acme")
        #expect(try evaluate("${webhook.query.mode}", in: context) == "test run")
        #expect(try evaluate("${webhook.query}", in: context) == ["tenant": "acme", "mode": "test run"])
        #expect(try mappingError("${webhook.query.absent}", in: context) == .missingValue(path: "webhook.query.absent", found: nil))
        #expect(try evaluate("${webhook.query.absent | default(\"x\")}", in: context) == "x")
    }

    @Test("adapter fields")
    func adapterFields() throws {
        let context = CoreTestSupport.context(CoreTestSupport.event(body: [:]), adapter: "stripe-orders", version: 3)
        #expect(try evaluate("${adapter.name}", in: context) == "stripe-orders")
        #expect(try evaluate("${adapter.version}", in: context) == .int(3))
        #expect(try evaluate("${adapter.name}@v${adapter.version}", in: context) == "stripe-orders@v3")
    }

    @Test("non-JSON bodies read as their text")
    func bytesBody() throws {
        let event = Event(
            source: "s", id: "1", type: nil, body: .bytes(Array("a=1&b=2".utf8)), receivedAt: CoreTestSupport.receivedAt)
        #expect(try evaluate("${body}", in: CoreTestSupport.context(event)) == "a=1&b=2")
        #expect(try mappingError("${body.a}", in: CoreTestSupport.context(event)) == .missingValue(path: "body.a", found: nil))
    }
}

@Suite("Filters")
struct FilterTests {
    @Test("lower, upper, trim")
    func caseAndTrim() throws {
        #expect(try evaluate("${body.currency | upper}") == "EUR")
        #expect(try evaluate("${body.currency|upper|lower}") == "eur")
        #expect(try evaluate("${body.padded | trim}") == "Spaced Out")
        #expect(try evaluate("${body.padded | trim | upper}") == "SPACED OUT")
        #expect(try evaluate("${body.n | upper}") == "5")
        #expect(try evaluate("${body.flag | upper}") == "TRUE")
        #expect(try evaluate("code-${body.currency | upper}") == "code-EUR")
    }

    @Test("sha256 of text and of numbers as written")
    func sha256() throws {
        #expect(try evaluate("${body.id | sha256}") == .string(independentSHA256Hex("ord_1")))
        #expect(try evaluate("${body.n | sha256}") == .string(independentSHA256Hex("5")))
        #expect(independentSHA256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try evaluate("${body.missing | default(\"abc\") | sha256}") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("json and string")
    func jsonAndString() throws {
        #expect(try evaluate("${body.nested | json}") == .string(#"{"k":"v","list":[1,"two"]}"#))
        #expect(try evaluate("${body.id | json}") == .string(#""ord_1""#))
        #expect(try evaluate("${body.n | json}") == .string("5"))
        #expect(try evaluate("${body.nothing | json}") == .string("null"))
        #expect(try evaluate("${body.n | string}") == .string("5"))
        #expect(try evaluate("${body.price | string}") == .string("12.5"))
        #expect(try evaluate("${body.flag | string}") == .string("true"))
        #expect(try evaluate("${body.id | string}") == .string("ord_1"))
        #expect(try evaluate("${body.nested | string}") == .string(#"{"k":"v","list":[1,"two"]}"#))
    }

    @Test("default with every literal kind", arguments: [
        ("${body.missing | default(\"text\")}", JSONValue.string("text")),
        ("${body.missing | default('single')}", .string("single")),
        ("${body.missing | default(\"with ) paren\")}", .string("with ) paren")),
        ("${body.missing | default(\"\")}", .string("")),
        ("${body.missing | default(0)}", .int(0)),
        ("${body.missing | default(-42)}", .int(-42)),
        ("${body.missing | default(2.5)}", .double(2.5)),
        ("${body.missing | default(1e3)}", .double(1000)),
        ("${body.missing | default(null)}", .null),
        ("${body.missing | default(true)}", .bool(true)),
        ("${body.missing | default(false)}", .bool(false)),
        ("${body.missing | default( 7 )}", .int(7)),
        ("${body.nothing | default(\"was null\")}", .string("was null")),
        ("${body.id | default(\"unused\")}", .string("ord_1")),
        ("${body.n | default(\"unused\")}", .int(5)),
        ("${body.flag | default(false)}", .bool(true)),
        ("${body.missing | default(\"MiXeD\") | lower}", .string("mixed")),
        ("${body.items[9].id | default(\"none\")}", .string("none")),
        ("${kafka.topic | default(\"no-kafka\")}", .string("no-kafka")),
    ])
    func defaults(text: String, expected: JSONValue) throws {
        let value = try evaluate(text)
        #expect(value == expected)
        #expect(value.typeName == expected.typeName)
        #expect(try Template.compile(text).expressions.first?.hasDefault == true)
    }

    @Test("a filter before default sees the missing value and passes it on")
    func filterThenDefault() throws {
        #expect(try evaluate("${body.missing | upper | default(\"x\")}") == "x")
        #expect(try mappingError("${body.missing | upper}") == .missingValue(path: "body.missing", found: nil))
    }

    @Test("text filters refuse objects, arrays and null")
    func filterFailures() throws {
        #expect(try mappingError("${body.nested | upper}") == .filterFailed(filter: "upper", path: "body.nested", found: "object"))
        #expect(try mappingError("${body.items | lower}") == .filterFailed(filter: "lower", path: "body.items", found: "array"))
        #expect(try mappingError("${body.nothing | trim}") == .filterFailed(filter: "trim", path: "body.nothing", found: "null"))
        #expect(try mappingError("${body.nested | sha256}") == .filterFailed(filter: "sha256", path: "body.nested", found: "object"))
        #expect(
            try mappingError("${body.nested | sha256}")?.description
                == "filter 'sha256' cannot apply to body.nested: it is object")
    }

    @Test("evaluateText refuses objects, arrays and null")
    func evaluateText() throws {
        let context = bodyContext()
        #expect(try Template.compile("${body.n}").evaluateText(in: context, field: "f") == "5")
        #expect(try Template.compile("${body.id}").evaluateText(in: context, field: "f") == "ord_1")
        for (text, found) in [("${body.nested}", "object"), ("${body.items}", "array"), ("${body.nothing}", "null")] {
            #expect {
                try Template.compile(text).evaluateText(in: context, field: "target.workflow_id")
            } throws: { error in
                (error as? MappingError) == .wrongType(field: "target.workflow_id", expected: "text", found: found)
            }
        }
    }
}

@Suite("Expression parse errors")
struct ExpressionParseErrorTests {
    @Test("errors carry a message and an offset", arguments: [
        ("${bdy.id}", "unknown root 'bdy' (did you mean 'body'?)", 2),
        ("ab${evnt.id}", "unknown root 'evnt' (did you mean 'event'?)", 4),
        ("${body.id | lowr}", "unknown filter 'lowr' (did you mean 'lower'?)", 12),
        ("${body.id | uper}", "unknown filter 'uper' (did you mean 'upper'?)", 12),
        ("${body.id | shaa256}", "unknown filter 'shaa256' (did you mean 'sha256'?)", 12),
        ("${body.id | defualt(1)}", "unknown filter 'defualt' (did you mean 'default'?)", 12),
        ("${kafka.topik}", "unknown field 'kafka.topik' (did you mean 'topic'?)", 2),
        ("${kafka.offest}", "unknown field 'kafka.offest' (did you mean 'offset'?)", 2),
        ("${webhook.pth}", "unknown field 'webhook.pth' (did you mean 'path'?)", 2),
        ("${adapter.nam}", "unknown field 'adapter.nam' (did you mean 'name'?)", 2),
        ("${event.tpye}", "unknown field 'event.tpye' (did you mean 'type'?)", 2),
        ("${event.id.x}", "'event.id' has no members", 2),
        ("x${body.id", "unterminated '${': add the closing '}'", 1),
        ("${", "unterminated '${': add the closing '}'", 0),
        ("${}", "empty expression", 2),
        ("${   }", "empty expression", 5),
        ("${.id}", "expected a path such as body.id or event.type", 2),
        ("${body.}", "expected a name after '.'", 7),
        ("${body..a}", "expected a name after '.'", 7),
        ("${body[x]}", "expected an array index or a quoted name inside [ ]", 8),
        ("${body[-1]}", "expected an array index or a quoted name inside [ ]", 9),
        ("${body[]}", "expected an array index or a quoted name inside [ ]", 7),
        ("${body[1}", "expected ']'", 8),
        ("${body[\"a\"}", "expected ']'", 10),
        ("${body | }", "expected a filter name after '|'", 9),
        ("${body |}", "expected a filter name after '|'", 8),
        ("${body | default}", "default needs a value: default(\"text\"), default(0), default(null)", 16),
        ("${body | default(}", "expected a value", 17),
        ("${body | default(abc)}", "expected a quoted string, a number, true, false or null, not 'abc'", 20),
        ("${body | default(\"x\"}", "expected ')' after the default value", 20),
        ("${body | default(1 2)}", "expected ')' after the default value", 19),
        ("${body a}", "unexpected 'a' in expression", 7),
        ("${body.id!}", "unexpected '!' in expression", 9),
        ("${kafka}", "kafka needs a field: kafka.topic, kafka.partition, kafka.offset, kafka.key, kafka.timestamp", 2),
        ("${kafka.topic.name}", "'kafka.topic' has no members", 2),
        ("${kafka[0]}", "kafka needs a field: kafka.topic, kafka.partition, kafka.offset, kafka.key, kafka.timestamp", 2),
        ("${webhook.query.a.b}", "'webhook.query' has no members", 2),
        ("${adapter.name.x}", "'adapter.name' has no members", 2),
        ("${headers.a.b}", "a header has no members: write headers.NAME", 2),
        ("${headers[0]}", "headers are found by name, not position: write headers.NAME", 2),
    ])
    func messages(text: String, message: String, offset: Int) {
        let error = parseError(text)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        #expect(error?.offset == offset, "\(String(describing: error))")
        #expect(error?.description == error?.message)
    }

    @Test("unknown roots and filters list what exists")
    func listsAlternatives() {
        #expect(
            parseError("${payload.id}")?.message
                == "unknown root 'payload' (roots: event, body, headers, kafka, webhook, adapter)")
        #expect(
            parseError("${body | frobnicate}")?.message
                == "unknown filter 'frobnicate' (filters: lower, upper, trim, sha256, json, string, default)")
        #expect(
            parseError("${kafka.partition_id}")?.message.hasSuffix("(fields: topic, partition, offset, key, timestamp)")
                == true)
    }

    @Test("one bad expression anywhere in a value fails the whole template")
    func nestedValues() throws {
        let value: JSONValue = ["a": ["ok-${body.id}", ["deep": "${body.x | nope}"]]]
        #expect(throws: ExpressionError.self) { try Template.compile(value) }
        let good: JSONValue = ["a": ["ok-${body.id}", ["deep": "${body.n}"]], "lit": [1, "two"]]
        let template = try Template.compile(good)
        #expect(template.expressions.map(\.path) == ["body.id", "body.n"])
        let evaluated = try template.evaluate(in: bodyContext())
        #expect(JSONWriter.string(evaluated) == #"{"a":["ok-ord_1",{"deep":5}],"lit":[1,"two"]}"#)
        // Values without expressions compile to one literal.
        #expect(try Template.compile(["x": [1, "two", ["y": nil]]]) == .literal(["x": [1, "two", ["y": nil]]]))
        #expect(try Template.compile(.int(5)) == .literal(.int(5)))
    }
}

@Suite("ExpressionParser")
struct ExpressionParserTests {
    @Test("the parsed form: root, segments, filters")
    func parsedForm() throws {
        let expression = try ExpressionParser.parse(" body.items[2][\"odd key\"].id | upper | default(\"x\") ")
        #expect(expression.root == .body)
        #expect(expression.segments == [.member("items"), .index(2), .member("odd key"), .member("id")])
        #expect(expression.filters == [.upper, .default("x")])
        #expect(expression.path == "body.items[2].odd key.id")
        #expect(expression.hasDefault)
        #expect(expression.description == #"${body.items[2].odd key.id | upper | default("x")}"#)
    }

    @Test("description parses back to the same expression", arguments: [
        "body.a.b[0]", "event.type | lower", "headers.X-Thing | trim | default(null)", "kafka.offset | string",
        "webhook.query.tenant | default(3)", "adapter.version | json", "body | sha256", "body.x | default(2.5)",
        "body.x | default(true) | string",
    ])
    func descriptionRoundTrip(text: String) throws {
        let expression = try ExpressionParser.parse(text)
        let description = expression.description
        #expect(description.hasPrefix("${") && description.hasSuffix("}"))
        let inner = String(description.dropFirst(2).dropLast())
        #expect(try ExpressionParser.parse(inner) == expression)
    }

    @Test("offsets are relative to the template when a base is given")
    func baseOffset() {
        do {
            _ = try ExpressionParser.parse("body | nope", baseOffset: 10)
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 17)
        }
    }

    @Test("every root parses with its fields", arguments: SluiceCore.Expression.Root.allCases)
    func roots(root: SluiceCore.Expression.Root) throws {
        let field: String
        switch root {
        case .kafka: field = ".topic"
        case .webhook: field = ".path"
        case .adapter: field = ".name"
        case .event: field = ".id"
        default: field = ".anything"
        }
        #expect(try ExpressionParser.parse(root.rawValue + field).root == root)
    }
}

@Suite("Suggestions")
struct SuggestionTests {
    @Test("did you mean finds close words only")
    func didYouMean() {
        #expect(Suggestions.didYouMean("adaptor", in: ["adapter", "version"]) == " (did you mean 'adapter'?)")
        #expect(Suggestions.didYouMean("VERSION", in: ["adapter", "version"]) == " (did you mean 'version'?)")
        #expect(Suggestions.didYouMean("zzzzzz", in: ["adapter", "version"]) == "")
        #expect(Suggestions.closest(to: "rule", in: ["rules", "retry"]) == "rules")
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
        #expect(Suggestions.editDistance("", "abc") == 3)
        #expect(Suggestions.editDistance("abc", "") == 3)
    }
}
