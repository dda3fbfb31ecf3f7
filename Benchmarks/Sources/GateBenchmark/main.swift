// Gate cycles per second on one core (enqueue → startAvailable → succeed), next to a bare
// Dictionary baseline measured in the same run, and resident memory over the run.
//
//     swift run -c release GateBenchmark [cycles]      (default 100,000,000)
//
// Prints a Markdown report. Keys are generated before timing starts.

import Foundation
import SluiceCore

// MARK: - Helpers

/// Resident set size in KiB from /proc/self/statm, or nil where there is no /proc.
func residentKiB() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

/// The 1-minute load average from /proc/loadavg, to show how busy the machine was.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "n/a" }
    return text.split(separator: " ").first.map(String.init) ?? "n/a"
}

func formatRate(_ perSecond: Double) -> String {
    String(format: "%.2f M/s", perSecond / 1e6)
}

func formatMiB(_ kib: Int?) -> String {
    kib.map { String(format: "%.1f MiB", Double($0) / 1024) } ?? "n/a"
}

/// Runs `body` once and returns the elapsed seconds.
func measure(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    body()
    let elapsed = start.duration(to: clock.now)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

// MARK: - Set-up

let cycles = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 100_000_000
let sideCycles = min(cycles, 10_000_000)
let keyCount = 1 << 20
let keyMask = keyCount - 1
let keys = (0..<keyCount).map { "evt-\($0)" }
let orderingKeys = (0..<1024).map { "ord-\($0)" }
let historyLimit = 1_024
var checksum = 0

let rssAtStart = residentKiB()
let loadAtStart = loadAverage()

// MARK: - Baseline: a bare Dictionary<String, Int>, insert key i and remove key i − 1024

/// The baseline's state, kept across rounds.
struct Baseline {
    var dictionary = [String: Int](minimumCapacity: 2 * historyLimit)
    var next = 0

    /// Runs `n` insert/remove cycles and returns the elapsed seconds.
    mutating func run(_ n: Int) -> Double {
        let start = next
        next += n
        return measure {
            for i in start..<(start + n) {
                dictionary[keys[i & keyMask]] = i
                if i >= historyLimit { dictionary.removeValue(forKey: keys[(i - historyLimit) & keyMask]) }
            }
        }
    }
}

// MARK: - Gate cycles

/// One task at a time: enqueue → startAvailable(now:) (returns an array) → succeed; state kept across rounds.
struct GateSingle {
    var runtime = TaskRuntime(boundary: .default, historyLimit: historyLimit)
    var next = 0
    var started = 0
    let ordered: Bool

    /// Runs `n` gate cycles and returns the elapsed seconds.
    mutating func run(_ n: Int) -> Double {
        let start = next
        next += n
        return measure {
            for i in start..<(start + n) {
                let key = keys[i & keyMask]
                do {
                    try runtime.enqueue(key, orderingKey: ordered ? orderingKeys[i & 1023] : nil)
                    started &+= runtime.startAvailable(now: GateInstant(nanoseconds: Int64(i) &* 1_000)).count
                    try runtime.succeed(key)
                } catch {
                    fatalError("gate cycle \(i) failed: \(error)")
                }
            }
        }
    }
}

/// One task at a time, starting into a reused buffer: enqueue → startAvailable(now:into:) → succeed.
@MainActor func runGateBuffered(_ n: Int) -> Double {
    var runtime = TaskRuntime(boundary: .default, historyLimit: historyLimit)
    var started: [String] = []
    started.reserveCapacity(64)
    let seconds = measure {
        for i in 0..<n {
            let key = keys[i & keyMask]
            do {
                try runtime.enqueue(key)
                started.removeAll(keepingCapacity: true)
                runtime.startAvailable(now: GateInstant(nanoseconds: Int64(i) &* 1_000), into: &started)
                try runtime.succeed(key)
            } catch {
                fatalError("gate cycle \(i) failed: \(error)")
            }
        }
    }
    checksum &+= runtime.trackedCount + started.count
    return Double(n) / seconds
}

/// Batches of 64: enqueue 64 → one startAvailable(now:into:) → succeed each (64 in flight).
@MainActor func runGateBatched(_ n: Int) -> Double {
    var runtime = TaskRuntime(boundary: .default, historyLimit: historyLimit)
    var started: [String] = []
    started.reserveCapacity(64)
    let batches = n / 64
    let seconds = measure {
        for b in 0..<batches {
            do {
                for j in 0..<64 { try runtime.enqueue(keys[(b &* 64 &+ j) & keyMask]) }
                started.removeAll(keepingCapacity: true)
                runtime.startAvailable(now: GateInstant(nanoseconds: Int64(b) &* 64_000), into: &started)
                for key in started { try runtime.succeed(key) }
            } catch {
                fatalError("gate batch \(b) failed: \(error)")
            }
        }
    }
    checksum &+= runtime.trackedCount
    return Double(batches * 64) / seconds
}

// MARK: - Run

// Warm up caches and page in the key table.
var warmBaseline = Baseline()
_ = warmBaseline.run(1_000_000)
var warmGate = GateSingle(ordered: false)
_ = warmGate.run(1_000_000)
let rssAfterWarmUp = residentKiB()

// The headline runs in rounds that alternate baseline and gate, so that a busy machine slows
// both alike; the same dictionary and the same runtime carry on from round to round.
let rounds = 10
let perRound = cycles / rounds
var baselineState = Baseline()
var gateState = GateSingle(ordered: false)
var baselineSeconds = 0.0
var gateSeconds = 0.0
var bestBaseline = 0.0
var bestGate = 0.0
var rss: [(Int, Int?)] = []
for _ in 0..<rounds {
    let b = baselineState.run(perRound)
    let g = gateState.run(perRound)
    baselineSeconds += b
    gateSeconds += g
    bestBaseline = max(bestBaseline, Double(perRound) / b)
    bestGate = max(bestGate, Double(perRound) / g)
    rss.append((gateState.next, residentKiB()))
}
checksum &+= baselineState.dictionary.count &+ gateState.started &+ gateState.runtime.trackedCount
let headlineCycles = perRound * rounds
let baseline = Double(headlineCycles) / baselineSeconds
let single = Double(headlineCycles) / gateSeconds

var orderedState = GateSingle(ordered: true)
let ordered = Double(sideCycles) / orderedState.run(sideCycles)
checksum &+= orderedState.started
let buffered = runGateBuffered(sideCycles)
let batched = runGateBatched(sideCycles)

func ratio(_ rate: Double) -> String { String(format: "%.2f×", rate / baseline) }

print(
    """
    # Gate benchmark

    Release build, one thread. \(headlineCycles) cycles each for the baseline and the headline \
    gate cycle, run in \(rounds) alternating rounds on the same dictionary and the same runtime; \
    \(sideCycles) cycles for each variant. \(keyCount) distinct pre-generated keys (`evt-N`), \
    history limit \(historyLimit), boundary `.default` (64 in flight, 10,000 queued).

    | measurement | cycles | rate | vs baseline |
    | --- | ---: | ---: | ---: |
    | baseline: `Dictionary<String, Int>` insert key i, remove key i − 1024 | \(headlineCycles) | \(formatRate(baseline)) | 1.00× |
    | gate cycle: enqueue → `startAvailable(now:)` → succeed, no ordering | \(headlineCycles) | \(formatRate(single)) | \(ratio(single)) |
    | best round: baseline / gate cycle | \(perRound) | \(formatRate(bestBaseline)) / \(formatRate(bestGate)) | \(String(format: "%.2f×", bestGate / bestBaseline)) |
    | gate cycle, `startAvailable(now:into:)` with a reused buffer | \(sideCycles) | \(formatRate(buffered)) | \(ratio(buffered)) |
    | gate cycle with an ordering key (1,024 keys, a lane made and freed per cycle) | \(sideCycles) | \(formatRate(ordered)) | \(ratio(ordered)) |
    | gate, batches of 64: 64 × enqueue → one `startAvailable(now:into:)` → 64 × succeed | \(sideCycles) | \(formatRate(batched)) | \(ratio(batched)) |

    Resident memory (`/proc/self/statm`):

    | point | resident |
    | --- | ---: |
    | start (keys generated) | \(formatMiB(rssAtStart)) |
    | after warm-up | \(formatMiB(rssAfterWarmUp)) |
    """)
for (done, kib) in rss {
    print("| after \(done) headline gate cycles | \(formatMiB(kib)) |")
}
print("| end of run (after the variants, whose runtimes malloc keeps) | \(formatMiB(residentKiB())) |")
print("")
print("Load average (1 min) at start: \(loadAtStart), at end: \(loadAverage()) (2 cores).")
print("")
print("checksum \(checksum)")
