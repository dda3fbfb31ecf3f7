import Foundation
import SluiceApp
import SluiceCore
import Testing

@Suite struct ValidateCommandTests {
    /// A scratch directory with the given files.
    func project(_ files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-validate-\(UUID().uuidString)")
        for (name, text) in files {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return directory
    }

    static let goodAdapter = """
        adapter: orders
        version: 2
        source:
          webhook: { path: /webhooks/orders, verify: { scheme: github, secrets: ["${env:ORDERS_SECRET}"] } }
        engine: primary
        rules:
          - name: created
            when: { event.type: order.created }
            do:
              - start_workflow: { workflow_type: orders.fulfillment, workflow_id: "order-${body.id}", input: ["${body}"] }
        """

    static let config = """
        engines:
          primary: { type: durable-workflow, url: "http://127.0.0.1:8080", token: "${env:DW_TOKEN}" }
        """

    @Test func theRepositoryExamplesAreClean() throws {
        let result = try SluiceProcess.run(["validate"], in: ExampleGoldenTests.repository)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.hasPrefix("ok: 7 file(s), 6 adapter(s)"))
        #expect(!result.standardError.contains("error"))
    }

    @Test func everyProblemIsReportedAtOnceWithItsLocation() throws {
        let bad = """
            adapter: "bad name!"
            version: zero
            source:
              webhook: { path: webhooks/orders, verfy: { scheme: github } }
            engine: secondary
            boundary: { max_in_flight: 0, cancellation_budget: 2 parsecs }
            rules:
              - name: created
                when: { event.type: order.created }
                do:
                  - start_workflow: { workflow_type: x, workflow_id: "order-${bdy.id}" }
                  - signal_workflow: { workflow_id: "order-${body.id | uppr}", signal_name: s }
                    needs: [missing]
            """
        let directory = try project(["sluice.yaml": Self.config, "adapters/bad.yaml": bad])
        let result = try SluiceProcess.run(["validate"], in: directory)
        #expect(result.status == 1)
        let lines = result.standardError.split(separator: "\n").map(String.init)
        let expectedFragments = [
            "adapters/bad.yaml:1:10: adapter: 'bad name!' is not a valid adapter name",
            "adapters/bad.yaml:2:10: version: expected a whole number, found 'zero'",
            "adapters/bad.yaml:4:37: source.webhook.verfy: unknown key 'verfy' (did you mean 'verify'?)",
            "adapters/bad.yaml:4:20: source.webhook.path: 'webhooks/orders' is not a webhook path such as /webhooks/stripe: a path starts with '/'",
            "adapters/bad.yaml:6:28: boundary.max_in_flight: must be between 1 and 100000, found 0",
            "adapters/bad.yaml:6:52: boundary.cancellation_budget: '2 parsecs' is not a duration",
            "adapters/bad.yaml:5:9: engine: unknown engine 'secondary'",
            "adapters/bad.yaml:11:58: rules[0].do[0].start_workflow.workflow_id: expression does not parse: unknown root 'bdy' (did you mean 'body'?)",
            "adapters/bad.yaml:12:41: rules[0].do[1].signal_workflow.workflow_id: expression does not parse: unknown filter 'uppr'",
            "adapters/bad.yaml:13:16: rules[0].do[1].needs: needs 'missing', which is not a step declared before this one",
        ]
        for fragment in expectedFragments {
            #expect(lines.contains { $0.hasPrefix(fragment) }, "missing: \(fragment)\n\(result.standardError)")
        }
        #expect(result.standardOutput.contains("error(s)"))
    }

    @Test func compileProblemsAreLocatedToo() throws {
        let bad = Self.goodAdapter
            .replacingOccurrences(of: "engine: primary", with: "engine: primray")
            .replacingOccurrences(of: "${body}", with: "${body | uppr}")
        let directory = try project(["sluice.yaml": Self.config, "adapters/orders.yaml": bad])
        let result = try SluiceProcess.run(["validate"], in: directory)
        #expect(result.status == 1)
        #expect(result.standardError.contains("adapters/orders.yaml:5:9: engine: unknown engine 'primray' (did you mean 'primary'?)"))
        #expect(result.standardError.contains("rules[0].do[0].start_workflow.input: expression does not parse: unknown filter 'uppr' (did you mean 'upper'?)"))
    }

