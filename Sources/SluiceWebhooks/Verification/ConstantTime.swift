/// Comparisons whose time depends only on the lengths, never on where the bytes differ.
enum ConstantTime {
    /// Whether `lhs` equals `rhs`. Lengths are public (every signature of a scheme has the same one).
    static func equal(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }

    /// Whether any candidate equals any expected value, looking at every pair (no early exit), so that
    /// neither the time nor the answer says which secret matched.
    static func anyEqual(_ candidates: [[UInt8]], _ expected: [[UInt8]]) -> Bool {
        var matched = false
        for candidate in candidates {
            for value in expected {
                let same = equal(candidate, value)
                matched = matched || same
            }
        }
        return matched
    }
}
