import Testing

@testable import SluiceCore

/// Seed 000's batching: at least min (or after max wait), at most max.
@Suite("PullBatcher")
struct GatePullBatcherTests {
    static func at(_ nanoseconds: Int64) -> GateInstant { GateInstant(nanoseconds: nanoseconds) }

    @Test("defaults follow the seed: min 1, max 10, no max wait")
    func defaults() throws {
        let batcher = try PullBatcher<Int>()
        #expect(batcher.minResults == 1)
        #expect(batcher.maxResults == 10)
        #expect(batcher.maxWait == nil)
        #expect(batcher.fetchLimit == 10)
        #expect(batcher.deadline == nil)
    }

    @Test("settings are checked")
    func validation() {
        #expect(throws: GateConfigurationError(field: "minResults", problem: "must be at least 1, got 0")) {
            _ = try PullBatcher<Int>(minResults: 0)
        }
        #expect(throws: GateConfigurationError(field: "maxResults", problem: "must be at least minResults (5), got 4"))
        {
            _ = try PullBatcher<Int>(minResults: 5, maxResults: 4)
        }
        #expect(throws: GateConfigurationError.self) { _ = try PullBatcher<Int>(maxWait: .seconds(-1)) }
    }

    @Test("hands over at least min, at most max, oldest first")
    func minAndMax() throws {
        var batcher = try PullBatcher<Int>(minResults: 3, maxResults: 4)
        batcher.append(1, now: Self.at(0))
        batcher.append(2, now: Self.at(0))
        #expect(batcher.nextBatch(now: Self.at(0)) == nil)
        #expect(batcher.fetchLimit == 2)
        batcher.append(contentsOf: 3...10, now: Self.at(1))
        #expect(batcher.fetchLimit == 0)
        #expect(batcher.nextBatch(now: Self.at(1)) == [1, 2, 3, 4])
        #expect(batcher.nextBatch(now: Self.at(1)) == [5, 6, 7, 8])
        #expect(batcher.nextBatch(now: Self.at(1)) == nil, "two left, below min")
        #expect(batcher.pendingCount == 2)
        #expect(batcher.drain() == [9, 10])
        #expect(batcher.pendingCount == 0)
    }

    @Test("after max wait since the first pending item, whatever is pending goes")
    func maxWait() throws {
        var batcher = try PullBatcher<String>(minResults: 5, maxResults: 10, maxWait: .nanoseconds(100))
        batcher.append("a", now: Self.at(10))
        batcher.append("b", now: Self.at(50))
        #expect(batcher.deadline == Self.at(110))
        #expect(batcher.nextBatch(now: Self.at(109)) == nil)
        #expect(batcher.nextBatch(now: Self.at(110)) == ["a", "b"])
        #expect(batcher.deadline == nil)
    }

    @Test("the deadline follows the oldest item still pending")
    func deadlineAfterPartialBatch() throws {
        var batcher = try PullBatcher<Int>(minResults: 2, maxResults: 2, maxWait: .nanoseconds(100))
        batcher.append(1, now: Self.at(0))
        batcher.append(2, now: Self.at(5))
        batcher.append(3, now: Self.at(40))
        #expect(batcher.nextBatch(now: Self.at(40)) == [1, 2])
        #expect(batcher.deadline == Self.at(140))
        #expect(batcher.nextBatch(now: Self.at(139)) == nil)
        #expect(batcher.nextBatch(now: Self.at(140)) == [3])
    }

    @Test("no max wait waits for min forever; zero max wait hands over at once")
    func waitExtremes() throws {
        var patient = try PullBatcher<Int>(minResults: 3)
        patient.append(1, now: .zero)
        #expect(patient.nextBatch(now: GateInstant(nanoseconds: .max)) == nil)
        var eager = try PullBatcher<Int>(minResults: 3, maxWait: .zero)
        eager.append(1, now: Self.at(7))
        #expect(eager.nextBatch(now: Self.at(7)) == [1])
        #expect(eager.nextBatch(now: Self.at(8)) == nil, "nothing pending")
    }

    @Test("random appends: every item is handed over once, in order, in batches within bounds")
    func randomized() throws {
        for seed in UInt64(0)..<300 {
            var random = GateTestRandom(seed: seed)
            let minResults = 1 + random.below(5)
            let maxResults = minResults + random.below(5)
            let maxWait: Duration? = random.below(3) == 0 ? nil : .nanoseconds(random.below(50))
            var batcher = try PullBatcher<Int>(minResults: minResults, maxResults: maxResults, maxWait: maxWait)
            var now = GateInstant.zero
            var next = 0
            var handed: [Int] = []
            for _ in 0..<200 {
                now = now + .nanoseconds(random.below(20))
                if random.below(2) == 0 {
                    let count = random.below(batcher.fetchLimit + 1)
                    batcher.append(contentsOf: next..<(next + count), now: now)
                    next += count
                }
                while true {
                    let dueByWait = batcher.deadline.map { now >= $0 } ?? false
                    guard let batch = batcher.nextBatch(now: now) else { break }
                    #expect(batch.count <= maxResults)
                    #expect(batch.count >= minResults || dueByWait, "a short batch only after max wait")
                    handed += batch
                }
                if let deadline = batcher.deadline { #expect(deadline > now, "a due batch was left behind") }
            }
            handed += batcher.drain()
            #expect(handed == Array(0..<next))
        }
    }
}
