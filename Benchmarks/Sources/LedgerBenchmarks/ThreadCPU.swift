import Foundation

/// CPU time of this process's threads, grouped by thread name, from `/proc/self/task/*/schedstat`
/// (nanoseconds on a CPU). Throughput on these shared machines varies by ±20 % from run to run; the CPU
/// a write costs varies much less, so the report gives both.
struct ThreadCPU {
    private(set) var nanoseconds: [String: UInt64] = [:]

    static func snapshot() -> ThreadCPU {
        var result = ThreadCPU()
        let tasks = "/proc/self/task"
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let name = try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8),
                let stat = try? String(contentsOfFile: "\(tasks)/\(tid)/schedstat", encoding: .utf8),
                let onCPU = stat.split(separator: " ").first.flatMap({ UInt64($0) })
            else { continue }
            result.nanoseconds[name.trimmingCharacters(in: .whitespacesAndNewlines), default: 0] += onCPU
        }
        return result
    }

    /// CPU spent since `earlier` by threads named `name`, and by all others (threads that ended in
    /// between are not counted: take the later snapshot before closing what owns them).
    func since(_ earlier: ThreadCPU, named name: String) -> (named: Double, others: Double) {
        var named = 0.0
        var others = 0.0
        for (thread, now) in nanoseconds {
            let spent = Double(now &- min(now, earlier.nanoseconds[thread] ?? 0)) / 1e9
            if thread == name { named += spent } else { others += spent }
        }
        return (named, others)
    }
}
