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
