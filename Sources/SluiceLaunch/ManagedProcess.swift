public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process for tests (the Temporal dev server, a worker), with its output in a log file, that
/// is always stopped: SIGTERM, then SIGKILL after a grace period.
public final class ManagedProcess: Sendable {
    /// Why a process could not be started.
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    // `Process` is a reference type without a Sendable conformance on every platform. This wrapper only
    // reads `processIdentifier` and `isRunning` and sends signals, which are thread-safe; the lock keeps
    // every access serialised anyway.
    private let process: Mutex<Process>
    /// The write end of the child's lifeline (``launch(_:arguments:logFile:errorFile:environment:directory:stopsWithThisProcess:)``):
    /// closed by ``stop(grace:)``, or by the kernel when this process dies.
    private let lifeline: Mutex<FileHandle?>
    /// The process id.
    public let pid: Int32
    /// Where standard output and standard error go.
    public let logFile: URL

    private init(process: Process, logFile: URL, lifeline: FileHandle?) {
        self.pid = process.processIdentifier
        self.process = Mutex(process)
        self.logFile = logFile
        self.lifeline = Mutex(lifeline)
    }

    /// Runs the program (`"$@"`) in place of the shell, so that it keeps the shell's pid, with a watcher beside it
    /// that reads the lifeline (fd 3, the shell's standard input) and, when it ends (the parent stops the program,
    /// or dies in any way: SIGKILL, a trap, the OOM killer), sends the program SIGTERM, then SIGKILL 5 s later if it
    /// still runs (a child of a Swift process may start with SIGTERM blocked). The watcher checks the program's start
    /// time (`/proc`) before each signal, so that a pid reused after the program exited is never signalled; without
    /// `/proc` it sends SIGTERM only.
    static let lifelineScript = """
        exec 3<&0 </dev/null
        started=$(cut -d' ' -f22 /proc/$$/stat 2>/dev/null)
        ( cat <&3 >/dev/null 2>&1
          same() { [ "$(cut -d' ' -f22 /proc/$$/stat 2>/dev/null)" = "$started" ]; }
          if [ -z "$started" ]; then kill -TERM $$ 2>/dev/null; exit 0; fi
          same && kill -TERM $$ 2>/dev/null
          for _ in 1 2 3 4 5 6 7 8 9 10; do same || exit 0; sleep 0.5; done
          same && kill -KILL $$ 2>/dev/null ) &
        exec "$@" 3<&-
        """

    /// The first executable named `name` on `PATH`, or nil.
    public static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Starts `executable` with `arguments`, output to `logFile`.
    ///
    /// - Parameter stopsWithThisProcess: the child gets SIGTERM when this process ends without stopping it (a
    ///   SIGKILL, a crash): started through `/bin/sh` with a lifeline on its standard input (``lifelineScript``).
    public static func launch(
        _ executable: String, arguments: [String], logFile: URL, errorFile: URL? = nil,
        environment: [String: String] = [:], directory: URL? = nil, stopsWithThisProcess: Bool = false
    ) throws -> ManagedProcess {
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        var errorHandle = handle
        if let errorFile {
            _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
            errorHandle = try FileHandle(forWritingTo: errorFile)
        }
        let process = Process()
        var lifeline: Pipe?
        if stopsWithThisProcess {
            let pipe = Pipe()
            lifeline = pipe
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", lifelineScript, "sluice-lifeline", executable] + arguments
            process.standardInput = pipe
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = handle
        process.standardError = errorHandle
        if let directory { process.currentDirectoryURL = directory }
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        do {
            try process.run()
        } catch {
            throw LaunchError(description: "cannot start \(executable): \(error)")
        }
        try? handle.close()
        try? errorHandle.close()
        // Only the child keeps the read end; this process keeps the write end, and no other child inherits it
        // (Foundation closes every descriptor past 2 in its children).
        try? lifeline?.fileHandleForReading.close()
        return ManagedProcess(process: process, logFile: logFile, lifeline: lifeline?.fileHandleForWriting)
    }

    public var isRunning: Bool { process.withLock { $0.isRunning } }

    /// Waits for the process to exit by itself (polling every 20 ms) and returns its exit status.
    public func exitStatus() async -> Int32 {
        while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.withLock { $0.terminationStatus }
    }

    /// The log so far.
    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds, polling every 50 ms, or fails after `timeout` (or when the process exits).
    public func waitUntil(
        _ what: String, timeout: Duration, _ condition: @Sendable () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            guard isRunning else {
                throw LaunchError(description: "the process exited before \(what); its log:\n\(log.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LaunchError(description: "no \(what) within \(timeout); log:\n\(log.suffix(2000))")
    }

    /// Stops the process: SIGTERM, then SIGKILL if it is still running after `grace`.
    ///
    /// A cancelled caller (a start-up cut short by a signal) still gets the grace period and the wait: the stop
    /// runs in a task of its own, which the caller's cancellation does not reach.
    public func stop(grace: Duration = .seconds(5)) async {
        guard isRunning else { return }
        await Task { await self.terminate(grace: grace) }.value
    }

    /// Closes the lifeline's write end, as this process's death would: the watcher sends the program SIGTERM and
    /// ends (at once, while the program still runs, when ``stop(grace:)`` calls it).
    func dropLifeline() {
        if let lifeline = self.lifeline.withLock({ handle in defer { handle = nil }; return handle }) { try? lifeline.close() }
    }

    private func terminate(grace: Duration) async {
        dropLifeline()
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
