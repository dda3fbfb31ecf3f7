import Foundation
import SluiceCore
@testable import SluiceLedger
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A child process writes to a SQLite ledger and is killed with SIGKILL at random moments; after each
/// kill, every acknowledged write is in the ledger and no key has two decisions.
@Suite struct CrashSafetyTests {
    /// The helper executable, built next to the test bundle.
    static var helper: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("LedgerCrashHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/LedgerCrashHelper")
    }

    /// What one run of the helper acknowledged before it was killed.
    struct Acknowledged {
        var keys: Set<String> = []
        var inbox: Set<Int64> = []
        var done: Set<Int64> = []
        var errors = ""
    }

    /// Runs the helper and kills it after it acknowledged `killAfter` writes (0: as soon as it starts).
    static func runAndKill(ledger path: String, run: Int, killAfter: Int) async throws -> Acknowledged {
        let process = Process()
        process.executableURL = helper
        process.arguments = [path, "\(run)"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let pid = process.processIdentifier
        if killAfter == 0 { kill(pid, SIGKILL) }
        var acknowledged: Acknowledged = await withCheckedContinuation { continuation in
            let reader = output.fileHandleForReading
            let thread = Thread {
                var seen = Acknowledged()
                var pending = ""
                var count = 0
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    pending += String(decoding: chunk, as: UTF8.self)
                    while let newline = pending.firstIndex(of: "\n") {
                        let line = pending[..<newline]
                        pending = String(pending[pending.index(after: newline)...])
                        let parts = line.split(separator: " ")
                        guard parts.count == 2 else { continue }
                        switch parts[0] {
                        case "ack": seen.keys.insert(String(parts[1]))
                        case "inbox": seen.inbox.insert(Int64(parts[1])!)
                        case "done": seen.done.insert(Int64(parts[1])!)
                        default: continue
                        }
                        count += 1
                        if count == killAfter { kill(pid, SIGKILL) }
                    }
                }
                continuation.resume(returning: seen)
            }
            thread.start()
        }
        process.waitUntilExit()
        acknowledged.errors = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .uncaughtSignal, "the helper ended by itself: \(acknowledged.errors)")
        return acknowledged
    }

    @Test func everyAcknowledgedWriteSurvivesSIGKILL() async throws {
        let directory = try LedgerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("crash.sqlite").path
        var allKeys: Set<String> = []
        var pendingInbox: Set<Int64> = []
        var completedInbox: Set<Int64> = []
        var generator = SystemRandomNumberGenerator()
        let rounds = 60
        for run in 0..<rounds {
            // Some runs die while opening (migrations, WAL recovery), most in the middle of writing.
            let killAfter = run % 10 == 3 ? 0 : Int.random(in: 1...600, using: &generator)
            let acknowledged = try await Self.runAndKill(ledger: path, run: run, killAfter: killAfter)
            allKeys.formUnion(acknowledged.keys)
            completedInbox.formUnion(acknowledged.done)
            pendingInbox.formUnion(acknowledged.inbox.subtracting(acknowledged.done))
            // Restart: open as Sluice would, and check.
            let ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: path))
            let stored = try await ledger.outcomes(OutcomeQuery(adapter: "crash", limit: 1_000_000))
            let storedKeys = stored.map(\.outcome.idempotencyKey)
            #expect(Set(storedKeys).count == storedKeys.count, "run \(run): a key has two decisions")
            let missing = allKeys.subtracting(storedKeys)
            #expect(missing.isEmpty, "run \(run): \(missing.count) acknowledged outcomes are missing, e.g. \(missing.first ?? "")")
            let inbox = Set(try await ledger.pendingInbox(after: nil, limit: 1_000_000).map(\.id))
            #expect(inbox.isDisjoint(with: completedInbox), "run \(run): inbox rows came back after their outcome")
            let positions = Set(stored.compactMap { stored -> Int64? in
                if case .inbox(let id)? = stored.outcome.sluice?.sourcePosition { return id }
                return nil
            })
            // Every acknowledged inbox row is either still pending or has its outcome.
            let lost = pendingInbox.filter { !inbox.contains($0) && !positions.contains($0) }
            #expect(lost.isEmpty, "run \(run): \(lost.count) acknowledged inbox rows vanished without an outcome")
            #expect(completedInbox.isSubset(of: positions), "run \(run): a completed inbox row has no outcome")
            await ledger.close()
        }
        let check = try SQLiteConnection(path: path, readOnly: false, create: false)
        check.setBusyTimeout(milliseconds: 5000)
        let integrity = try check.prepare("PRAGMA integrity_check")
        #expect(try integrity.step())
        #expect(integrity.text(0) == "ok")
        #expect(allKeys.count > 100, "too few writes were acknowledged to mean anything")
    }
}
