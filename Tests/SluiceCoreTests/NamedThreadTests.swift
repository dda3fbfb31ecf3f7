import Foundation
import SluiceCore
import Testing

@Suite struct NamedThreadTests {
    /// The name reaches the operating system (what `top -H` and `perf` show), cut to Linux's 15 bytes.
    @Test func theOperatingSystemSeesTheThreadsName() async throws {
        let (names, sink) = AsyncStream.makeStream(of: String.self)
        for name in ["ledger-writer", "a-name-longer-than-fifteen"] {
            startNamedThread(name) {
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "unreadable"
                sink.yield(comm.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        var seen: Set<String> = []
        for await name in names {
            seen.insert(name)
            if seen.count == 2 { break }
        }
        #expect(seen == ["ledger-writer", "a-name-longer-t"])
    }
}
