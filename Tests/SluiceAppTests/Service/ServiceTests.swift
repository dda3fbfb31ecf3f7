import Foundation
import SluiceApp
import SluiceCore
import SluiceLedger
import ServiceLifecycle
import SluiceTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("sluice serve: composition root, health, metrics, status page, inbox re-admission")
struct ServiceTests {
    @Test("the service starts on a free port and serves /healthz, /readyz, /metrics and the status page")
    func operationsRoutes() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        let config = try project.configuration()
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(config, ledger: ledger)
        let health = try await service.get("/healthz")
        #expect(health.status == 200)
        #expect(await eventually { (try? await service.get("/readyz").status) == 200 })
        let ready = try await service.get("/readyz")
        #expect(ready.body.contains("ok   ledger"))
        #expect(ready.body.contains("engine primary"))
        let metrics = try await service.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains("sluice_gate_in_flight"))
        #expect(metrics.body.contains("adapter=\"orders\""))
        let page = try await service.get("/")
        #expect(page.status == 200)
        #expect(page.body.contains("<h2>orders"))
        #expect(page.body.contains("webhook POST /webhooks/orders"))
        #expect(page.body.contains("<svg"))
        // What no route takes is a problem, not an empty answer: another method on a webhook's path is 405.
        let wrongMethod = try await service.request("/webhooks/orders", method: "GET")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["Allow"] == "POST")
        #expect(wrongMethod.headers["Content-Type"] == "application/problem+json")
        #expect(wrongMethod.body.contains("takes POST, not GET"), "\(wrongMethod.body)")
        // HEAD has no body to carry a problem: the router's bare answer.
        let head = try await service.request("/webhooks/orders", method: "HEAD")
        #expect(head.status == 404 && head.body.isEmpty)
        let unknown = try await service.request("/webhooks/nothing-here", method: "POST")
        #expect(unknown.status == 404)
        #expect(unknown.body.contains("urn:sluice:problem:not-found"), "\(unknown.body)")
        try await service.stop()
        await fake.stop()
    }

    /// The webhook port may face the internet: with an operations port, the status page (recent keys and workflow ids),
    /// readiness (the ledger's and engines' errors) and the metrics are served there, and not on the webhook port.
    @Test("with http.operations_port, the operations routes are served there only")
    func operationsPort() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        var config = try project.configuration()
        config.http.operationsPort = 0
        let service = try await RunningService.start(config, ledger: InMemoryLedger())
        let operations = try #require(await service.application.operationsListening?.port)
        #expect(operations != service.port)
        for path in ["/", "/healthz", "/readyz", "/metrics"] {
            let onWebhookPort = try await service.request(path, method: "GET")
            #expect(onWebhookPort.status == 404, "\(path) is still served on the webhook port")
        }
        let health = try await service.get("/healthz", port: operations)
        #expect(health.status == 200)
        let page = try await service.get("/", port: operations)
        #expect(page.body.contains("<h2>orders"))
        #expect(try await service.get("/metrics", port: operations).body.contains("sluice_gate_in_flight"))
        // The webhooks are still taken on theirs.
        let posted = try await service.request("/webhooks/orders", method: "GET")
        #expect(posted.status == 405)
        try await service.stop()
        await fake.stop()
    }

    /// A webhook adapter whose boundary refuses the way its webhooks reach the gate does not start: pushed through the
    /// ledger's inbox into a pull-only gate (every webhook would be refused `503`), or pulled by the ingress consumer
    /// of `kafka.inbox_topic` into a push-only gate (acknowledged `202`, then the consumer would stop).
    @Test("a webhook adapter whose boundary mode refuses its webhooks' way in does not start")
    func webhookModesAreCheckedAtStart() throws {
        let cases: [(mode: String, extra: String, refused: String)] = [
            ("pull-only", "", "refuses push sources"),
            ("push-only", "kafka:\n  bootstrap_servers: 127.0.0.1:9\n  inbox_topic: sluice.inbox\n", "refuses pull sources"),
        ]
        for (mode, extra, refused) in cases {
            let adapter = ordersAdapterYAML.replacingOccurrences(of: "boundary: { ", with: "boundary: { mode: \(mode), ")
            let project = try ServiceProject(engineURL: "http://127.0.0.1:9", adapters: ["orders": adapter], extra: extra)
            defer { project.cleanUp() }
            let config = try project.configuration()
            do {
                _ = try buildApplication(config: config, ledger: InMemoryLedger())
                Issue.record("\(mode) started")
            } catch {
                // Found where it is written, as `sluice validate` reports it.
                #expect("\(error)".contains("adapters/orders.yaml:5:19: boundary.mode: boundary mode \(mode) \(refused)"), "\(error)")
            }
        }
        // An error found later in the assembly (here a source that cannot be made) is thrown too, not a trap over the
        // engines' HTTP client left running (AsyncHTTPClient traps in debug builds when one is released unstopped).
        let project = try ServiceProject(engineURL: "http://127.0.0.1:9", adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        #expect(throws: StartupError.self) {
            _ = try buildApplication(
                config: try project.configuration(), ledger: InMemoryLedger(),
                sources: { _, _, _ in throw StartupError("kafka: no such broker") })
        }
    }

    @Test("/readyz turns false when the ledger or the engine is unavailable, and true when they return")
    func readinessFlips() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(try project.configuration(), ledger: ledger)
        #expect(await eventually { (try? await service.get("/readyz").status) == 200 })

        ledger.failWrites(with: .retryable("disk_full", "no space left on device"))
        #expect(await eventually { (try? await service.get("/readyz").status) == 503 })
        #expect(try await service.get("/readyz").body.contains("FAIL ledger"))
        ledger.failWrites(with: nil)
        #expect(await eventually { (try? await service.get("/readyz").status) == 200 })

        // A check that never answers (a connection left half-open) fails after the check timeout, instead of
        // leaving the last answer in place; and readiness returns once it answers again.
        ledger.holdReadinessChecks(true)
        #expect(await eventually { (try? await service.get("/readyz").status) == 503 })
        #expect(try await service.get("/readyz").body.contains("FAIL ledger: no answer within 1s"))
        ledger.holdReadinessChecks(false)
        #expect(await eventually { (try? await service.get("/readyz").status) == 200 })

        // The engine answers 503 for a while, then recovers.
        fake.inject(.status(503), .status(503), .status(503), .status(503), .status(503), .status(503))
        #expect(await eventually { (try? await service.get("/readyz").status) == 503 })
        #expect(try await service.get("/readyz").body.contains("FAIL engine primary"))
        #expect(await eventually { (try? await service.get("/readyz").status) == 200 })

        await fake.stop()
        #expect(await eventually { (try? await service.get("/readyz").status) == 503 })
        try await service.stop()
    }

    @Test("inbox rows a crash left behind are delivered at start-up, before anything else")
    func inboxReadmissionAtStart() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        let config = try project.configuration()
        let path = project.directory.appendingPathComponent("ledger.sqlite").path
        // A previous run accepted three webhooks (202) and died before delivering them.
        do {
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
            for order in 1...3 {
                let (_, delivery) = try orderDelivery(id: "evt_crash_\(order)", order: order)
                _ = try await ledger.appendInbox(delivery)
            }
            await ledger.close()
        }
        let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
        let service = try await RunningService.start(config, ledger: ledger)
        let delivered = await eventually {
            (try? await ledger.pendingInbox(after: nil, limit: 10))?.isEmpty ?? false
        }
        #expect(delivered)
        for order in 1...3 {
            let outcome = try await ledger.decision(adapter: "orders", idempotencyKey: "evt_crash_\(order)")
            #expect(outcome?.kind == .accepted)
            #expect(fake.workflow("order-\(order)") != nil)
        }
        try await service.stop()
        await ledger.close()
        await fake.stop()
    }

    /// SIGTERM while start-up re-admission still works through the inbox: intake drains first, re-admission stops
    /// and opens intake, and the sources, which never started, must still wait for their own turn to stop. One
    /// that returned at once ended while the group waited for another, and the group then cancelled everything
    /// (every gate's drain cut) and `run()` threw, so `sluice serve` exited 1.
    @Test("a shutdown during start-up re-admission stops every service in its turn, and returns")
    func shutdownDuringReadmission() async throws {
        let fake = try await startEngineFake()
        fake.inject(Array(repeating: FakeFault.delay(.milliseconds(300)), count: 20))
        let adapter = ordersAdapterYAML.replacingOccurrences(
            of: "max_in_flight: 4, max_queued: 64", with: "max_in_flight: 1, max_queued: 1")
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": adapter])
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        for order in 1...10 {
            _ = try await ledger.appendInbox(try orderDelivery(id: "evt_readmit_\(order)", order: order).1)
        }
        let application = try buildApplication(
            config: try project.configuration(), ledger: ledger,
            sources: { _, _, _ in [IdleSource(), IdleSource(), IdleSource()] }, healthInterval: .milliseconds(200))
        let run = Task { try await application.run() }
        // Re-admission is under way: the gate (one in flight, one queued) holds it back.
        #expect(await eventually { !fake.requests.isEmpty })
        #expect(!application.intake.isOpen)
        await application.shutdown()
        let result = await run.result
        #expect((try? result.get()) != nil, "\(result)")
        await fake.stop()
    }

    /// Two adapters, each with a 3 s budget and a call in flight that outlasts it: the gates drain together, so the
    /// shutdown takes about 3 s, not 6 (the group stops its services one at a time, and the gates were each one).
    @Test("the gates drain together: a shutdown takes the longest budget, not their sum")
    func gatesDrainTogether() async throws {
        let fake = try await startEngineFake()
        func adapter(_ name: String) -> String {
            ordersAdapterYAML.replacingOccurrences(of: "adapter: orders", with: "adapter: \(name)")
                .replacingOccurrences(of: "/webhooks/orders", with: "/webhooks/\(name)")
                .replacingOccurrences(of: "cancellation_budget: 2s", with: "cancellation_budget: 3s")
        }
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["first": adapter("first"), "second": adapter("second")])
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        // Health checks a minute apart: after the first ones, every request the engine gets is slow.
        let service = try await RunningService.start(try project.configuration(), ledger: ledger, healthInterval: .seconds(60))
        #expect(await eventually { !fake.requests.isEmpty }, "the engine's first health check")
        fake.inject(Array(repeating: FakeFault.delay(.seconds(20)), count: 10))
        for (order, name) in ["first", "second"].enumerated() {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(service.port)/webhooks/\(name)")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(#"{"id":"evt_\#(name)","type":"order.created","order":\#(order)}"#.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 202)
        }
        #expect(await eventually { fake.requests.filter { $0.json?["idempotency_key"] != nil }.count == 2 })
        let started = ContinuousClock.now
        try await service.stop()
        let took = ContinuousClock.now - started
        #expect(took >= .seconds(3), "the budget is waited for: \(took)")
        #expect(took < .seconds(5.5), "both budgets ran at once: \(took)")
        // Cut, not acknowledged: both rows stay for the next start.
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).count == 2, "\(ledger.allDecisions)")
        await fake.stop()
    }

    /// A service that fails (a Kafka consumer's fatal error, a port taken) stops the others as SIGTERM does: intake
    /// closes and the gates drain within their budgets, so an engine call in flight is answered and recorded instead
    /// of cut; `run()` then throws the failure.
    @Test("a failing service stops the others gracefully: work in flight drains, and run() throws its error")
    func failingServiceDrainsTheOthers() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        let failing = FailingService()
        let application = try buildApplication(
            config: try project.configuration(), ledger: ledger, sources: { _, _, _ in [failing] },
            healthInterval: .seconds(60))
        let run = Task { try await application.run() }
        let port = try #require(await application.listening.port)
        await application.intake.waitUntilOpen()
        #expect(await eventually { !fake.requests.isEmpty }, "the engine's first health check")
        fake.inject([FakeFault.delay(.milliseconds(800))])
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/webhooks/orders")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"id":"evt_failing","type":"order.created","order":1}"#.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 202)
        #expect(await eventually { fake.requests.contains { $0.json?["idempotency_key"] != nil } })
        failing.fail()
        let result = await run.result
        #expect(throws: FailingService.Failure.self) { try result.get() }
        #expect(try await ledger.decision(adapter: "orders", idempotencyKey: "evt_failing")?.kind == .accepted, "\(ledger.allDecisions)")
        #expect(try await ledger.pendingInbox(after: nil, limit: 10).isEmpty)
        await fake.stop()
    }

    @Test("graceful shutdown drains the gates and returns")
    func gracefulShutdown() async throws {
        let fake = try await startEngineFake()
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": ordersAdapterYAML])
        defer { project.cleanUp() }
        let service = try await RunningService.start(try project.configuration(), ledger: InMemoryLedger())
        await service.application.shutdown()
        let result = await service.task.result
        #expect((try? result.get()) != nil)
        #expect(service.application.intake.isDraining)
        await fake.stop()
    }
}

/// A source that does nothing until its graceful shutdown.
private struct IdleSource: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
