import Logging
import PostgresNIO
import SluiceCore
import Synchronization

/// A deadline for the queries run on one pooled connection.
///
/// PostgresNIO cancels nothing in flight, and closing a connection does not fail a query written after the
/// connection had already closed. So the work runs in a task of its own and is raced against the deadline:
/// whichever comes first answers the caller. At the deadline the connection is closed, which fails the work's
/// query if it is still waiting, and only then is the caller answered, so that the pool replaces the connection
/// instead of lending it again.
enum PooledAnswer {
    static func awaited<Value: Sendable>(
        within timeout: Duration, on connection: PostgresConnection, logger: Logger,
        _ work: @escaping @Sendable () async throws -> Value, noAnswer: @escaping @Sendable () -> LedgerError
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let waiting = Caller(continuation)
            let deadline = Task {
                try await Task.sleep(for: timeout)
                guard let caller = waiting.take() else { return }
                logger.warning(
                    "a pooled PostgreSQL connection of the ledger gave no answer in time; closing it",
                    metadata: ["timeout": "\(timeout)"])
                // Closed before the caller is answered: answered first, the caller hands the connection back to the
                // pool while it is still open, and the next lease queues its query behind the one never answered.
                // (A local close: the channel closes at once, whatever the peer does.)
                try? await connection.close()
                caller.resume(throwing: noAnswer())
            }
            Task {
                let result: Result<Value, any Error>
                do {
                    result = .success(try await work())
                } catch {
                    result = .failure(error)
                }
                deadline.cancel()
                waiting.take()?.resume(with: result)
            }
        }
    }

    /// The caller's continuation, taken by the first of the work and the deadline.
    private final class Caller<Value: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<Value, any Error>?>

        init(_ continuation: CheckedContinuation<Value, any Error>) {
            self.continuation = Mutex(continuation)
        }

        func take() -> CheckedContinuation<Value, any Error>? {
            continuation.withLock { $0.take() }
        }
    }
}
