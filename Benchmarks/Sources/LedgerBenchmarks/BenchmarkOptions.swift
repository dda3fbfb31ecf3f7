import Foundation

/// Command-line options of the ledger benchmarks.
struct BenchmarkOptions {
    /// Stored outcomes for the check benchmark.
    var rows = 10_000_000
    /// Outcomes written in the group-commit benchmark.
    var writes = 200_000
    /// Writes in flight at once (callers waiting on the writer).
    var concurrency = 2_000
    /// Lookups timed in the check benchmark.
    var lookups = 200_000
    var skipPostgres = false
    var skipSQLite = false
    /// Only the write benchmarks (`--writes-only`): no 10-million-row file for the checks.
    var writesOnly = false
    var directory = FileManager.default.temporaryDirectory.path
    /// The check benchmark's file (`--checks-file`): generated when missing and kept afterwards, so that
    /// a second run skips the generation (minutes for 10 million rows). Default: a scratch file.
    var checksFile: String?

    static let usage =
        "usage: LedgerBenchmarks [--rows N] [--writes N] [--concurrency N] [--lookups N] [--directory PATH] [--checks-file PATH]"
        + " [--skip-postgres] [--skip-sqlite] [--writes-only]"

    /// Parses the arguments; `--help` prints the usage, and an unknown option or a bad number stops with
    /// the usage instead of starting a long run with defaults.
    init(arguments: [String]) {
        var index = 1
        while index < arguments.count {
            let option = arguments[index]
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            func number() -> Int {
                guard let parsed = Int(value), parsed > 0 else { Self.fail("\(option) needs a positive number, not '\(value)'") }
                index += 1
                return parsed
            }
            switch option {
            case "--help", "-h": print(Self.usage); exit(0)
            case "--rows": rows = number()
            case "--writes": writes = number()
            case "--concurrency": concurrency = number()
            case "--lookups": lookups = number()
            case "--directory":
                guard !value.isEmpty else { Self.fail("--directory needs a path") }
                directory = value
                index += 1
            case "--checks-file":
                guard !value.isEmpty else { Self.fail("--checks-file needs a path") }
                checksFile = value
                index += 1
            case "--skip-postgres": skipPostgres = true
            case "--skip-sqlite": skipSQLite = true
            case "--writes-only": writesOnly = true
            default: Self.fail("unknown option '\(option)'")
            }
            index += 1
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("LedgerBenchmarks: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}

/// A progress note on standard error (the results go to standard output).
func progress(_ note: String) {
    FileHandle.standardError.write(Data("… \(note)\n".utf8))
}

/// Collects result lines as Markdown.
struct BenchmarkReport {
    private(set) var text = ""

    mutating func line(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
        text += line + "\n"
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    /// Percentiles of nanosecond samples, in microseconds.
    static func percentiles(_ samples: [UInt64]) -> (p50: Double, p99: Double, p999: Double) {
        let sorted = samples.sorted()
        func at(_ fraction: Double) -> Double {
            Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]) / 1000
        }
        return (at(0.5), at(0.99), at(0.999))
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }
}

/// Runs a program to its end with `posix_spawn` and `waitpid` on its pid; its output.
///
/// Not `Process`: once PostgresNIO's event loops run, `Process.waitUntilExit` sometimes never saw
/// the child exit here.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], input: URL? = nil) throws -> String {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString).out")
    defer { try? FileManager.default.removeItem(at: output) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, input?.path ?? "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // The child gets an empty signal mask and default handlers: this process blocks and ignores signals
    // (for its event loops) that pgbench needs to end its -T run.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    guard spawned == 0 else { throw BenchmarkError("cannot run \(path): error \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    let exited = (status & 0x7F) == 0
    let code = (status >> 8) & 0xFF
    guard exited && code == 0 else {
        throw BenchmarkError("\(path) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
    }
    return text
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
