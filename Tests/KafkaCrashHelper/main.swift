// Consumes a topic of the test's mock cluster into a SQLite ledger until it is killed (the child process of
// the Kafka SIGKILL test). Each event is one "effect" (a line appended to the effects file before the outcome
// is written) and one outcome; offsets are committed only after outcomes are durable.
//
// Usage: KafkaCrashHelper <bootstrap servers> <topic> <group> <ledger path> <effects path>
// Prints `settled <n>` every 100 settled events.
import Foundation
import Logging
import SluiceCore
import SluiceKafka
import SluiceLedger

let arguments = CommandLine.arguments
guard arguments.count == 6 else {
    FileHandle.standardError.write(Data("usage: KafkaCrashHelper <bootstrap> <topic> <group> <ledger> <effects>\n".utf8))
    exit(2)
}

/// One line with one write(2), so that a kill never leaves half a line.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// The adapter pipeline's part that matters here: dedupe by the ledger, one effect, one durable outcome.
actor LedgerPipeline: KafkaRecordHandler {
    let ledger: SQLiteLedger
    let effects: FileHandle
    let maxInFlight = 32
    var inFlight = 0
    var waiters: [CheckedContinuation<Void, Never>] = []

    init(ledger: SQLiteLedger, effects: FileHandle) {
        self.ledger = ledger
        self.effects = effects
    }

    var capacity: Int { maxInFlight - inFlight }

    func waitForCapacity() async {
        guard inFlight >= maxInFlight else { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func cancel(events: [Event], reason: String) async {}

    func submit(
        _ event: Event, unless takenBack: (@Sendable () -> Bool)?, settled: @escaping @Sendable (KafkaSettlement) async -> Void
    ) async throws(DispatchAdmissionError) {
        if let takenBack, takenBack() { return }
        inFlight += 1
        Task {
            let settlement = await self.decide(event)
            self.finished()
            await settled(settlement)
        }
    }

    private func finished() {
        inFlight -= 1
        for waiter in waiters { waiter.resume() }
        waiters = []
    }

    private func decide(_ event: Event) async -> KafkaSettlement {
        do {
            if let known = try await ledger.decision(adapter: "crash", idempotencyKey: event.id) {
                return .recorded(known, deadLetter: false)
            }
            effects.write(Data("\(event.id)\n".utf8))
            try? await Task.sleep(for: .milliseconds(1))
            let outcome = Outcome(adapter: "crash", action: "start_workflow", idempotencyKey: event.id, kind: .accepted)
            switch try await ledger.record(outcome) {
            case .alreadyDecided(let existing): return .recorded(existing, deadLetter: false)
            default: return .recorded(outcome, deadLetter: false)
            }
        } catch {
            return .unrecorded(error)
        }
    }
}

let ledger: SQLiteLedger
do {
    ledger = try await SQLiteLedger.open(SQLiteLedgerConfiguration(path: arguments[4]))
} catch {
    FileHandle.standardError.write(Data("cannot open the ledger: \(error)\n".utf8))
    exit(1)
}
if !FileManager.default.fileExists(atPath: arguments[5]) {
    _ = FileManager.default.createFile(atPath: arguments[5], contents: nil)
}
guard let effects = FileHandle(forWritingAtPath: arguments[5]) else { exit(1) }
effects.seekToEndOfFile()
var logger = Logger(label: "crash-helper")
logger.logLevel = .error
let source = try KafkaSource(
    configuration: KafkaSourceConfiguration(
        adapter: "crash", bootstrapServers: arguments[1], topics: [arguments[2]], groupID: arguments[3],
        properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"], commitInterval: .milliseconds(20)),
    handler: LedgerPipeline(ledger: ledger, effects: effects), logger: logger)
say("started")
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await source.run() }
    group.addTask {
        var reported = 0
        while true {
            let settled = source.statistics.settled
            if settled / 100 > reported / 100 {
                reported = settled
                say("settled \(settled)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
    try await group.next()
    group.cancelAll()
}
