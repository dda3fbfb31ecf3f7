import Foundation
import SluiceApp
import SluiceCore
import SluiceLaunch
import SluiceTesting
import Testing

/// The status page in a real browser: Debian's headless chromium renders it, takes a screenshot,
/// and dumps the DOM it built, which must show the adapters, their boundaries and their outcomes.
@Suite("Status page in headless chromium")
struct StatusPageBrowserTests {
    @Test("chromium renders the page with every adapter, its boundary and recent outcomes, and takes a screenshot")
    func screenshot() async throws {
        let browser = try #require(
            ManagedProcess.find("chromium") ?? ManagedProcess.find("chromium-browser"),
            "chromium is not on PATH: apt-get install chromium (.ci/run does)")
        let fake = try await startEngineFake()
        let project = try ServiceProject(
            engineURL: fake.baseURL,
            adapters: ["orders": ordersAdapterYAML, "refunds": ordersAdapterYAML.replacingOccurrences(of: "adapter: orders", with: "adapter: refunds")
                .replacingOccurrences(of: "/webhooks/orders", with: "/webhooks/refunds")])
        defer { project.cleanUp() }
        let ledger = InMemoryLedger()
        let service = try await RunningService.start(try project.configuration(), ledger: ledger)
        // Some outcomes to show.
        let pipeline = try #require(service.application.pipelines["orders"])
        for order in 1...5 {
            let (event, delivery) = try orderDelivery(id: "evt_page_\(order)", order: order)
            _ = await pipeline.accept(event, delivery: delivery)
        }
        #expect(await eventually { pipeline.counts.accepted == 5 })
        try await Task.sleep(for: .milliseconds(600))  // a few samples for the charts

        let url = "http://127.0.0.1:\(service.port)/"
        let screenshot = project.directory.appendingPathComponent("status.png")
        let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900"]
        let shot = try await run(browser, common + ["--screenshot=\(screenshot.path)", url])
        #expect(shot == 0)
        let png = try Data(contentsOf: screenshot)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000, "a blank page compresses far smaller")
        let dom = project.directory.appendingPathComponent("dom.html")
        #expect(try await run(browser, common + ["--dump-dom", url], output: dom) == 0)
        let html = try String(contentsOf: dom, encoding: .utf8)
        #expect(html.contains("id=\"adapter-orders\""))
        #expect(html.contains("id=\"adapter-refunds\""))
        #expect(html.contains("0 / 4"))  // in flight against max_in_flight
        #expect(html.contains("accepted"))
        #expect(html.contains("order-5"))
        #expect(html.contains("<polyline"))
        #expect(html.contains("ok") && html.contains("ledger"))
        if let keep = ProcessInfo.processInfo.environment["SLUICE_KEEP_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: screenshot, to: URL(fileURLWithPath: keep))
        }
        try await service.stop()
        await fake.stop()
    }

    /// Runs chromium to completion and returns its exit status.
    func run(_ executable: String, _ arguments: [String], output: URL? = nil) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let output {
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: output)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        process.standardError = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return process.terminationStatus
    }
}
