import Foundation
@testable import SluiceCore
import Testing

@Suite("Re-admission lanes: rows of an ordering key come back in arrival order")
struct ReadmissionLanesTests {
    func row(_ id: Int64, attempt: Int = 1) -> ReadmissionLanes.Row {
        ReadmissionLanes.Row(
            inboxID: id, delivery: Delivery(adapter: "a", target: "/w", headers: HeaderFields([]), body: [], receivedAt: Date()),
            attempt: attempt)
    }

    func admitted(_ step: ReadmissionLanes.Step) -> Int64? {
        if case .admit(let row) = step { return row.inboxID }
        return nil
    }

    @Test("a lane waits out its backoff, then gives its rows lowest id first, new arrivals included, then closes")
    func order() {
        let lanes = ReadmissionLanes()
        #expect(!lanes.joinIfOpen(row(9), orderingKey: "k"), "no lane: the caller admits the row itself")
        #expect(lanes.hold(row(5), orderingKey: "k", backoff: .seconds(1)))
        // Abandoned behind it, during the same backoff: no second wait.
        #expect(!lanes.hold(row(7), orderingKey: "k", backoff: .seconds(1)))
        #expect(lanes.joinIfOpen(row(8, attempt: 0), orderingKey: "k"))
        guard case .wait(let delay) = lanes.next(orderingKey: "k") else {
            Issue.record("the lane did not wait first")
            return
        }
        #expect(delay == .seconds(1))
        #expect(!lanes.hold(row(6), orderingKey: "k", backoff: .seconds(1)))
        #expect(admitted(lanes.next(orderingKey: "k")) == 5)
        #expect(admitted(lanes.next(orderingKey: "k")) == 6)
        #expect(admitted(lanes.next(orderingKey: "k")) == 7)
        #expect(admitted(lanes.next(orderingKey: "k")) == 8)
        guard case .done = lanes.next(orderingKey: "k") else {
            Issue.record("the empty lane did not close")
            return
        }
        #expect(!lanes.joinIfOpen(row(10), orderingKey: "k"), "closed: the caller admits the row itself")
    }

    @Test("a row undecided again after the lane admitted rows comes back ahead of the rest, after a longer backoff")
    func undecidedAgain() {
        let lanes = ReadmissionLanes()
        _ = lanes.hold(row(1), orderingKey: "k", backoff: .seconds(1))
        _ = lanes.hold(row(2), orderingKey: "k", backoff: .seconds(1))
        _ = lanes.next(orderingKey: "k")
        #expect(admitted(lanes.next(orderingKey: "k")) == 1)
        // Row 1 ends undecided again, on its second attempt.
        _ = lanes.hold(row(1, attempt: 2), orderingKey: "k", backoff: ReadmissionLanes.backoff(afterAttempt: 1))
        guard case .wait(let delay) = lanes.next(orderingKey: "k") else {
            Issue.record("no backoff before the row that failed again")
            return
        }
        #expect(delay == .seconds(2))
        #expect(admitted(lanes.next(orderingKey: "k")) == 1)
        #expect(admitted(lanes.next(orderingKey: "k")) == 2)
        #expect(lanes.joinIfOpen(row(3, attempt: 0), orderingKey: "k"), "closed only when found empty")
        #expect(admitted(lanes.next(orderingKey: "k")) == 3)
        #expect(ReadmissionLanes.backoff(afterAttempt: 9) == .seconds(30))
    }

    @Test("at its admission, a row waits in an open lane; the drainer's own row only behind an earlier row taken back")
    func waitsInLaneAtAdmission() {
        let lanes = ReadmissionLanes()
        #expect(!lanes.waitsInLane(row(4, attempt: 0), orderingKey: "k", taken: false), "no lane: the row is admitted")
        _ = lanes.hold(row(1), orderingKey: "k", backoff: .seconds(1))
        _ = lanes.hold(row(2), orderingKey: "k", backoff: .seconds(1))
        _ = lanes.next(orderingKey: "k")
        #expect(admitted(lanes.next(orderingKey: "k")) == 1)
        #expect(admitted(lanes.next(orderingKey: "k")) == 2)
        // The drainer admits row 2 with nothing earlier in the lane: it goes into the gate.
        #expect(!lanes.waitsInLane(row(2), orderingKey: "k", taken: true))
        // A new webhook of the key entering the gate while the lane is open waits in it.
        #expect(lanes.waitsInLane(row(5, attempt: 0), orderingKey: "k", taken: false))
        #expect(admitted(lanes.next(orderingKey: "k")) == 5)
        // Row 1 ends undecided again while the drainer is checking row 3, which it had taken up: row 3 goes back
        // behind it, and the lane waits out row 1's backoff before either.
        _ = lanes.joinIfOpen(row(3, attempt: 0), orderingKey: "k")
        #expect(admitted(lanes.next(orderingKey: "k")) == 3)
        _ = lanes.hold(row(1, attempt: 2), orderingKey: "k", backoff: ReadmissionLanes.backoff(afterAttempt: 1))
        #expect(lanes.waitsInLane(row(3, attempt: 0), orderingKey: "k", taken: true))
        guard case .wait(let delay) = lanes.next(orderingKey: "k") else {
            Issue.record("no backoff before the row that failed again")
            return
        }
        #expect(delay == .seconds(2))
        #expect(admitted(lanes.next(orderingKey: "k")) == 1)
        #expect(admitted(lanes.next(orderingKey: "k")) == 3)
        guard case .done = lanes.next(orderingKey: "k") else {
            Issue.record("the empty lane did not close")
            return
        }
    }
}
