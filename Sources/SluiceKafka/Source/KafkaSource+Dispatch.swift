import CoreMetrics
import Foundation
import Logging
import SluiceCore

extension KafkaSource {
    /// Takes buffered records in order and submits them, as many at a time as the gate has room for.
    func dispatchLoop() async {
        while let batch = await nextBatch() {
            var next = 0
            while next < batch.count {
                await handler.waitForCapacity()
                if Task.isCancelled { return }
                let room = max(1, await handler.capacity)
                let end = min(batch.count, next + room)
                await dispatch(batch[next..<end])
                next = end
            }
            await Task.yield()
        }
    }

    /// The next buffered records; nil once the source stops.
    private func nextBatch() async -> [Ticket]? {
        while true {
            if Task.isCancelled { return nil }
            let limit = configuration.maxBatch
            let taken = state.withLock { $0.takeBatch(limit: limit) }
            if let taken { return taken.isEmpty ? nil : taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    guard state.phase == .running, !state.hasBuffered else { return true }
                    state.dispatchWaiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Submits the tickets' events in one batch; records that cannot become events are dead-lettered.
    private func dispatch(_ tickets: ArraySlice<Ticket>) async {
        let ordered = preservesOrder
        let now = ContinuousClock.now
        let (admissions, revocations) = state.withLock { state in
            (tickets.map { state.admit($0, ordered: ordered, at: now) }, state.statistics.revocations)
        }
        var batchTickets: [Ticket] = []
        var batchEvents: [Event] = []
        batchTickets.reserveCapacity(tickets.count)
        batchEvents.reserveCapacity(tickets.count)
        for (ticket, admission) in zip(tickets, admissions) where admission == .submit {
            if ticket.invalid != nil {
                jobSink.yield(.reject(ticket))
            } else {
                batchTickets.append(ticket)
                batchEvents.append(ticket.event)
            }
        }
        guard !batchEvents.isEmpty else { return }
        let tickets = batchTickets
        // The ones taken back at the gate's door: not in the gate, so a revoke has nothing of theirs to cancel.
        let tookBack = Locked<Set<Int>>([])
        var takenBack: (@Sendable (Int) -> Bool)?
        if ordered {
            takenBack = { @Sendable [state, holds] index in
                guard Self.takeBack(tickets[index], attempt: 0, in: state, holds: holds) else { return false }
                tookBack.withLock { _ = $0.insert(index) }
                return true
            }
        }
        let refusals = await handler.submit(batch: batchEvents, unless: takenBack) { [self] index, settlement in
            settled(settlement, ticket: tickets[index], attempt: 0)
        }
        for (index, refusal) in refusals.enumerated() {
            guard let refusal else { continue }
            refused(refusal, ticket: tickets[index], attempt: 0)
        }
        // Owned and not revoking when admitted: only a revoke begun since can have made some of them leave.
        if state.withLock({ $0.statistics.revocations }) != revocations {
            let notTaken = tookBack.withLock { $0 }
            let taken = refusals.indices.filter { refusals[$0] == nil && !notTaken.contains($0) }
            await cancelIfLeaving(taken.map { tickets[$0] }, events: taken.map { batchEvents[$0] })
        }
    }

    /// Cancels events the gate took while their partition was being revoked: the revoke's own cancellation came
    /// before the gate had them (they were being mapped and checked), so it missed them, and they would otherwise
    /// run on past the hand-over. They get the gate's budget from now, within the revoke's wait.
    private func cancelIfLeaving(_ tickets: [Ticket], events: [Event]) async {
        guard !tickets.isEmpty else { return }
        let leaving = state.withLock { state in tickets.indices.filter { state.isLeaving(tickets[$0]) } }
        guard !leaving.isEmpty else { return }
        await handler.cancel(events: leaving.map { events[$0] }, reason: "kafka partitions revoked")
    }

    /// The record as an event, or a placeholder and why it cannot be one.
    func normalise(_ record: KafkaRecord, receivedAt: Date) -> Fetched {
        if record.value.count > configuration.maxValueBytes {
            return Fetched(
                record: record, event: placeholderEvent(for: record),
                invalid: Invalid(
                    reason: "value_too_large",
                    detail: "the value has \(record.value.count) bytes (limit \(configuration.maxValueBytes))"))
        }
        do {
            return Fetched(record: record, event: try record.event(receivedAt: receivedAt), invalid: nil)
        } catch {
            return Fetched(
                record: record, event: placeholderEvent(for: record),
                invalid: Invalid(reason: "invalid_event", detail: error.description))
        }
    }

    /// An event standing for a record that could not be normalised (only its position is known).
    private func placeholderEvent(for record: KafkaRecord) -> Event {
        Event(
            source: record.topic,
            id: EventOrigin.KafkaRecord.positionID(
                topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp),
            type: nil,
            body: .bytes([]), receivedAt: Date(),
            position: .kafka(topic: record.topic, partition: record.partition, offset: record.offset),
            convention: .kafkaPosition)
    }

    /// Ordered adapters: the check the gate makes just before it admits `ticket` (``KafkaRecordHandler/submit(_:unless:settled:)``),
    /// in the same step as the admission. An earlier record of the partition that ended undecided while this one was
    /// being mapped and checked has put itself in the partition's queue before the gate let its ordering key go; the
    /// ticket then goes into that queue too, behind it, instead of into the gate.
    ///
    /// `holds` is the state's ``State/holds``: while no partition drains or is revoked, nothing is taken back, and the
    /// check takes no lock.
    static func takeBack(
        _ ticket: Ticket, attempt: Int, in state: Locked<State>, holds: HoldGauge, held: Bool = false
    ) -> Bool {
        guard holds.value else { return false }
        return state.withLock { $0.takeBack(ticket, attempt: attempt, fromQueue: held, at: .now) }
    }

    /// Hands the event to the handler (a retry, or the next of an ordered partition's queue, `held`); a refusal is
    /// retried (or settled, when the key already has an outcome). A record that could not become an event is recorded
    /// as a rejection instead.
    func submit(ticket: Ticket, attempt: Int, held: Bool = false) async {
        if let invalid = ticket.invalid {
            let record = ticket.record
            logger.warning(
                "kafka record cannot be mapped: \(invalid.detail)",
                metadata: ["kafka.position": "\(record.topic)-\(record.partition)-\(record.offset)"])
            let settlement = await handler.reject(ticket.event, reason: invalid.reason, message: invalid.detail)
            settled(settlement, ticket: ticket, attempt: attempt)
            return
        }
        let tookBack = Locked(false)
        var takenBack: (@Sendable () -> Bool)?
        if preservesOrder {
            takenBack = { @Sendable [state, holds] in
                guard Self.takeBack(ticket, attempt: attempt, in: state, holds: holds, held: held) else { return false }
                tookBack.withLock { $0 = true }
                return true
            }
        }
        do {
            try await handler.submit(ticket.event, unless: takenBack) { [self] settlement in
                settled(settlement, ticket: ticket, attempt: attempt)
            }
        } catch {
            refused(error, ticket: ticket, attempt: attempt)
            return
        }
        if !tookBack.withLock({ $0 }) { await cancelIfLeaving([ticket], events: [ticket.event]) }
    }

    /// Submits the event again later: a retry job of its own (unordered), or its partition's drain job, which
    /// submits the partition's waiting records in offset order (ordered).
    private func submitAgain(_ ticket: Ticket, attempt: Int) {
        let next = attempt + 1
        let notBefore = ContinuousClock.now + backoff(attempt: next)
        let ordered = preservesOrder
        switch state.withLock({ $0.unsettled(ticket, attempt: next, notBefore: notBefore, ordered: ordered) }) {
        case .retry: jobSink.yield(.retry(ticket, attempt: next))
        case .drain: jobSink.yield(.drain(ticket.partition, generation: ticket.generation))
        case .queued, .giveUp: break
        }
    }

    /// Whether records of one partition must reach the gate in offset order (the adapter orders by partition or
    /// by key): then a record submitted again holds back its partition's later records until it is taken.
    var preservesOrder: Bool { handler.preservesOrder }

    /// The gate refused the event now: submit it again later, or stop (a push-only boundary).
    ///
    /// `alreadyDecided` is submitted again too: a handler settles a decision it finds in the ledger itself, so the
    /// refusal means the gate remembered a decision the ledger no longer holds (past the dedupe window, pruned;
    /// the gate forgets it, and the event runs when submitted again) or the ledger could not be read. Settling it
    /// here would commit the offset with no outcome.
    private func refused(_ error: DispatchAdmissionError, ticket: Ticket, attempt: Int) {
        switch error {
        case .alreadyDecided, .alreadyInProgress, .saturated, .cancelling:
            submitAgain(ticket, attempt: attempt)
        case .modeRefused(let mode):
            let failure = KafkaError(
                kind: .configuration, message: "the adapter's boundary is \(mode.rawValue): it refuses a pull source")
            logger.error("\(failure)")
            state.withLock { $0.fail(failure) }?.resume()
        }
    }

    /// A settlement from the handler: quick bookkeeping here, slow work (dead letters, retries) as jobs.
    private func settled(_ settlement: KafkaSettlement, ticket: Ticket, attempt: Int) {
        switch settlement {
        case .recorded(let outcome, let deadLetter):
            // Without a dead-letter topic, the ledger's dead letter is the only one.
            let letter =
                deadLetter && configuration.deadLetterTopic != nil
                ? (reason: outcome.reason?.rawValue ?? outcome.kind.rawValue, detail: outcome.message ?? "") : nil
            if letter != nil || configuration.outcomeTopic != nil {
                jobSink.yield(.publish(ticket, deadLetter: letter, outcome: outcome))
            } else {
                markSettled(ticket)
            }
        case .abandoned(let reason):
            logger.debug("kafka event abandoned: \(reason)", metadata: ["event.id": "\(ticket.event.id)"])
            submitAgain(ticket, attempt: attempt)
        case .unrecorded(let error):
            logger.warning("kafka event outcome not recorded: \(error)", metadata: ["event.id": "\(ticket.event.id)"])
            submitAgain(ticket, attempt: attempt)
        }
    }

    func markSettled(_ ticket: Ticket) {
        state.withLock { $0.settle(ticket) }
        let elapsed = (ContinuousClock().now - ticket.fetchedAt).components
        metrics.fetchToSettle.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }

    // MARK: - Jobs

    /// Runs follow-up jobs concurrently until the job stream finishes (after the poll thread ends).
    ///
    /// The stream holds at most one job per in-flight record, so it is bounded by the buffer and the gate.
    func runJobs() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask {
                    switch job {
                    case .publish(let ticket, let deadLetter, let outcome):
                        await self.publish(ticket, deadLetter: deadLetter, outcome: outcome)
                    case .retry(let ticket, let attempt):
                        await self.retry(ticket, attempt: attempt)
                    case .drain(let partition, let generation):
                        await self.drain(partition, generation: generation)
                    case .reject(let ticket):
                        await self.submit(ticket: ticket, attempt: 0)
                    }
                }
            }
        }
    }

