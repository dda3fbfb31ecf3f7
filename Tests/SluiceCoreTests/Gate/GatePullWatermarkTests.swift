import Testing

@testable import SluiceCore

/// Pause at the high watermark, resume at the low one, nothing in between.
@Suite("PullWatermark")
struct GatePullWatermarkTests {
    @Test("hysteresis between high and low")
    func hysteresis() {
        var watermark = PullWatermark(high: 10, low: 5)
        let steps: [(Int, PullWatermark.Action)] = [
            (9, .none), (10, .pause), (12, .none), (10, .none), (6, .none), (5, .resume), (5, .none), (9, .none),
            (11, .pause), (0, .resume),
        ]
        for (queued, action) in steps {
            #expect(watermark.update(queued: queued) == action, "queued \(queued)")
        }
        #expect(watermark.state == .flowing)
    }

    @Test("a boundary's watermark: pause at maxQueued, resume at half")
    func fromBoundary() {
        let watermark = PullWatermark(boundary: .default)
        #expect(watermark.high == 10_000)
        #expect(watermark.low == 5_000)
        let tiny = PullWatermark(
            boundary: Boundary(mode: .pullOnly, maxInFlight: 1, maxQueued: 1, cancellationBudget: .zero))
        #expect(tiny.high == 1)
        #expect(tiny.low == 0)
    }

    @Test("out-of-range watermarks are clamped")
    func clamped() {
        let watermark = PullWatermark(high: 0, low: 5)
        #expect(watermark.high == 1)
        #expect(watermark.low == 0)
        #expect(PullWatermark(high: 10, low: -3).low == 0)
        #expect(PullWatermark(high: 10, low: 10).low == 9)
    }

    @Test("random queue walks: actions alternate and respect the thresholds")
    func randomized() {
        for seed in UInt64(0)..<200 {
            var random = GateTestRandom(seed: seed)
            let high = 1 + random.below(20)
            var watermark = PullWatermark(high: high, low: random.below(high))
            var queued = 0
            var paused = false
            for _ in 0..<300 {
                queued = max(0, min(high + 5, queued + random.below(7) - 3))
                switch watermark.update(queued: queued) {
                case .pause:
                    #expect(!paused && queued >= watermark.high)
                    paused = true
                case .resume:
                    #expect(paused && queued <= watermark.low)
                    paused = false
                case .none:
                    #expect(paused ? queued > watermark.low : queued < watermark.high)
                }
                #expect(watermark.state == (paused ? .paused : .flowing))
            }
        }
    }
}
