import Foundation
import SluiceCore
import Testing

@testable import SluiceKafka

/// The source's shared state without Kafka: flow control, admission by generation, settlement and commits.
@Suite("KafkaSource.State")
struct KafkaSourceStateTests {
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    /// Fetched records, normalised as the poll thread does.
    func records(_ partition: Int32, _ offsets: Range<Int64>) -> [KafkaSource.Fetched] {
        offsets.map { offset in
            let record = KafkaRecord(topic: "t", partition: partition, offset: offset, value: Array("{}".utf8))
            let event = Event(source: "t", id: "\(offset)", type: nil, body: .bytes([]), receivedAt: Date())
            return KafkaSource.Fetched(record: record, event: event, invalid: nil)
        }
    }

    /// Assigns p0 and admits its offsets 0–3, as the poll thread and the dispatch loop do.
    func admitFourRecords(into state: inout KafkaSource.State) -> [KafkaSource.Ticket] {
        admit(0..<4, ordered: true, into: &state)
    }

    /// Assigns p0 and admits `offsets` of it, as the poll thread and the dispatch loop do.
    func admit(_ offsets: Range<Int64>, ordered: Bool, into state: inout KafkaSource.State) -> [KafkaSource.Ticket] {
        state.assign([p0])
        _ = state.append(records(0, offsets), at: .now)
        let tickets = state.takeBatch(limit: offsets.count)!
        for ticket in tickets { _ = state.admit(ticket, ordered: ordered, at: .now) }
        return tickets
    }

    /// A buffer that never empties (the poll thread refills it while the dispatch loop takes from it, as when a gate
    /// drains steadily through a backlog) drops the tickets it handed out: it holds about what waits, not every
    /// record read since it last emptied (each with its value).
    @Test func aBufferThatNeverEmptiesDropsWhatItHandedOut() {
        var state = KafkaSource.State()
        state.assign([p0])
        var next: Int64 = 0
        _ = state.append(records(0, 0..<1_000), at: .now)
        next = 1_000
        var largest = 0
        for _ in 0..<200 {
            _ = state.append(records(0, next..<next + 500), at: .now)
            next += 500
            let batch = state.takeBatch(limit: 500)!
            for ticket in batch { _ = state.admit(ticket, ordered: false, at: .now) }
            largest = max(largest, state.bufferedTicketsHeld)
        }
        #expect(state.undispatched == 1_000)
        #expect(largest <= 2 * KafkaSource.State.compactionThreshold + 1_500, "the buffer held \(largest) tickets")
        // The order is kept: the next batch starts where the last one ended.
        #expect(state.takeBatch(limit: 1)?.first?.record.offset == next - 1_000)
    }

    /// A lost session makes the source not ready until the group assigns again; a plain revocation does not.
    @Test func aLostSessionIsNotReadyUntilTheNextAssignment() {
        var state = KafkaSource.State()
        state.assign([p0])
        #expect(state.readiness == .ready)
        state.beginRevoke([p0], lost: false)
        state.remove([p0])
        #expect(state.readiness == .ready && !state.sessionLost)
        state.assign([p0])
        state.beginRevoke([p0], lost: true)
        state.remove([p0])
        #expect(state.readiness == .notReady(KafkaSource.State.sessionLostError))
        #expect(state.sessionLost)
        // An empty assignment ends the loss (the metadata probe then decides); a real one is ready at once.
        state.assign([])
        #expect(!state.sessionLost)
        state.assign([p1])
        #expect(state.readiness == .ready)
    }