    private func backoff(attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 6)
        return min(configuration.retryBackoff * factor, .seconds(5))
    }

    private func retry(_ ticket: Ticket, attempt: Int) async {
        try? await Task.sleep(for: backoff(attempt: attempt))
        guard !Task.isCancelled else { return }
        await handler.waitForCapacity()
        // A partition being revoked takes no new work, retries included: its next owner gets the record.
        guard !Task.isCancelled, state.withLock({ $0.resubmitting(ticket) }) else { return }
        await submit(ticket: ticket, attempt: attempt)
    }

    /// Submits a partition's held records one at a time, in offset order, each once it is due and the gate has
    /// room; the partition's later records queue behind them until the queue is empty.
    private func drain(_ partition: TopicPartition, generation: UInt64) async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            // Room first: a record taken from the queue is in flight, and a revoke waits for what is in flight.
            await handler.waitForCapacity()
            switch state.withLock({ $0.nextHeld(partition, generation: generation, now: clock.now) }) {
            case .done:
                return
            case .wait(let until):
                try? await Task.sleep(until: until, clock: clock)
            case .submit(let held):
                await submit(ticket: held.ticket, attempt: held.attempt, held: true)
            }
        }
    }

    /// Produces the record to the dead-letter topic (`deadLetter`, given only when there is one) and its outcome to
    /// the outcome topic (each retried while the partition is owned), then settles it. The dead letter and the
    /// outcome are in the ledger already.
    private func publish(_ ticket: Ticket, deadLetter: (reason: String, detail: String)?, outcome: Outcome) async {
        let record = ticket.record
        if let deadLetter, let topic = configuration.deadLetterTopic {
            let message = DeadLetterMessage.make(
                record, topic: topic, adapter: configuration.adapter, reason: deadLetter.reason,
                detail: deadLetter.detail, maxValueBytes: configuration.maxValueBytes, at: Date())
            guard await produce(message, for: ticket, strippedWhenTooLarge: DeadLetterMessage.bare) else { return }
            state.withLock { $0.statistics.deadLettered += 1 }
            metrics.deadLettered.increment()
        }
        if let topic = configuration.outcomeTopic {
            let message = OutcomeMessage.make(outcome, for: record, topic: topic, adapter: configuration.adapter)
            // Never an empty value: on a compacted outcome topic that would delete the key's outcome.
            guard await produce(message, for: ticket, whenTooLarge: OutcomeMessage.summary(of: outcome)) else { return }
            state.withLock { $0.statistics.outcomesPublished += 1 }
            metrics.outcomesPublished.increment()
        }
        markSettled(ticket)
    }

    /// Produces `message`, retrying with backoff while the ticket's partition is owned; false when it was given up
    /// (the record is then redelivered to the partition's next owner).
    ///
    /// A record too large for the producer or the broker goes again with `whenTooLarge` as its value (a dead
    /// letter: none, the original stays in the source topic; an outcome: its summary), and a
    /// `sluice.dlq.value_omitted` header saying why; still too large (a dead letter whose record has a huge key or
    /// headers), it goes as `strippedWhenTooLarge` makes it, when given. An error that retrying cannot cure (a
    /// missing topic, no authorization) makes the source not ready with that error until a produce succeeds:
    /// the partition's commits wait for this record, and `/readyz` says why.
    private func produce(
        _ message: KafkaProducer.Message, for ticket: Ticket, whenTooLarge: [UInt8] = [],
        strippedWhenTooLarge strip: ((KafkaProducer.Message, String) -> KafkaProducer.Message)? = nil
    ) async -> Bool {
        guard let producer else { return false }
        var message = message
        var omitted = false
        var stripped = false
        var attempt = 0
        while true {
            do {
                try await producer.send(message)
                state.withLock { $0.publishBlocked = nil }
                return true
            } catch {
                if error.isMessageTooLarge, !omitted {
                    logger.warning(
                        "kafka record too large to produce; producing it without its value: \(error)",
                        metadata: ["kafka.topic": "\(message.topic)", "bytes": "\(message.value.count)"])
                    let reason = "\(message.value.count) bytes: \(error.codeName)"
                    message.headers.append(.init(DeadLetterMessage.valueOmittedHeader, reason))
                    message.value = whenTooLarge
                    omitted = true
                    continue
                }
                if error.isMessageTooLarge, !stripped, let strip {
                    let bytes = (message.key?.count ?? 0) + message.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.count }
                    logger.warning(
                        "kafka record too large to produce without its value; producing it without its key and headers: \(error)",
                        metadata: ["kafka.topic": "\(message.topic)", "bytes": "\(bytes)"])
                    message = strip(message, "\(bytes) bytes of key and headers: \(error.codeName)")
                    stripped = true
                    continue
                }
                attempt += 1
                if error.isRetriable {
                    logger.error(
                        "kafka record not produced (retrying): \(error)", metadata: ["kafka.topic": "\(message.topic)"])
                } else {
                    let first = state.withLock { state -> Bool in
                        defer { state.publishBlocked = error }
                        if state.phase == .running { state.readiness = .notReady(error) }
                        return state.publishBlocked == nil
                    }
                    if first || attempt.isMultiple(of: 60) {
                        logger.error(
                            "kafka record not produced until the cause is fixed (its partition's commits wait): \(error)",
                            metadata: ["kafka.topic": "\(message.topic)"])
                    }
                }
                try? await Task.sleep(for: backoff(attempt: attempt))
                guard !Task.isCancelled, state.withLock({ $0.owns(ticket) }) else {
                    // Given up (the partition went to another owner, or its log went back past the record): it
                    // no longer blocks this source. Another record still refused sets it again at its next attempt.
                    state.withLock {
                        $0.publishBlocked = nil
                        $0.releaseSuperseded(ticket)
                    }
                    return false
                }
            }
        }
    }
}
