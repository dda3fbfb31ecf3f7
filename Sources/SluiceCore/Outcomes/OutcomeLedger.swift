/// Where Sluice keeps what happened to every event: one decided outcome per idempotency key, the
/// claims that let one worker at a time work on a key, the webhook inbox and the dead letters.
///
/// The pipeline uses it in this order for each event:
/// 1. push sources ``appendInbox(_:)`` before answering `2xx` (and re-admit ``pendingInbox(after:limit:)``
///    at start-up);
/// 2. the gate asks ``claim(adapter:idempotencyKey:owner:for:)``: a key that is already decided is
///    answered from the ledger with no engine call, a key another worker holds is left alone;
/// 3. after the engine answered, the outcome is ``record(_:)``ed, which also removes the inbox row,
///    drops the claim and files a dead letter when asked, all in one transaction; only then is the
///    source acknowledged (Kafka offset, inbox row).
///
/// Every write returns only once it is durable. Implementations batch concurrent writes into one
/// transaction (group commit), so that many callers share one flush.
///
/// - Important: a key has at most one decision. A second outcome for a decided key is not stored:
///   ``record(_:)`` answers ``RecordResult/alreadyDecided(_:)`` with the first one and counts the
///   duplicate, unless the first decision is older than the adapter's dedupe window.
public protocol OutcomeLedger: Sendable {
    /// Records an outcome, durably, with the side effects the request asks for.
    ///
    /// - Returns: whether this outcome became the key's decision or one existed already.
    /// - Throws: ``LedgerError`` when the write is not durable; then nothing of the request was stored
    ///   and the source must not be acknowledged.
    func record(_ request: RecordRequest) async throws(LedgerError) -> RecordResult

    /// ``record(_:)`` for several requests at once (the gate's finished events, recorded together): one result
    /// per request, in order, each as ``record(_:)`` would have answered it alone. One request's failure does not
    /// fail the others. Every result is durable when this returns. Two requests for one key are decided in no
    /// particular order (the gate never sends them: a key has one event in flight).
    func record(batch requests: [RecordRequest]) async -> [Result<RecordResult, LedgerError>]

    /// The decision for an idempotency key, when there is one within the adapter's dedupe window.
    func decision(adapter: String, idempotencyKey: String) async throws(LedgerError) -> Outcome?

    /// The same check as ``decision(adapter:idempotencyKey:)``, answered from the ledger's indexed
    /// columns without reading or decoding the stored outcome: the check before every engine call.
    func decisionSummary(adapter: String, idempotencyKey: String) async throws(LedgerError) -> DecisionSummary?

    /// ``decisionSummary(adapter:idempotencyKey:)`` for several keys at once (a Kafka fetch): the keys
    /// that have a live decision, with its summary; keys without one are absent.
    func decisionSummaries(adapter: String, idempotencyKeys: [String]) async throws(LedgerError) -> [String: DecisionSummary]

