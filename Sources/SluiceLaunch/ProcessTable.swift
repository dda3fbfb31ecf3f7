import Foundation

/// Processes as Linux's `/proc` shows them (elsewhere: none).
public enum ProcessTable {
    /// A process and the state `/proc/{pid}/stat` gives it.
    public struct Entry: Sendable, Hashable {
        public var pid: Int32
        public var parent: Int32
        /// `R`, `S`, `Z` (a zombie, ended and waiting for its parent), …
        public var state: Character

        /// Its command line, arguments separated by spaces.
        public var commandLine: String {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        }
    }

    /// The process `pid`, or nil when there is none.
    public static func entry(_ pid: Int32) -> Entry? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")")
        else { return nil }
        // "pid (name) state ppid …": the name may hold spaces and parentheses, so read after the last ")".
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 1, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return Entry(pid: pid, parent: parent, state: state)
    }

    /// The children of `parent` that have not ended.
    public static func children(of parent: Int32) -> [Entry] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0).flatMap(entry) }.filter { $0.parent == parent && $0.state != "Z" }
    }
}