    @Test func pausesAboveTheHighWatermarkAndResumesBelowTheLow() {
        var state = KafkaSource.State()
        state.assign([p0, p1])
        var plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.pause.isEmpty)
        #expect(plan.resume.isEmpty, "never paused here: resuming would restart their fetch")
        #expect(plan.fetchLimit == 4)
        _ = state.append(records(0, 0..<6) + records(1, 0..<6), at: .now)
        // Full, but not for `pauseAfter` yet: stop fetching, do not pause.
        let start = ContinuousClock.now
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4, now: start, pauseAfter: .milliseconds(500))
        #expect(plan.pause.isEmpty)
        #expect(plan.fetchLimit == 0)
        #expect(!state.snapshot.paused)
        // The dispatch loop took four (room to fetch two): the full spell is over and starts anew.
        for ticket in state.takeBatch(limit: 4)! { _ = state.admit(ticket, ordered: true, at: .now) }
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4, now: start + .milliseconds(400), pauseAfter: .milliseconds(500))
        #expect(plan.pause.isEmpty && plan.fetchLimit == 2)
        _ = state.append(records(0, 6..<8), at: .now)
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4, now: start + .milliseconds(600), pauseAfter: .milliseconds(500))
        #expect(plan.pause.isEmpty, "full again for 0 ms, not 600")
        // Full without a break for `pauseAfter`: pause.
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4, now: start + .milliseconds(1_100), pauseAfter: .milliseconds(500))
        #expect(plan.pause == [p0, p1])
        #expect(plan.fetchLimit == 0)
        #expect(state.snapshot.paused)
        let batch = state.takeBatch(limit: 4)!
        for ticket in batch { _ = state.admit(ticket, ordered: true, at: .now) }
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.pause.isEmpty && plan.resume.isEmpty, "6 undispatched: between the watermarks, still paused")
        #expect(plan.fetchLimit == 4)
        for ticket in state.takeBatch(limit: 8)! { _ = state.admit(ticket, ordered: true, at: .now) }
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume == [p0, p1])
        #expect(state.snapshot.pauses == 1)
    }

    /// librdkafka keeps a partition's pause flag across assignments: a partition given up while paused is resumed
    /// when it comes back (unless the gate is full), and one given up while fetching is not.
    @Test func aPartitionGivenUpWhilePausedIsResumedWhenItComesBack() {
        var state = KafkaSource.State()
        state.assign([p0, p1])
        _ = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        _ = state.append(records(0, 0..<12), at: .now)
        var plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.pause == [p0, p1])
        state.beginRevoke([p0, p1], lost: false)
        state.remove([p0, p1])
        state.assign([p0])
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume == [p0], "p0 left paused")
        state.beginRevoke([p0], lost: false)
        state.remove([p0])
        state.assign([p0])
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume.isEmpty, "p0 left fetching this time")
        state.assign([p1])
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume == [p1], "p1 is still paused in librdkafka from its first assignment")

        // Paused, given up, assigned again and lost before any plan resumed it: still paused in librdkafka.
        _ = state.append(records(1, 0..<12), at: .now)
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.pause == [p0, p1])
        state.beginRevoke([p1], lost: true)
        state.remove([p1])
        state.assign([p1])
        state.beginRevoke([p1], lost: true)
        state.remove([p1])
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume == [p0], "p1 is not owned now")
        state.assign([p1])
        plan = state.plan(pauseAbove: 10, resumeBelow: 5, maxBatch: 4)
        #expect(plan.resume == [p1])
    }

    /// A group on a topic that does not exist still gets an (empty) assignment: it must not hide the
    /// unknown-topic error, and only an assignment with partitions makes the source ready by itself.
    @Test func anEmptyAssignmentLeavesReadinessToTheProbe() {
        var state = KafkaSource.State()
        let unknown = KafkaError(kind: .client, code: 3, message: "topic 'nope' does not exist")
        state.readiness = .notReady(unknown)
        state.assign([])
        #expect(state.readiness == .notReady(unknown))
        var starting = KafkaSource.State()
        starting.assign([])
        #expect(starting.readiness == .starting)
        starting.assign([p0])
        #expect(starting.readiness == .ready)
    }

    @Test func commitsOnlyTheSettledPrefixPerPartition() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)
        state.settle(tickets[1])
        state.settle(tickets[2])
        var due = state.dueCommits().map(\.1)
        #expect(due.isEmpty)
        state.settle(tickets[0])
        due = state.dueCommits().map(\.1)
        #expect(due == [3])
        due = state.dueCommits().map(\.1)
        #expect(due.isEmpty, "nothing new to commit")
        state.commitFailed([(p0, 3)])
        due = state.dueCommits().map(\.1)
        #expect(due == [3], "a failed commit is sent again")
        state.settle(tickets[3])
        due = state.dueCommits().map(\.1)
        #expect(due == [4])
        // The synchronous commit before a partition is given up sends it again although an asynchronous
        // commit already carries it: that one's failure could come when nothing would resend it.
        #expect(state.dueCommits().isEmpty)
        #expect(state.dueCommits(only: [p0], includingSent: true).map(\.1) == [4])
    }

    /// A partition assigned again has no committed offset of its own: another member may have committed it further
    /// meanwhile, so its lag is not computed from the offset this member committed before.
    @Test func aReassignedPartitionForgetsItsOldCommittedOffset() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)
        for ticket in tickets { state.settle(ticket) }
        state.committed([(p0, 4)], at: .now)
        #expect(state.snapshot.committed[p0] == 4)
        state.beginRevoke([p0], lost: false)
        state.remove([p0])
        state.assign([p0])
        #expect(state.snapshot.committed[p0] == nil)
    }

    /// librdkafka retries a commit whose coordinator moved; it can land after a newer one and take the group's
    /// offset back. Its late acknowledgement makes the source send the newer offset again.
    @Test func aStaleCommitLandingLastIsCorrected() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)
        state.settle(tickets[0])
        #expect(state.dueCommits().map(\.1) == [1])
        for ticket in tickets.dropFirst() { state.settle(ticket) }
        #expect(state.dueCommits().map(\.1) == [4])
        state.committed([(p0, 4)], at: .now)
        #expect(state.dueCommits().isEmpty)
        state.committed([(p0, 1)], at: .now)  // the first commit, retried, answered last
        #expect(state.snapshot.committed[p0] == 1, "the group holds the stale offset now")
        #expect(state.dueCommits().map(\.1) == [4], "the latest offset is committed again")
        state.committed([(p0, 4)], at: .now)
        #expect(state.snapshot.committed[p0] == 4)
        #expect(state.dueCommits().isEmpty)
    }

    /// librdkafka's warning for a reset after a fetch error names the partition; nothing else does.
    @Test func anOffsetResetIsReadFromLibrdkafkasWarning() {
        let warning = "[thrd:main]: orders.v2 [3]: offset reset (at offset 120, broker 1) to cached BEGINNING offset 0: fetch failed due to requested offset not available on the broker: Broker: Offset out of range"
        let reset = KafkaSource.offsetReset(announcedIn: warning)
        #expect(reset?.partition == TopicPartition(topic: "orders.v2", partition: 3) && reset?.at == 120)
        let bare = KafkaSource.offsetReset(announcedIn: "orders [0]: offset reset (at offset 7) to END: x: y")
        #expect(bare?.partition == TopicPartition(topic: "orders", partition: 0) && bare?.at == 7)
        #expect(KafkaSource.offsetReset(announcedIn: "orders [x]: offset reset (at offset 7) to END") == nil)
        #expect(KafkaSource.offsetReset(announcedIn: "orders [0]: offset reset (at offset INVALID) to END") == nil)
        #expect(KafkaSource.offsetReset(announcedIn: "orders [0]: fetch failed: Broker: Offset out of range") == nil)
        #expect(KafkaSource.offsetReset(announcedIn: " [0]: offset reset (at offset 7) to END") == nil)
    }

    /// A reset mark names the fetch offset that failed: records queued before it (below that offset) do not spend it,
    /// a record at or past it (a reset forward, past retention) does, and a lower record after that is a redelivery.
    /// A superseded ticket that ends undecided leaves the gate's count.
    @Test func aResetMarkIsSpentByARewindOrByAResetForward() {
        var state = KafkaSource.State()
        let old = admit(0..<8, ordered: false, into: &state)
        state.announceReset(p0, at: 10)
        _ = state.append(records(0, 8..<10), at: .now)  // fetched before the failing fetch at 10
        #expect(state.snapshot.rewinds == 0 && state.snapshot.buffered == 2)
        _ = state.append(records(0, 2..<3), at: .now)
        #expect(state.snapshot.rewinds == 1, "the mark was still on")
        #expect(state.inFlightCount([p0]) == 8, "0 and 1 current, 2–7 superseded")
        let decision = state.unsettled(old[4], attempt: 1, notBefore: .now, ordered: false)
        #expect(decision == .giveUp, "a superseded ticket is not submitted again")
        #expect(state.inFlightCount([p0]) == 7, "and it left the gate's count")

        state.announceReset(p0, at: 30)
        _ = state.append(records(0, 40..<41), at: .now)
        _ = state.append(records(0, 35..<36), at: .now)
        #expect(state.snapshot.rewinds == 1, "the reset went forward: 35 is a redelivery")
    }

    /// A reset announced before anything was read in this assignment (its committed offset was out of range, and the
    /// partition starts over from the log's beginning) has nothing to tell: nothing can be read again. Kept until its
    /// offset was reached, it took a later redelivery for a log that went back, and ran those records again.
    @Test func aResetBeforeTheFirstRecordOfAnAssignmentIsSpentByIt() {
        var state = KafkaSource.State()
        state.assign([p0])
        state.announceReset(p0, at: 120)
        _ = state.append(records(0, 0..<10), at: .now)
        _ = state.append(records(0, 5..<6), at: .now)  // redelivered (a resume's fetch of what was prefetched)
        #expect(state.snapshot.rewinds == 0, "a redelivery was taken for a log that went back")
        #expect(state.snapshot.buffered == 10)
    }

    /// The partition's log went back (librdkafka reset the offset after a truncation, or the topic was made again):
    /// the records fetched again are taken as new ones, the earlier tickets at or past that offset go stale wherever
    /// they are (their late settlements do not move the commit), and an earlier ticket before it still counts.
    @Test func aLogThatWentBackIsReadAgainAndItsEarlierTicketsGoStale() {
        var state = KafkaSource.State()
        state.assign([p0])
        _ = state.append(records(0, 0..<10), at: .now)
        let first = state.takeBatch(limit: 6)!  // 0–5 admitted; 6–9 stay buffered
        for ticket in first { _ = state.admit(ticket, ordered: false, at: .now) }
        state.settle(first[0])
        state.settle(first[1])
        state.settle(first[4])
        var due = state.dueCommits().map(\.1)
        #expect(due == [2])
        let retry = state.unsettled(first[3], attempt: 1, notBefore: .now, ordered: false)
        #expect(retry == .retry)

        _ = state.append(records(0, 7..<8), at: .now)
        #expect(state.snapshot.rewinds == 0 && state.snapshot.buffered == 4, "unannounced: a redelivery, dropped")
        state.announceReset(p0, at: 10)
        _ = state.append(records(0, 3..<8), at: .now)
        let rewinds = state.takeRewinds()
        #expect(rewinds == [KafkaSource.Rewind(partition: p0, from: 9, to: 3)])
        let taken = state.takeRewinds()
        #expect(taken.isEmpty)
        #expect(state.snapshot.rewinds == 1)
        #expect(state.snapshot.inFlight == 2, "2 still counts, 5 is superseded but still in the gate; 3 waited for a retry")
        let resubmitting = state.resubmitting(first[3])
        #expect(!resubmitting, "the retry of 3 is stale: 3 was fetched again")
        #expect(!state.owns(first[5]))

        var again = state.takeBatch(limit: 20)!
        #expect(again.map(\.record.offset) == [6, 7, 8, 9, 3, 4, 5, 6, 7])
        let admissions = again.map { state.admit($0, ordered: false, at: .now) }
        #expect(admissions == [.drop, .drop, .drop, .drop, .submit, .submit, .submit, .submit, .submit])
        again.removeFirst(4)
        #expect(state.owns(again[2]) && !state.owns(first[5]))

        #expect(state.inFlightCount([p0]) == 2 + 5)
        state.settle(first[5])  // a late settlement of a stale ticket: 5 is not settled by it
        #expect(state.inFlightCount([p0]) == 1 + 5, "the superseded ticket left the gate")
        for ticket in again where ticket.record.offset != 5 { state.settle(ticket) }
        due = state.dueCommits().map(\.1)
        #expect(due.isEmpty, "2 is not settled yet")
        state.settle(first[2])
        due = state.dueCommits().map(\.1)
        #expect(due == [5], "the stale ticket of 5 did not settle the record read again")
        state.settle(again[2])
        due = state.dueCommits().map(\.1)
        #expect(due == [8])

    }

    /// Ordered, and the log went back below everything read: the held record is dropped, the tickets still in the
    /// gate are superseded (a revoke waits for them) without moving the commit, the group's offset goes back to
    /// where the log is read again, and a later rewind below the committable offset takes it back too.
    @Test func aLogThatWentBackMovesTheCommitBackAndDropsItsHeldRecords() {
        var state = KafkaSource.State()
        let old = admit(10..<16, ordered: true, into: &state)
        let decision = state.unsettled(old[2], attempt: 1, notBefore: .now, ordered: true)
        #expect(decision == .drain, "12 waits in its partition's queue")
        #expect(state.snapshot.buffered == 1)

        state.announceReset(p0, at: 16)
        _ = state.append(records(0, 0..<3), at: .now)
        #expect(state.snapshot.buffered == 3, "the held 12 is gone; 0–2 are buffered")
        #expect(state.inFlightCount([p0]) == 5, "10, 11, 13, 14 and 15 are still in the gate")
        var due = state.dueCommits().map(\.1)
        #expect(due == [0], "the group's offset (10 or later) goes back to where the log is read again")
        for ticket in old where ticket.record.offset != 12 { state.settle(ticket) }
        #expect(state.inFlightCount([p0]) == 0)
        due = state.dueCommits().map(\.1)
        #expect(due.isEmpty, "superseded tickets do not move the commit")

        // The drain job was still on: the records read again queue behind it and go in offset order.
        let again = state.takeBatch(limit: 10)!
        let admissions = again.map { state.admit($0, ordered: true, at: .now) }
        #expect(admissions == [.hold, .hold, .hold])
        var drained: [Int64] = []
        while case .submit(let held) = state.nextHeld(p0, generation: old[0].generation, now: .now) {
            drained.append(held.ticket.record.offset)
            state.settle(held.ticket)
        }
        #expect(drained == [0, 1, 2])
        due = state.dueCommits().map(\.1)
        #expect(due == [3])

        _ = state.append(records(0, 3..<6), at: .now)
        for ticket in state.takeBatch(limit: 10)! {
            _ = state.admit(ticket, ordered: true, at: .now)
            state.settle(ticket)
        }
        due = state.dueCommits().map(\.1)
        #expect(due == [6])
        _ = state.append(records(0, 4..<5), at: .now)
        #expect(state.snapshot.rewinds == 1, "each reset is announced anew")
        state.announceReset(p0, at: 6)
        _ = state.append(records(0, 4..<5), at: .now)
        due = state.dueCommits().map(\.1)
        #expect(due == [4], "a committable offset past the rewind goes back to it")
        // The commit of 6, sent before the log went back, acknowledged after the one of 4 was sent.
        state.committed([(p0, 6)], at: .now)
        due = state.dueCommits().map(\.1)
        #expect(due == [4], "a commit acknowledged past the committable offset is sent again")
        #expect(state.snapshot.rewinds == 2)
    }

    @Test func revokedPartitionsDropBufferedRecordsAndIgnoreLateSettlements() {
        var state = KafkaSource.State()
        state.assign([p0, p1])
        _ = state.append(records(0, 0..<3) + records(1, 0..<3), at: .now)
        let first = state.takeBatch(limit: 2)!  // p0@0, p0@1
        for ticket in first { _ = state.admit(ticket, ordered: true, at: .now) }
        state.beginRevoke([p0], lost: false)
        #expect(state.inFlightCount([p0]) == 2)
        #expect(state.snapshot.buffered == 3, "p0@2 dropped, p1's three kept")
        let decision = state.unsettled(first[0], attempt: 1, notBefore: .now, ordered: true)
        #expect(decision == .giveUp, "no retry on a revoking partition")
        state.settle(first[1])
        let due = state.dueCommits(only: [p0])
        #expect(due.isEmpty, "p0@0 is not settled")
        state.remove([p0])
        state.settle(first[0])
        #expect(state.snapshot.settled == 1)
        state.assign([p0])  // a new generation
        let admitted = state.admit(first[0], ordered: true, at: .now)
        #expect(admitted == .drop, "a ticket of the old generation is stale")
    }

    /// Ordered: a record submitted again waits in its partition's queue, later records of the partition queue
    /// behind it, and the drain takes them in offset order, each once due; other partitions flow meanwhile.
    @Test func anOrderedRecordSubmittedAgainHoldsBackItsPartition() {
        var state = KafkaSource.State()
        state.assign([p0, p1])
        _ = state.append(records(0, 0..<3), at: .now)
        let first = state.takeBatch(limit: 3)!  // p0@0, p0@1, p0@2
        for ticket in first { #expect(state.admit(ticket, ordered: true, at: .now) == .submit) }
        let start = ContinuousClock.now
        let later = start + .milliseconds(100)
        // p0@1 and p0@0 refused (in that order): each waits, sorted by offset; only the first starts a drain.
        #expect(state.unsettled(first[1], attempt: 1, notBefore: start, ordered: true) == .drain)
        #expect(state.unsettled(first[0], attempt: 1, notBefore: later, ordered: true) == .queued)
        #expect(state.inFlightCount([p0]) == 1, "only p0@2 is in the gate")
        _ = state.append(records(0, 3..<4) + records(1, 0..<1), at: .now)
        let next = state.takeBatch(limit: 2)!  // p0@3, p1@0
        #expect(state.admit(next[0], ordered: true, at: start) == .hold, "p0@3 queues behind p0@0 and p0@1")
        #expect(state.admit(next[1], ordered: true, at: start) == .submit, "p1 is not held")
        #expect(state.snapshot.buffered == 3, "held records count against the fetch limit")
        guard case .wait(let until) = state.nextHeld(p0, generation: first[0].generation, now: start) else {
            Issue.record("p0@0 is not due yet")
            return
        }
        #expect(until == later)
        var drained: [Int64] = []
        while case .submit(let held) = state.nextHeld(p0, generation: first[0].generation, now: later) {
            drained.append(held.ticket.record.offset)
            // Taken by the drain: in flight again while it goes to the gate, and later records still queue.
            #expect(state.inFlightCount([p0]) == 1 + drained.count)
        }
        #expect(drained == [0, 1, 3])
        #expect(state.snapshot.buffered == 0)
        _ = state.append(records(0, 4..<5), at: .now)
        let after = state.takeBatch(limit: 1)![0]
        #expect(state.admit(after, ordered: true, at: .now) == .submit, "the hold is over")
    }

    /// Ordered: the check at the gate's door. A record admitted before an earlier one came back into the queue is
    /// taken back behind it; one the drain took waits only behind an earlier record that came back since; a record
    /// of a partition being revoked is taken back and left for the next owner.
    @Test func aRecordOnItsWayIntoTheGateIsTakenBackBehindAnEarlierOneSubmittedAgain() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)  // p0@0…3, all admitted (no drain then)
        func takeBack(_ ticket: KafkaSource.Ticket, attempt: Int = 0, fromQueue: Bool = false) -> Bool {
            state.takeBack(ticket, attempt: attempt, fromQueue: fromQueue, at: .now)
        }
        #expect(!takeBack(tickets[1]), "nothing waits: p0@1 goes in")
        #expect(!state.holds.value, "the check's fast path takes no lock while nothing drains")
        // p0@0 ends undecided while p0@2 and p0@3 are being mapped and checked.
        #expect(state.unsettled(tickets[0], attempt: 1, notBefore: .now, ordered: true) == .drain)
        #expect(state.holds.value)
        #expect(takeBack(tickets[3]))
        #expect(takeBack(tickets[2]))
        #expect(state.statistics.takenBack == 2)
        #expect(state.inFlightCount([p0]) == 1, "only p0@1 is in the gate")
        var drained: [Int64] = []
        while case .submit(let held) = state.nextHeld(p0, generation: tickets[0].generation, now: .now) {
            drained.append(held.ticket.record.offset)
            if drained == [0, 2] {
                // The drain took p0@2; p0@1 ends undecided before p0@2 reaches the gate: p0@2 goes back behind it.
                #expect(state.unsettled(tickets[1], attempt: 1, notBefore: .now, ordered: true) == .queued)
                #expect(takeBack(held.ticket, attempt: held.attempt, fromQueue: true))
            } else {
                #expect(!takeBack(held.ticket, attempt: held.attempt, fromQueue: true))
            }
        }
        #expect(drained == [0, 2, 1, 2, 3])
        #expect(!state.holds.value, "the drain is over")
        state.beginRevoke([p0], lost: false)
        #expect(state.holds.value)
        #expect(takeBack(tickets[3]), "a revoked partition admits nothing")
        #expect(state.inFlightCount([p0]) == 3, "p0@0, p0@1 and p0@2 are left to drain; p0@3 is not in the gate")
        state.remove([p0])
        #expect(!state.holds.value)
        state.phase = .stopping
        #expect(state.holds.value, "a stopping source takes every record back")
    }

    /// A revoke drops the held records (they are not in the gate: nothing to drain) and ends the drain.
    @Test func aRevokeDropsHeldRecords() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)
        #expect(state.unsettled(tickets[0], attempt: 1, notBefore: .now, ordered: true) == .drain)
        #expect(state.unsettled(tickets[2], attempt: 1, notBefore: .now, ordered: false) == .retry)
        state.beginRevoke([p0], lost: false)
        #expect(state.inFlightCount([p0]) == 2, "p0@1 and p0@3 are left to drain; waiting records are not")
        #expect(state.snapshot.buffered == 0)
        let wanted = state.resubmitting(tickets[2])
        #expect(!wanted, "the retry job finds its record gone")
        guard case .done = state.nextHeld(p0, generation: tickets[0].generation, now: .now) else {
            Issue.record("the drain goes on after a revoke")
            return
        }
    }

    /// A retry job that wakes after the source began stopping leaves nothing in flight for the close to wait for.
    @Test func aRetryNotTakenAfterStoppingLeavesNothingInFlight() {
        var state = KafkaSource.State()
        let tickets = admitFourRecords(into: &state)
        #expect(state.unsettled(tickets[1], attempt: 1, notBefore: .now, ordered: false) == .retry)
        state.phase = .stopping
        let wanted = state.resubmitting(tickets[1])
        #expect(!wanted)
        #expect(state.inFlightCount([p0]) == 3, "p0@0, p0@2 and p0@3 only")
    }
}
