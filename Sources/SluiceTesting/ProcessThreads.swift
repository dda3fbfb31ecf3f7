import Foundation

/// This process's threads, from `/proc/self/task` (Linux; elsewhere none): how tests see that a client's thread was
/// stopped.
public enum ProcessThreads {
    /// How many of this process's threads have a name starting with `prefix` (names are cut to 15 bytes).
    public static func count(named prefix: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?.hasPrefix(prefix) == true
        }.count
    }
}
