import Foundation
import SluiceLaunch
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sluice dev`, the README's first command, as a newcomer runs it: a real Temporal dev server, the
/// sample worker, Sluice with the example adapters, and the signed feed; the summary must show
/// events accepted by the engine.
@Suite("sluice dev")
struct DevCommandTests {
    /// Flags are checked before Temporal and the worker start (seconds), with the flag's name.
    @Test("sluice dev refuses bad flags before it starts anything", arguments: [
        (["--http-port", "70000"], "--http-port must be between 0 and 65535"),
        (["--rounds", "0"], "--rounds must be at least 1"),
        (["--feed-interval", "soon"], "--feed-interval 'soon' is not a duration"),
    ])
    func badFlags(flags: [String], message: String) throws {
        let result = try SluiceProcess.run(["dev"] + flags, in: FileManager.default.temporaryDirectory)
        #expect(result.status == 64, "\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test("sluice dev starts everything, feeds signed samples, prints outcomes, and stops cleanly")
    func devRuns() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let result = try SluiceProcess.run(
            ["dev", "--http-port", "0", "--rounds", "3", "--feed-interval", "1s"], in: repository)
        #expect(result.status == 0, "stderr:\n\(result.standardError)")
        let output = result.standardOutput
        #expect(output.contains("status page: http://127.0.0.1:"))
        let lastRound = output.components(separatedBy: "\n\n").filter { $0.contains("stripe-orders") }.last ?? ""
        for adapter in ["stripe-orders", "shopify-orders", "slack-events", "github-deployments", "kafka.orders"] {
            let line = lastRound.split(separator: "\n").first { $0.hasPrefix(adapter) } ?? ""
            let accepted = line.components(separatedBy: "accepted ").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(accepted > 0, "\(adapter): \(line)\n\(output)")
        }
        #expect(output.contains("sluice dev: stopped"))
    }

    /// One signal: the start-up is cancelled, stops what it started and exits 0. A second one right after: what
    /// started is killed at once, and `sluice dev` exits 1.
    @Test("a signal during start-up stops the Temporal dev server it started", arguments: [1, 2])
    func signalDuringStartUp(signals: Int) async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dev-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = SluiceProcess.executable
        process.arguments = ["dev", "--http-port", "0"]
        process.currentDirectoryURL = repository
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // The Temporal dev server is the first child; the signal comes while it starts (or the worker does).
        var temporal: Int32?
        let deadline = ContinuousClock.now + .seconds(30)
        while temporal == nil, process.isRunning, ContinuousClock.now < deadline {
            temporal = ProcessTable.children(of: process.processIdentifier).first { $0.commandLine.contains("temporal") }?.pid
            try await Task.sleep(for: .milliseconds(20))
        }
        let child = try #require(temporal, "no Temporal child; log:\n\(String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self))")
        let children = ProcessTable.children(of: process.processIdentifier).map(\.pid)
        kill(process.processIdentifier, SIGTERM)
        if signals == 2 {
            try await Task.sleep(for: .milliseconds(100))
            kill(process.processIdentifier, SIGINT)
        }

        let exited = ContinuousClock.now + .seconds(40)
        while process.isRunning, ContinuousClock.now < exited { try await Task.sleep(for: .milliseconds(50)) }
        let output = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        #expect(!process.isRunning, "sluice dev still runs 40 s after SIGTERM; log:\n\(output)")
        // With two signals, 1; or 0 when the first one's stop was over before the second came.
        let statuses: Set<Int32> = signals == 1 ? [0] : [0, 1]
        #expect(process.terminationReason == .exit && statuses.contains(process.terminationStatus), "log:\n\(output)")
        if signals == 1 { #expect(output.contains("sluice dev: stopped during start-up"), "log:\n\(output)") }
        for pid in Set(children + [child]) {
            #expect(await ProcessTable.isGone(pid), "child \(pid) outlived sluice dev; log:\n\(output)")
        }
    }
}

extension ProcessTable {
    /// Whether `pid` has ended (gone, or a zombie waiting for its reaper), waiting up to 5 s for it.
    static func isGone(_ pid: Int32) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            guard let entry = entry(pid), entry.state != "Z" else { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