    /// Claims a key so that one worker at a time works on it, across processes sharing the ledger.
    ///
    /// A claim ends when its outcome is recorded, when its owner releases it, or when it expires.
    /// Claiming a key its owner already holds extends the claim.
    ///
    /// - Parameters:
    ///   - owner: a name unique to the worker (replica and task), such as `host-pid-task`.
    ///   - duration: how long the claim holds if the owner neither records nor releases it.
    /// - Returns: ``ClaimResult/claimed(until:)``, the decision when the key is already decided, or who
    ///   holds it.
    func claim(adapter: String, idempotencyKey: String, owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimResult

    /// Extends the claims `owner` holds on these keys to `duration` from now, in one call: a worker renews
    /// the claims of the events still in its gate, so that an event queued or retried for longer than a claim
    /// lasts is not taken up by another replica meanwhile. Keys the owner holds no claim on (decided, released,
    /// never claimed) are left alone, and a claim another worker holds is never taken.
    func renewClaims(adapter: String, idempotencyKeys: [String], owner: String, for duration: Duration)
        async throws(LedgerError) -> ClaimRenewal

    /// Gives up a claim (the worker will not decide the key, for instance on cancellation).
    func release(adapter: String, idempotencyKey: String, owner: String) async throws(LedgerError)

    /// Appends a verified delivery to the inbox, durably.
    ///
    /// - Returns: the inbox row id, the event's ``SourcePosition/inbox(id:)``.
    func appendInbox(_ delivery: Delivery) async throws(LedgerError) -> Int64

    /// Inbox rows whose outcome is not recorded yet, oldest first, with ids greater than `after`.
    func pendingInbox(after: Int64?, limit: Int) async throws(LedgerError) -> [InboxItem]

    /// How many inbox rows wait for their outcome, by adapter (the `sluice_inbox_depth` metric).
    func inboxDepth() async throws(LedgerError) -> [String: Int]

    /// Dead letters matching a query, newest first.
    func deadLetters(_ query: DeadLetterQuery) async throws(LedgerError) -> [DeadLetter]

    /// Marks a dead letter re-driven and makes the re-drive's outcome the key's decision, in one
    /// transaction. A decision newer than the letter (the key decided again after it, once the letter's own
    /// decision was pruned or its dedupe window had passed) stays the key's decision.
    func markRedriven(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError)

    /// Keeps a replay's progress on a letter it did not re-drive (rejected again, or no answer): `outcome` replaces
    /// the letter's stored outcome, whose step report then says which steps have succeeded since, so that the next
    /// replay does not send them again. A letter re-driven meanwhile (or gone) is left alone.
    func keepReplayProgress(deadLetterID: Int64, outcome: Outcome) async throws(LedgerError)

    /// Decisions matching a query, newest first.
    func outcomes(_ query: OutcomeQuery) async throws(LedgerError) -> [StoredOutcome]

    /// Deletes at most `batchSize` outcomes and dead letters that the policy lets go, plus expired
    /// claims, in one short transaction.
    ///
    /// Call it repeatedly (``RetentionPolicy/prune(_:batchSize:)``) until it deletes nothing: each
    /// batch is small, so the hot path never waits long.
    func pruneBatch(_ policy: RetentionPolicy, batchSize: Int) async throws(LedgerError) -> PruneResult

    /// Checks that the ledger can be written (for `/readyz`).
    func checkReadiness() async throws(LedgerError)
}

extension OutcomeLedger {
    /// Prunes in batches until nothing more is due, or until the task is cancelled (between batches: the rest
    /// waits for the next run); returns the totals.
    public func prune(_ policy: RetentionPolicy, batchSize: Int = 500) async throws(LedgerError) -> PruneResult {
        // At least one row per batch, as the ledgers delete: with 0, no batch would ever look like the last.
        let batchSize = max(1, batchSize)
        var total = PruneResult()
        while true {
            let batch = try await pruneBatch(policy, batchSize: batchSize)
            total.outcomes += batch.outcomes
            total.deadLetters += batch.deadLetters
            total.claims += batch.claims
            if batch.outcomes < batchSize && batch.deadLetters < batchSize { return total }
            if Task.isCancelled { return total }
            await Task.yield()
        }
    }

    /// One check per key; ledgers that can answer many keys in one round trip override it.
    public func decisionSummaries(adapter: String, idempotencyKeys: [String]) async throws(LedgerError)
        -> [String: DecisionSummary]
    {
        var found: [String: DecisionSummary] = [:]
        for key in idempotencyKeys {
            if let summary = try await decisionSummary(adapter: adapter, idempotencyKey: key) { found[key] = summary }
        }
        return found
    }

    /// The requests recorded concurrently, each on its own; ledgers that can write many in one call override it.
    public func record(batch requests: [RecordRequest]) async -> [Result<RecordResult, LedgerError>] {
        if requests.count == 1 {
            do throws(LedgerError) { return [.success(try await record(requests[0]))] } catch { return [.failure(error)] }
        }
        return await withTaskGroup(of: (Int, Result<RecordResult, LedgerError>).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    do throws(LedgerError) { return (index, .success(try await record(request))) } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Result<RecordResult, LedgerError>](
                repeating: .failure(.fatal("internal", "not recorded")), count: requests.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    /// Records a bare outcome: no inbox row, no dead letter.
    public func record(_ outcome: Outcome) async throws(LedgerError) -> RecordResult {
        try await record(RecordRequest(outcome: outcome))
    }
}
