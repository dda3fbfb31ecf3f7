// Writes outcomes and inbox rows to a SQLite ledger until it is killed, printing a line for each
// write only after the ledger acknowledged it (the crash-safety test's child process).
//
// Usage: LedgerCrashHelper <ledger path> <run number>
// Prints `ack <key>` after a recorded or deduplicated outcome, `inbox <id>` after an inbox append,
// `done <id>` after the inbox row's outcome.
import Foundation
import SluiceCore
import SluiceLedger

let arguments = CommandLine.arguments
guard arguments.count == 3, let run = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: LedgerCrashHelper <ledger path> <run number>\n".utf8))
    exit(2)
}

/// One line to standard output with one write(2), so that a kill never leaves half a line.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func outcome(key: String, position: SourcePosition) -> Outcome {
    let now = Date()
    return Outcome(
        adapter: "crash", action: "start_workflow", idempotencyKey: key, kind: .accepted, message: "run \(run)",
        workflowID: "wf-\(key)",
        sluice: OutcomeDetails(
            eventID: "evt-\(key)", eventType: "crash.test", sourcePosition: position, adapterVersion: 1, rule: "all",
            attempts: 1, steps: [], receivedAt: now, decidedAt: now))
}

let ledger: SQLiteLedger
do {
    // A small log: checkpoints copy it all the time, so that kills land in the middle of them.
    ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: arguments[1], checkpointPages: 16))
} catch {
    FileHandle.standardError.write(Data("cannot open the ledger: \(error)\n".utf8))
    exit(1)
}
say("open")
await withTaskGroup(of: Void.self) { group in
    for worker in 0..<24 {
        group.addTask {
            var generator = SystemRandomNumberGenerator()
            var sequence = 0
            while true {
                sequence += 1
                do {
                    if worker % 4 == 0 {
                        // A webhook: inbox first, then its outcome removes the row.
                        let body = Array(#"{"worker":\#(worker),"n":\#(sequence)}"#.utf8)
                        let id = try await ledger.appendInbox(
                            Delivery(adapter: "crash", target: "/hooks/crash", headers: ["X-Run": "\(run)"], body: body, receivedAt: Date()))
                        say("inbox \(id)")
                        let key = "inbox-\(run)-\(worker)-\(sequence)"
                        _ = try await ledger.record(RecordRequest(outcome: outcome(key: key, position: .inbox(id: id)), inboxID: id))
                        say("done \(id)")
                    } else {
                        // Keys repeat across runs, so that a doubled decision would show.
                        let key = "k\(Int.random(in: 0..<3000, using: &generator))"
                        _ = try await ledger.record(outcome(key: key, position: .kafka(topic: "crash", partition: 0, offset: Int64(sequence))))
                        say("ack \(key)")
                    }
                } catch {
                    FileHandle.standardError.write(Data("write failed: \(error)\n".utf8))
                    exit(1)
                }
            }
        }
    }
}
