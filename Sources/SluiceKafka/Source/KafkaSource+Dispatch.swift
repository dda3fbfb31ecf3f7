import CoreMetrics
import Foundation
import Logging
import SluiceCore

extension KafkaSource {
    /// Takes buffered records in order and submits each when the gate has room.
    func dispatchLoop() async {
        var submitted = 0
        while let batch = await nextBatch() {
            for ticket in batch {
                await handler.waitForCapacity()
                await dispatch(ticket)
                submitted += 1
                if submitted % 256 == 0 { await Task.yield() }
            }
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

    /// Normalises a record and submits its event; records that cannot become events are dead-lettered.
    private func dispatch(_ ticket: Ticket) async {
        let record = ticket.record
        let event: Event
        var invalid: (reason: String, detail: String)?
        if record.value.count > configuration.maxValueBytes {
            invalid = ("value_too_large", "the value has \(record.value.count) bytes (limit \(configuration.maxValueBytes))")
            event = placeholderEvent(for: record)
        } else {
            do {
                event = try record.event(receivedAt: Date())
            } catch {
                invalid = ("invalid_event", error.description)
                event = placeholderEvent(for: record)
            }
        }
        guard state.withLock({ $0.admit(ticket, event: event) }) else { return }
        if let invalid {
            logger.warning(
                "kafka record cannot be mapped: \(invalid.detail)",
                metadata: ["kafka.position": "\(record.topic)-\(record.partition)-\(record.offset)"])
            jobSink.yield(.deadLetter(ticket, reason: invalid.reason, detail: invalid.detail))
            return
        }
        await submit(event, ticket: ticket, attempt: 0)
    }

    /// An event standing for a record that could not be normalised (only its position is known).
    private func placeholderEvent(for record: KafkaRecord) -> Event {
        Event(
            source: record.topic, id: "\(record.topic)-\(record.partition)-\(record.offset)", type: nil,
            body: .bytes([]), receivedAt: Date(),
            position: .kafka(topic: record.topic, partition: record.partition, offset: record.offset),
            convention: .kafkaPosition)
    }

    /// Hands the event to the handler; a refusal is retried (or settled, when the key already has an outcome).
    func submit(_ event: Event, ticket: Ticket, attempt: Int) async {
        do {
            try await handler.submit(event) { [self] settlement in settled(settlement, ticket: ticket, event: event, attempt: attempt) }
        } catch {
            switch error {
            case .alreadyDecided:
                markSettled(ticket)
            case .alreadyInProgress, .saturated, .cancelling:
                if state.withLock({ $0.unsettled(ticket) }) == .retry {
                    jobSink.yield(.retry(ticket, event, attempt: attempt + 1))
                }
            case .modeRefused(let mode):
                let failure = KafkaError(
                    kind: .configuration, message: "the adapter's boundary is \(mode.rawValue): it refuses a pull source")
                logger.error("\(failure)")
                let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    state.fatal = failure
                    state.readiness = .notReady(failure)
                    if state.phase == .running { state.phase = .stopping }
                    defer { state.dispatchWaiter = nil }
                    return state.dispatchWaiter
                }
                waiter?.resume()
            }
        }
    }

    /// A settlement from the handler: quick bookkeeping here, slow work (dead letters, retries) as jobs.
    private func settled(_ settlement: KafkaSettlement, ticket: Ticket, event: Event, attempt: Int) {
        switch settlement {
        case .recorded(let outcome, let deadLetter):
            if deadLetter, deadLetters != nil {
                let reason = outcome.reason?.rawValue ?? outcome.kind.rawValue
                jobSink.yield(.deadLetter(ticket, reason: reason, detail: outcome.message ?? ""))
            } else {
                markSettled(ticket)
            }
        case .abandoned(let reason):
            if state.withLock({ $0.unsettled(ticket) }) == .retry {
                logger.debug("kafka event abandoned, submitting again: \(reason)", metadata: ["event.id": "\(event.id)"])
                jobSink.yield(.retry(ticket, event, attempt: attempt + 1))
            }
        case .unrecorded(let error):
            if state.withLock({ $0.unsettled(ticket) }) == .retry {
                logger.warning("kafka event outcome not recorded, submitting again: \(error)", metadata: ["event.id": "\(event.id)"])
                jobSink.yield(.retry(ticket, event, attempt: attempt + 1))
            }
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
                    case .deadLetter(let ticket, let reason, let detail):
                        await self.produceDeadLetter(ticket, reason: reason, detail: detail)
                    case .retry(let ticket, let event, let attempt):
                        await self.retry(event, ticket: ticket, attempt: attempt)
                    }
                }
            }
        }
    }

    private func backoff(attempt: Int) -> Duration {
        let factor = 1 << min(max(attempt - 1, 0), 6)
        return min(configuration.retryBackoff * factor, .seconds(5))
    }

    private func retry(_ event: Event, ticket: Ticket, attempt: Int) async {
        try? await Task.sleep(for: backoff(attempt: attempt))
        guard !Task.isCancelled, state.withLock({ $0.owns(ticket) && $0.phase == .running }) else { return }
        await handler.waitForCapacity()
        await submit(event, ticket: ticket, attempt: attempt)
    }

    /// Produces the record to the dead-letter topic (retrying while the partition is owned), then settles it.
    /// Without a dead-letter topic the record is only logged: its outcome (when it has one) is in the ledger.
    private func produceDeadLetter(_ ticket: Ticket, reason: String, detail: String) async {
        guard let producer = deadLetters, let topic = configuration.deadLetterTopic else {
            logger.error(
                "kafka record dead-lettered with no dead_letter_topic configured: \(reason) \(detail)",
                metadata: ["kafka.position": "\(ticket.record.topic)-\(ticket.record.partition)-\(ticket.record.offset)"])
            metrics.deadLettered.increment()
            markSettled(ticket)
            return
        }
        let message = DeadLetterMessage.make(
            ticket.record, topic: topic, adapter: configuration.adapter, reason: reason, detail: detail,
            maxValueBytes: configuration.maxValueBytes, at: Date())
        var attempt = 0
        while true {
            do {
                try await producer.send(message)
                state.withLock { $0.statistics.deadLettered += 1 }
                metrics.deadLettered.increment()
                markSettled(ticket)
                return
            } catch {
                attempt += 1
                logger.error("kafka dead letter not produced (retrying): \(error)", metadata: ["dead_letter_topic": "\(topic)"])
                try? await Task.sleep(for: backoff(attempt: attempt))
                guard !Task.isCancelled, state.withLock({ $0.owns(ticket) }) else { return }
            }
        }
    }
}