    @Test func duplicateNamesAndPathsAcrossFiles() throws {
        let directory = try project([
            "adapters/a.yaml": Self.goodAdapter, "adapters/b.yaml": Self.goodAdapter,
        ])
        let result = try SluiceProcess.run(["validate", "adapters"], in: directory)
        #expect(result.status == 1)
        #expect(result.standardError.contains("adapters/b.yaml:1:1: adapter: duplicate adapter name 'orders' (also in adapters/a.yaml)"))
        #expect(result.standardError.contains("duplicate webhook path '/webhooks/orders'"))
    }

    /// `sluice validate` reads the service's settings as `sluice serve` does: a file it passes is one the service
    /// takes (flags and `SLUICE_*` variables aside).
    @Test func serviceSettingsAreCheckedAsTheServiceReadsThem() throws {
        let config = Self.config + """

            http: { port: 99999, read_timeout: soon, max_buffered_bytes: 1000 }
            logging: { level: loud }
            metrics: { path: /healthz }
            tracing: { otlp_endpoint: collector:4318 }
            ledger: { password: hunter2, retention: 30 days }
            """
        let directory = try project(["sluice.yaml": config, "adapters/orders.yaml": Self.goodAdapter])
        let result = try SluiceProcess.run(["validate"], in: directory)
        #expect(result.status == 1)
        for expected in [
            "sluice.yaml:3:15: http.port: '99999' is not a whole number in 0...65535",
            "sluice.yaml:3:36: http.read_timeout: 'soon' is not a duration",
            "sluice.yaml:3:62: http.max_buffered_bytes: '1000' is not a whole number in 65536...",
            "sluice.yaml:4:19: logging.level: 'loud' is not one of",
            "sluice.yaml:5:18: metrics.path: '/healthz' is taken by the status page or a health route",
            "sluice.yaml:6:27: tracing.otlp_endpoint: 'collector:4318' is not an http:// or https:// URL",
            "sluice.yaml:7:21: ledger.password: write the password as ${env:NAME} or ${file:PATH}",
            "sluice.yaml:7:41: ledger.retention: '30 days' is not a duration",
        ] {
            #expect(result.standardError.contains(expected), "\(expected)\n\(result.standardError)")
        }
        // The service refuses the same file.
        let serve = try SluiceProcess.run(["serve"], in: directory)
        #expect(serve.status == 2, "\(serve.standardError)")
        #expect(serve.standardError.contains("http.port: '99999' is not a whole number in 0...65535"), "\(serve.standardError)")
    }

    /// A configuration named with `--config` is named in its ledger problems as the user wrote it, like every
    /// other problem of that file.
    @Test func ledgerProblemsNameTheConfigurationAsGiven() throws {
        let directory = try project(["deploy/prod.yaml": Self.config + "\nledger: { retention: 30 days }\n"])
        let result = try SluiceProcess.run(["replay", "--config", "deploy/prod.yaml", "--dry-run"], in: directory)
        #expect(result.status != 0)
        #expect(result.standardError.contains("deploy/prod.yaml:3:22: "), "\(result.standardError)")
        #expect(result.standardError.contains("ledger.retention: '30 days' is not a duration"), "\(result.standardError)")
    }

