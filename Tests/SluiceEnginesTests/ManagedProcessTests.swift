import Foundation
@testable import SluiceLaunch
import Testing

/// Children launched with a lifeline end with their parent, however it ends.
@Suite struct ManagedProcessTests {
    /// The kernel closes the lifeline's write end when the parent dies (SIGKILL, a crash): dropping it here is
    /// the same for the child, which gets SIGTERM from its watcher and exits.
    @Test func aChildEndsWhenItsLifelineDoes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("managed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ManagedProcess.launch(
            "/bin/sleep", arguments: ["300"], logFile: directory.appendingPathComponent("sleep.log"), stopsWithThisProcess: true)
        // The program runs in the shell's place, under the pid this process knows.
        let deadline = ContinuousClock.now + .seconds(5)
        var command = ""
        while ContinuousClock.now < deadline {
            command = (try? String(contentsOfFile: "/proc/\(child.pid)/comm", encoding: .utf8)) ?? ""
            if command.hasPrefix("sleep") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(command.hasPrefix("sleep"), "the pid runs \(command)")
        #expect(child.isRunning)
        child.dropLifeline()
        let ended = ContinuousClock.now + .seconds(10)
        while child.isRunning, ContinuousClock.now < ended { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!child.isRunning, "the child outlived its lifeline")
        await child.stop(grace: .zero)
    }

    /// Without a lifeline the child runs on (the default, for processes that must outlive a step of a test).
    @Test func aChildWithoutALifelineRunsOn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("managed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ManagedProcess.launch("/bin/sleep", arguments: ["300"], logFile: directory.appendingPathComponent("sleep.log"))
        child.dropLifeline()
        try await Task.sleep(for: .milliseconds(300))
        #expect(child.isRunning)
        await child.stop(grace: .zero)
        #expect(!child.isRunning)
    }
}
