import Testing

@testable import SluiceCore

@Suite("Recent outcomes (the status page's list)")
struct RecentOutcomesTests {
    private func outcome(_ number: Int) -> Outcome {
        Outcome(adapter: "orders", action: "start_workflow", idempotencyKey: "k\(number)", kind: .accepted)
    }

    @Test("keeps the newest, newest first, before and after the ring wraps")
    func keepsTheNewestFirst() {
        let recent = RecentOutcomes(limit: 3)
        #expect(recent.snapshot.isEmpty)
        recent.append(outcome(1))
        recent.append(outcome(2))
        #expect(recent.snapshot.map(\.idempotencyKey) == ["k2", "k1"])
        for number in 3...7 {
            recent.append(outcome(number))
            let expected = (max(1, number - 2)...number).reversed().map { "k\($0)" }
            #expect(recent.snapshot.map(\.idempotencyKey) == expected)
        }
    }

    @Test("a limit below one keeps one")
    func limitOfAtLeastOne() {
        let recent = RecentOutcomes(limit: 0)
        recent.append(outcome(1))
        recent.append(outcome(2))
        #expect(recent.snapshot.map(\.idempotencyKey) == ["k2"])
    }
}