    /// `sluice serve` checks the adapters against `sluice.yaml`'s engines as `validate` does: a misspelt engine is
    /// named with its file and line, not reported as no engine at all.
    @Test func serveNamesAnUnknownEngineWhereItIsWritten() throws {
        let adapter = Self.goodAdapter.replacingOccurrences(of: "engine: primary", with: "engine: primry")
        let directory = try project(["sluice.yaml": Self.config, "adapters/orders.yaml": adapter])
        let result = try SluiceProcess.run(["serve"], in: directory, environment: ["ORDERS_SECRET": "s", "DW_TOKEN": "t"])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("adapters/orders.yaml:5:9: engine: unknown engine 'primry' (did you mean 'primary'?)"), "\(result.standardError)")
    }

    /// With `--config`, serve names that file in the problems it finds with the adapters against it.
    @Test func serveNamesTheConfigurationAsGiven() throws {
        let config = Self.config + """

              secondary: { type: durable-workflow, url: "http://127.0.0.1:8081", token: "${env:DW_TOKEN}" }
            adapters: ../adapters
            """
        let adapter = Self.goodAdapter.replacingOccurrences(of: "engine: primary\n", with: "")
        let directory = try project(["deploy/prod.yaml": config, "adapters/orders.yaml": adapter])
        let result = try SluiceProcess.run(
            ["serve", "--config", "deploy/prod.yaml"], in: directory, environment: ["ORDERS_SECRET": "s", "DW_TOKEN": "t"])
        #expect(result.status == 2, "\(result.standardError)")
        #expect(result.standardError.contains("deploy/prod.yaml:1:1: default_engine: adapter 'orders' names no engine and deploy/prod.yaml has several"), "\(result.standardError)")
    }

    @Test func invalidYAMLIsOneClearError() throws {
        let directory = try project(["adapters/broken.yaml": "adapter: x\nrules: [\n  - a: b\n"])
        let result = try SluiceProcess.run(["validate", "adapters/broken.yaml"], in: directory)
        #expect(result.status == 1)
        #expect(result.standardError.contains("adapters/broken.yaml:"))
        #expect(result.standardError.contains("invalid YAML"))
        #expect(!result.standardError.contains("Fatal error"))
    }

    @Test func missingSecretsWarnInValidateAndFailAtStartWithoutLeakingValues() throws {
        let directory = try project(["sluice.yaml": Self.config, "adapters/orders.yaml": Self.goodAdapter])
        let lenient = ProjectLoader(environment: [:], resolution: .lenient).load(paths: [], directory: directory)
        #expect(lenient.adapters != nil)
        #expect(lenient.diagnostics.contains { $0.severity == .warning && $0.message == "environment variable ORDERS_SECRET is not set" })
        let strict = ProjectLoader(environment: [:], resolution: .strict).load(paths: [], directory: directory)
        #expect(strict.adapters == nil)
        #expect(strict.diagnostics.contains { $0.severity == .error && $0.message == "environment variable DW_TOKEN is not set" })
        // Located where the token is written (line 2, at its value), not at the top of the file.
        let token = strict.diagnostics.first { $0.key == "engines.primary.token" }
        #expect(token?.file == "sluice.yaml")
        #expect(token?.line == 2 && token?.column ?? 0 > 1, "\(String(describing: token))")
        #expect(strict.diagnostics.contains { $0.severity == .error && $0.message == "environment variable ORDERS_SECRET is not set" })

        let secret = "s3cr3t-value-that-must-not-leak"
        let broken = Self.goodAdapter.replacingOccurrences(of: "order.created", with: "[")
        let loaded = ProjectLoader(environment: ["ORDERS_SECRET": secret, "DW_TOKEN": secret], resolution: .strict)
            .load(paths: [], directory: try project(["sluice.yaml": Self.config, "adapters/orders.yaml": broken]))
        #expect(loaded.diagnostics.allSatisfy { !$0.description.contains(secret) })
    }

    /// A webhook adapter's boundary mode is checked against where `sluice.yaml` keeps its webhooks: with
    /// `kafka.inbox_topic` they are pulled by a consumer, so `push-only` is an error at `boundary.mode`; without it
    /// they are pushed, so `pull-only` is. With no `sluice.yaml` the check waits for the start.
    @Test func aWebhookAdaptersModeIsCheckedAgainstTheInbox() throws {
        let inboxConfig = Self.config + "\nkafka: { bootstrap_servers: \"127.0.0.1:9092\", inbox_topic: sluice-inbox }\n"
        let pushOnly = Self.goodAdapter.replacingOccurrences(of: "engine: primary", with: "engine: primary\nboundary: { mode: push-only }")
        let pullOnly = pushOnly.replacingOccurrences(of: "push-only", with: "pull-only")
        func errors(config: String?, adapter: String, inboxVariable: String? = nil) throws -> [Diagnostic] {
            var files = ["adapters/orders.yaml": adapter]
            if let config { files["sluice.yaml"] = config }
            let directory = try project(files)
            defer { try? FileManager.default.removeItem(at: directory) }
            var environment = ["ORDERS_SECRET": "s", "DW_TOKEN": "t"]
            environment["SLUICE_KAFKA_INBOX_TOPIC"] = inboxVariable
            return ProjectLoader(environment: environment, resolution: .strict)
                .load(paths: [], directory: directory).diagnostics.filter { $0.severity == .error }
        }
        let pushedIntoPull = try errors(config: inboxConfig, adapter: pushOnly)
        #expect(pushedIntoPull.map(\.key) == ["boundary.mode"], "\(pushedIntoPull)")
        #expect(pushedIntoPull.first?.file == "adapters/orders.yaml")
        #expect(pushedIntoPull.first?.line == 6)
        #expect(pushedIntoPull.first?.message.hasPrefix("boundary mode push-only refuses pull sources, and with kafka.inbox_topic") == true)
        let pulledFromPush = try errors(config: Self.config, adapter: pullOnly)
        #expect(pulledFromPush.map(\.key) == ["boundary.mode"], "\(pulledFromPush)")
        #expect(pulledFromPush.first?.message.hasPrefix("boundary mode pull-only refuses push sources") == true)
        #expect(try errors(config: inboxConfig, adapter: pullOnly).isEmpty)
        // The variable sets the topic as the start sees it; empty is unset.
        #expect(try errors(config: Self.config, adapter: pullOnly, inboxVariable: "sluice-inbox").isEmpty)
        #expect(try errors(config: Self.config, adapter: pullOnly, inboxVariable: "").map(\.key) == ["boundary.mode"])
        #expect(try errors(config: Self.config, adapter: pushOnly).isEmpty)
        #expect(try errors(config: nil, adapter: pullOnly.replacingOccurrences(of: "engine: primary\n", with: "")).isEmpty)
    }

    /// The consumer of `kafka.inbox_topic` is named `webhook-inbox` in group `sluice-webhook-inbox`: a Kafka adapter
    /// sharing either would share its readiness check (one hiding the other's), its metrics and its consumer group.
    @Test func aKafkaAdapterCannotTakeTheInboxConsumersNameOrGroup() throws {
        let inboxConfig = Self.config + "\nkafka: { bootstrap_servers: \"127.0.0.1:9092\", inbox_topic: sluice-inbox }\n"
        func kafkaAdapter(name: String, group: String?) -> String {
            """
            adapter: \(name)
            source:
              kafka: { topics: [orders]\(group.map { ", group: \($0)" } ?? "") }
            engine: primary
            idempotency_key: "${event.id}"
            rules:
              - name: all
                do:
                  - start_workflow: { workflow_type: t, task_queue: q }
            """
        }
        func errors(config: String, adapter: String) throws -> [Diagnostic] {
            let directory = try project(["sluice.yaml": config, "adapters/a.yaml": adapter])
            defer { try? FileManager.default.removeItem(at: directory) }
            return ProjectLoader(environment: ["DW_TOKEN": "t"], resolution: .strict)
                .load(paths: [], directory: directory).diagnostics.filter { $0.severity == .error }
        }
        let named = try errors(config: inboxConfig, adapter: kafkaAdapter(name: "webhook-inbox", group: nil))
        #expect(named.map(\.key) == ["adapter"], "\(named)")
        #expect(named.first?.line == 1)
        #expect(named.first?.message.contains("kafka.inbox_topic") == true)
        let grouped = try errors(config: inboxConfig, adapter: kafkaAdapter(name: "orders", group: "sluice-webhook-inbox"))
        #expect(grouped.map(\.key) == ["source.kafka.group"], "\(grouped)")
        // Without an inbox topic there is no such consumer.
        #expect(try errors(config: Self.config, adapter: kafkaAdapter(name: "webhook-inbox", group: nil)).isEmpty)
        #expect(try errors(config: inboxConfig, adapter: kafkaAdapter(name: "orders", group: nil)).isEmpty)
    }

    /// `${file:…}` paths start at `sluice.yaml`'s directory in `validate`, as in the service, wherever it is run
    /// from; an absolute `adapters:` path is taken as is.
    @Test func fileReferencesStartAtTheConfigurationsDirectory() throws {
        let adapter = Self.goodAdapter.replacingOccurrences(of: "${env:ORDERS_SECRET}", with: "${file:secrets/orders}")
        let directory = try project([
            "deploy/sluice.yaml": Self.config.replacingOccurrences(of: "${env:DW_TOKEN}", with: "${file:secrets/token}"),
            "deploy/secrets/token": "t0ken\n", "deploy/secrets/orders": "whsec\n", "deploy/adapters/orders.yaml": adapter,
        ])
        let loaded = ProjectLoader(environment: [:], resolution: .strict).load(paths: ["deploy/sluice.yaml"], directory: directory)
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        #expect(loaded.adapters?.adapter(named: "orders") != nil)
        let absolute = Self.config + "\nadapters: \(directory.path)/deploy/adapters\n"
        let elsewhere = try project(["sluice.yaml": absolute])
        let fromAbsolute = ProjectLoader(environment: ["DW_TOKEN": "t"], resolution: .lenient)
            .load(paths: [], directory: elsewhere)
        #expect(fromAbsolute.adapters?.adapter(named: "orders") != nil, "\(fromAbsolute.diagnostics)")
    }

    /// `map` keeps the headers the route would: another convention's unsigned id header (here Standard Webhooks'
    /// `webhook-id` on a Stripe route) does not give the event an id, nor the plan a key, that `serve` would not.
    @Test func mapShowsTheEventServeWouldMake() throws {
        let plain = try SluiceProcess.run(
            ["map", "--adapter", "adapters/stripe-orders.yaml", "--event", "examples/stripe-orders/checkout-completed.json"],
            in: ExampleGoldenTests.repository)
        let foreign = try SluiceProcess.run(
            ["map", "--adapter", "adapters/stripe-orders.yaml", "--event", "examples/stripe-orders/checkout-completed.json",
             "--header", "webhook-id:msg_1", "--header", "Stripe-Signature:t=1,v1=00"],
            in: ExampleGoldenTests.repository)
        #expect(plain.status == 0, "\(plain.standardError)")
        #expect(foreign.standardOutput == plain.standardOutput, "\(foreign.standardOutput)")
        #expect(!foreign.standardOutput.contains("msg_1"))
    }

    @Test func mapReportsABadEventFileAndABadHeader() throws {
        let directory = try project(["adapters/orders.yaml": Self.goodAdapter, "event.json": "{\"id\": 1}"])
        let missing = try SluiceProcess.run(["map", "--adapter", "adapters/orders.yaml", "--event", "nope.json"], in: directory)
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("nope.json: cannot read the event file"))
        let header = try SluiceProcess.run(
            ["map", "--adapter", "adapters/orders.yaml", "--event", "event.json", "--header", "no-colon"], in: directory)
        #expect(header.status != 0)
        #expect(header.standardError.contains("--header 'no-colon' is not NAME:VALUE"))
        let unmatched = try SluiceProcess.run(["map", "--adapter", "adapters/orders.yaml", "--event", "event.json"], in: directory)
        #expect(unmatched.status == 1)
        #expect(unmatched.standardOutput.contains("\"reason\": \"unmatched\""))
    }
}
