import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL cluster for the tests: `initdb` into a temporary directory, `pg_ctl start`
/// on a free loopback port with password authentication, `pg_ctl stop` at the end. As root, the
/// server runs as `nobody`, which owns the data directory (PostgreSQL refuses to run as root).
final class PostgresCluster: Sendable {
    static let username = "sluice"
    static let password = "sluice-test-password"

    @TaskLocal static var current: PostgresCluster?

    let port: Int
    let directory: URL
    private let binaries: URL
    private let runAs: String?

    private init(port: Int, directory: URL, binaries: URL, runAs: String?) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.runAs = runAs
    }

    /// Where Debian's `postgresql` package puts the server binaries (the newest version present).
    static func findBinaries() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = root.appendingPathComponent(version).appendingPathComponent("bin")
            if FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("initdb").path) { return bin }
        }
        throw ClusterError("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql")
    }

    static func start() async throws -> PostgresCluster {
        let binaries = try findBinaries()
        let directory = try LedgerFixtures.temporaryDirectory()
        let runAs = getuid() == 0 ? "nobody" : nil
        let data = directory.appendingPathComponent("data")
        let passwordFile = directory.appendingPathComponent("pwfile")
        try password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if runAs != nil {
            try await run("/bin/chown", ["-R", "nobody", directory.path])
            try await run("/bin/chmod", ["755", directory.path])
        }
        let cluster = PostgresCluster(port: try freePort(), directory: directory, binaries: binaries, runAs: runAs)
        try await cluster.tool(
            "initdb", ["-D", data.path, "-U", username, "--auth=scram-sha-256", "--pwfile=\(passwordFile.path)", "-E", "UTF8", "--no-sync"])
        try await cluster.startServer()
        return cluster
    }

    /// Runs `postgres` in the foreground as a child and returns once its log says it is ready
    /// (no polling: a thread reads the log as it comes, and keeps draining it).
    private func startServer() async throws {
        let server = Process()
        let postgres = binaries.appendingPathComponent("postgres").path
        let arguments = [
            "-D", directory.appendingPathComponent("data").path, "-p", "\(port)", "-k", directory.path,
            "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
        ]
        if let runAs {
            server.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            server.arguments = ["-u", runAs, "--", postgres] + arguments
        } else {
            server.executableURL = URL(fileURLWithPath: postgres)
            server.arguments = arguments
        }
        let log = Pipe()
        server.standardOutput = log
        server.standardError = log
        server.standardInput = FileHandle.nullDevice
        try server.run()
        let ready: Bool = await withCheckedContinuation { continuation in
            let reader = log.fileHandleForReading
            let thread = Thread {
                var text = ""
                var resumed = false
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    if !resumed {
                        text += String(decoding: chunk, as: UTF8.self)
                        if text.contains("ready to accept connections") {
                            resumed = true
                            continuation.resume(returning: true)
                        }
                    }
                }
                if !resumed { continuation.resume(returning: false) }
            }
            thread.start()
        }
        guard ready else { throw ClusterError("postgres exited before it was ready") }
    }

    func stop() async {
        let pidFile = directory.appendingPathComponent("data/postmaster.pid")
        if let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
        {
            kill(pid, SIGQUIT)  // immediate shutdown: the data is thrown away
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs SQL as the superuser with `psql` (CREATE DATABASE, pg_terminate_backend…).
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") async throws -> String {
        try await Self.run(
            binaries.appendingPathComponent("psql").path,
            ["-h", "127.0.0.1", "-p", "\(port)", "-U", Self.username, "-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
            environment: ["PGPASSWORD": Self.password])
    }

    /// A new empty database.
    func makeDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await psql("CREATE DATABASE \(name)")
        return String(name)
    }

    private func tool(_ name: String, _ arguments: [String]) async throws {
        let path = binaries.appendingPathComponent(name).path
        if let runAs {
            try await Self.run("/usr/sbin/runuser", ["-u", runAs, "--", path] + arguments)
        } else {
            try await Self.run(path, arguments)
        }
    }

    /// Runs a program to its end without blocking a thread; throws with its output when it fails.
    @discardableResult
    static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        // A file, not a pipe: `pg_ctl start` leaves a server running that would hold a pipe open.
        let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-run-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        defer {
            try? output.close()
            try? FileManager.default.removeItem(at: outputURL)
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        let text = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
        guard status == 0 else { throw ClusterError("\(path) \(arguments.joined(separator: " ")) exited \(status): \(text)") }
        return text
    }

    /// A loopback port nobody listens on right now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ClusterError("socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0 else { throw ClusterError("bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        guard named == 0 else { throw ClusterError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts one cluster around a whole suite and stops it afterwards.
struct PostgresClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let cluster = try await PostgresCluster.start()
        do {
            try await PostgresCluster.$current.withValue(cluster) { try await function() }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A throw-away PostgreSQL cluster for the suite (``PostgresCluster/current``).
    static var postgresCluster: Self { Self() }
}
