import Foundation
import SluiceCore
import SluiceLaunch
import SluiceTesting

/// Runs the built `sluice` executable without blocking a thread of the cooperative pool.
enum SluiceCLI {
    struct Result {
        var status: Int32
        var output: String
        var error: String
        var json: JSONValue? { try? JSONParser.parse(output) }
    }

    /// The `sluice` binary next to the test bundle (both are products of the same build).
    static var executable: String {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sluice")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/sluice").path
    }

    static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) async throws -> Result {
        let id = UUID().uuidString
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-\(id).out")
        let error = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cli-\(id).err")
        defer {
            try? FileManager.default.removeItem(at: output)
            try? FileManager.default.removeItem(at: error)
        }
        let process = try ManagedProcess.launch(
            executable, arguments: arguments, logFile: output, errorFile: error, environment: environment,
            directory: directory)
        let status = await process.exitStatus()
        return Result(
            status: status, output: (try? String(contentsOf: output, encoding: .utf8)) ?? "",
            error: (try? String(contentsOf: error, encoding: .utf8)) ?? "")
    }

    /// A temporary directory holding `sluice.yaml` with `yaml`.
    static func project(_ yaml: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-send-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try yaml.write(to: directory.appendingPathComponent("sluice.yaml"), atomically: true, encoding: .utf8)
        return directory
    }
}
