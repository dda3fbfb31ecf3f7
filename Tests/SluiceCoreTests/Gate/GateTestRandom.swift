import SluiceCore

/// The library's seedable SplitMix64, with the helpers random tests want, so that they repeat exactly.
struct GateTestRandom: RandomNumberGenerator {
    private var base: SplitMix64

    init(seed: UInt64) {
        self.base = SplitMix64(seed: seed)
    }

    mutating func next() -> UInt64 { base.next() }

    /// A uniform integer in `0..<bound`.
    mutating func below(_ bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &self)
    }
}
