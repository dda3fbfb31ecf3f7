import SluiceCore
import Testing

@testable import SluiceKafka

@Suite("CommitWatermark")
struct CommitWatermarkTests {
    @Test func inOrderSettlementAdvancesOneByOne() {
        var watermark = CommitWatermark()
        for offset in 0..<5 { watermark.receive(Int64(offset)) }
        #expect(watermark.committable == nil)
        #expect(step(&watermark, settle: 0))
        #expect(watermark.committable == 1)
        #expect(step(&watermark, settle: 1))
        #expect(watermark.committable == 2)
        #expect(watermark.outstanding == 3)
    }

    @Test func outOfOrderSettlementWaitsForTheGap() {
        var watermark = CommitWatermark()
        for offset in 10..<16 { watermark.receive(Int64(offset)) }
        #expect(!step(&watermark, settle: 12))
        #expect(!step(&watermark, settle: 11))
        #expect(!step(&watermark, settle: 15))
        #expect(watermark.committable == nil)
        #expect(step(&watermark, settle: 10))
        #expect(watermark.committable == 13)
        #expect(step(&watermark, settle: 13))
        #expect(watermark.committable == 14)
        #expect(step(&watermark, settle: 14))
        #expect(watermark.committable == 16)
        #expect(watermark.outstanding == 0)
    }

    @Test func gapsInOffsetsAreSkipped() {
        var watermark = CommitWatermark()
        for offset: Int64 in [3, 7, 8, 20] { watermark.receive(offset) }
        watermark.settle(8)
        watermark.settle(3)
        #expect(watermark.committable == 4)
        watermark.settle(7)
        #expect(watermark.committable == 9)
        watermark.settle(20)
        #expect(watermark.committable == 21)
    }

    @Test func redeliveredAndUnknownOffsetsAreIgnored() {
        var watermark = CommitWatermark()
        #expect(step(&watermark, receive: 5))
        #expect(!step(&watermark, receive: 5))
        #expect(!step(&watermark, receive: 4))
        #expect(!step(&watermark, settle: 4))
        #expect(!step(&watermark, settle: 9))
        #expect(watermark.committable == nil)
        #expect(step(&watermark, settle: 5))
        #expect(!step(&watermark, settle: 5))
        #expect(watermark.committable == 6)
    }

    @Test func forgettingUndispatchedOffsetsAcceptsThemAgain() {
        var watermark = CommitWatermark()
        for offset in 0..<10 { watermark.receive(Int64(offset)) }
        watermark.settle(0)
        watermark.settle(1)
        watermark.forget(from: 5)
        #expect(watermark.lastReceived == 4)
        #expect(step(&watermark, receive: 5))
        for offset in 2...5 { watermark.settle(Int64(offset)) }
        #expect(watermark.committable == 6)
    }

    /// The log went back below the committable offset (truncated, or its topic made again): the offset to commit
    /// goes back with it, what settled past it is forgotten, and the offsets read again are tracked from there.
    @Test func aLogThatWentBackBelowTheCommittableOffsetIsTrackedAgainFromThere() {
        var watermark = CommitWatermark()
        for offset in 0..<10 { watermark.receive(Int64(offset)) }
        for offset in [0, 1, 2, 3, 4, 5, 8] { watermark.settle(Int64(offset)) }
        #expect(watermark.committable == 6)
        #expect(!step(&watermark, receive: 4), "at or before the last offset received: the log went back")
        watermark.rewind(to: 4)
        #expect(watermark.committable == 4)
        #expect(watermark.lastReceived == 3)
        #expect(watermark.outstanding == 0)
        for offset in 4..<7 { #expect(step(&watermark, receive: Int64(offset))) }
        #expect(!step(&watermark, settle: 8), "offset 8 settled before the log went back: not received since")
        #expect(step(&watermark, settle: 4))
        #expect(watermark.committable == 5)
        #expect(!step(&watermark, settle: 6))
        #expect(step(&watermark, settle: 5))
        #expect(watermark.committable == 7)
    }

    /// The log went back while nothing was committable: below every offset received, the offset to commit becomes
    /// the rewind's (the group may hold a later one); with a received offset before it still unsettled, it waits.
    @Test func aLogThatWentBackBeforeAnythingSettledIsCommittedFromThere() {
        var below = CommitWatermark()
        for offset in 10..<16 { below.receive(Int64(offset)) }
        below.rewind(to: 2)
        #expect(below.committable == 2)
        #expect(below.outstanding == 0)
        #expect(step(&below, receive: 2))

        var past = CommitWatermark()
        for offset in 10..<16 { past.receive(Int64(offset)) }
        past.rewind(to: 12)
        #expect(past.committable == nil, "10 and 11 wait to settle")
        #expect(past.outstanding == 2)
        #expect(step(&past, receive: 12))
        past.settle(10)
        past.settle(11)
        #expect(past.committable == 12)
    }

    /// Random completion orders over many offsets: the watermark is always one past the longest settled prefix.
    @Test(arguments: [1, 2, 3, 4, 5])
    func randomCompletionOrderMatchesTheReference(seed: UInt64) async {
        var generator = SplitMix64(seed: seed)
        var watermark = CommitWatermark()
        let offsets = (0..<20_000).map { Int64($0 * 2) }  // gaps of one
        for offset in offsets { watermark.receive(offset) }
        var settled = Set<Int64>()
        var prefix = 0
        for (step, offset) in offsets.shuffled(using: &generator).enumerated() {
            watermark.settle(offset)
            settled.insert(offset)
            while prefix < offsets.count, settled.contains(offsets[prefix]) { prefix += 1 }
            #expect(watermark.committable == (prefix == 0 ? nil : offsets[prefix - 1] + 1))
            if step % 2048 == 0 { await Task.yield() }
        }
        #expect(watermark.committable == 39_999)
        #expect(watermark.outstanding == 0)
    }
}

/// Applies one mutation and returns its result (`#expect` cannot call a mutating method itself).
private func step(_ watermark: inout CommitWatermark, settle offset: Int64) -> Bool { watermark.settle(offset) }
private func step(_ watermark: inout CommitWatermark, receive offset: Int64) -> Bool { watermark.receive(offset) }
