import Foundation
import SluiceCore

/// One caller's part of a group-committed transaction.
protocol SQLiteWriteJob: AnyObject, Sendable {
    /// Runs the job's statements inside the batch's transaction. A job-level refusal (an unknown dead
    /// letter) is kept as the job's result, and only when the job changed nothing: the batch commits it. A
    /// failure after a change, like an SQLite failure, throws and fails the transaction; the batch's jobs are
    /// then run again one per transaction, so the others still commit and this one's changes do not.
    func perform(_ connection: SQLiteConnection) throws(SQLiteFailure)
    /// Resumes the caller once the transaction is durable (`nil`) or has failed.
    func finish(_ error: LedgerError?)
}

/// A write whose result reaches its caller only after the commit.
final class SQLiteWrite<Value: Sendable>: SQLiteWriteJob, @unchecked Sendable {
    // `result` is touched only by the writer thread, between perform and finish.
    private let body: (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>
    private let continuation: CheckedContinuation<Result<Value, LedgerError>, Never>
    private var result: Result<Value, LedgerError>?

    init(
        _ body: @escaping @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>,
        continuation: CheckedContinuation<Result<Value, LedgerError>, Never>
    ) {
        self.body = body
        self.continuation = continuation
    }

    func perform(_ connection: SQLiteConnection) throws(SQLiteFailure) {
        result = try body(connection)
    }

    func finish(_ error: LedgerError?) {
        if let error {
            continuation.resume(returning: .failure(error))
        } else {
            continuation.resume(returning: result ?? .failure(.fatal("internal", "a write finished without running")))
        }
        result = nil
    }
}

/// Several writes submitted together whose caller is resumed once, when the last of them is durable or has
/// failed, with every write's own result.
final class SQLiteWriteGroup<Value: Sendable>: @unchecked Sendable {
    // `lock` guards `results` and `remaining`: members finish on the writer or the flush thread, possibly
    // in different transactions.
    private let lock = NSLock()
    private var results: [Result<Value, LedgerError>?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[Result<Value, LedgerError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<Value, LedgerError>], Never>) {
        self.results = Array(repeating: nil, count: count)
        self.remaining = count
        self.continuation = continuation
    }

    /// The job of the write at `index`.
    func member(
        _ index: Int, body: @escaping @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>
    ) -> Member {
        Member(group: self, index: index, body: body)
    }

    fileprivate func finish(_ index: Int, _ result: Result<Value, LedgerError>) {
        lock.lock()
        guard results[index] == nil else { return lock.unlock() }
        results[index] = result
        remaining -= 1
        let done = remaining == 0
        lock.unlock()
        guard done else { return }
        continuation.resume(returning: results.map { $0 ?? .failure(.fatal("internal", "a write finished without running")) })
    }

    /// One write of the group.
    final class Member: SQLiteWriteJob, @unchecked Sendable {
        // `result` is touched only by the writer thread, between perform and finish.
        private let group: SQLiteWriteGroup
        private let index: Int
        private let body: (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>
        private var result: Result<Value, LedgerError>?

        fileprivate init(
            group: SQLiteWriteGroup, index: Int,
            body: @escaping @Sendable (SQLiteConnection) throws(SQLiteFailure) -> Result<Value, LedgerError>
        ) {
            self.group = group
            self.index = index
            self.body = body
        }

        func perform(_ connection: SQLiteConnection) throws(SQLiteFailure) {
            result = try body(connection)
        }

        func finish(_ error: LedgerError?) {
            let outcome = error.map { .failure($0) } ?? result ?? .failure(.fatal("internal", "a write finished without running"))
            result = nil
            group.finish(index, outcome)
        }
    }
}
