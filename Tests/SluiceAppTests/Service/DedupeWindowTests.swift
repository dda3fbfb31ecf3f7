import Foundation
import SluiceCore
import SluiceLaunch
import SluiceTesting
import Testing

/// An adapter's `dedupe_window` reaches the ledger of `sluice serve`, and the gate does not hold on to a
/// decision the ledger let go of.
@Suite("sluice serve: dedupe windows")
struct DedupeWindowTests {
    @Test("a delivery inside the window is answered from the ledger; one after it is delivered again")
    func aKeyIsDecidedAgainAfterItsWindow() async throws {
        let fake = try await startEngineFake()
        let adapter = ordersAdapterYAML.replacingOccurrences(of: "version: 1\n", with: "version: 1\ndedupe_window: 1s\n")
        #expect(adapter.contains("dedupe_window: 1s"))
        let project = try ServiceProject(engineURL: fake.baseURL, adapters: ["orders": adapter])
        defer { project.cleanUp() }
        let port = try FreePort.next()
        let serve = try await ServeProcess.start(project: project, port: port)

        func engineCalls() -> Int {
            fake.requests.filter { $0.json?["idempotency_key"]?.stringValue == "evt_window" }.count
        }
        #expect(await ServeProcess.post(port: port, id: "evt_window", order: 7) == 202)
        #expect(await eventually(timeout: .seconds(10)) { engineCalls() == 1 })
        // Inside the window: the ledger's decision answers, and nothing reaches the engine.
        #expect(await eventually(timeout: .seconds(5)) { await ServeProcess.post(port: port, id: "evt_window", order: 7) == 200 })
        // After it: the key is decided again (the engine, which dedupes by key itself, answers duplicate).
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(await ServeProcess.post(port: port, id: "evt_window", order: 7) == 202)
        let deliveredAgain = await eventually(timeout: .seconds(10)) { engineCalls() == 2 }
        #expect(deliveredAgain, "log:\n\(serve.log)")

        serve.signal(SIGTERM)
        #expect(try await serve.waitForExit(timeout: .seconds(30)) == 0)
        await fake.stop()
    }
}
