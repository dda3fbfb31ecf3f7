import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SluiceCore
import Synchronization

/// The writer's own connection to PostgreSQL, outside the pool.
///
/// PostgresNIO never answers a query written after its connection closed (the write fails with no
/// promise to fail), which would stall the writer forever. Every query here is raced against the
/// connection's close: when the server drops the connection (restart, `pg_terminate_backend`, a
/// network cut), the queries in flight fail at once, and the writer opens a new connection and
/// retries the batch. A query not answered in full, every row read, within ``answerTimeout`` closes the
/// connection itself: a connection left half-open (the peer gone without a word) would otherwise never
/// close, whether it stalls before the first row or in the middle of a long result.
final class PostgresWriterConnection: Sendable {
    private struct State {
        var closed = false
        var nextID: UInt64 = 0
        var pending: [UInt64: CheckedContinuation<[PostgresRow], any Error>] = [:]
    }

    let connection: PostgresConnection
    let answerTimeout: Duration
    private let state = Mutex(State())

    private init(connection: PostgresConnection, answerTimeout: Duration) {
        self.connection = connection
        self.answerTimeout = answerTimeout
    }

    static func connect(
        _ configuration: PostgresConnection.Configuration, answerTimeout: Duration, logger: Logger
    ) async throws -> PostgresWriterConnection {
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
        ).get()
        let writer = PostgresWriterConnection(connection: connection, answerTimeout: answerTimeout)
        connection.closeFuture.whenComplete { _ in writer.failAll() }
        return writer
    }

    var isClosed: Bool { state.withLock { $0.closed } || connection.isClosed }

    /// Runs a query and reads all its rows, within ``answerTimeout``; fails with ``closedError`` as soon as the
    /// connection closes.
    ///
    /// The rows are read here, not by the caller: PostgresNIO returns a query's row sequence as soon as the rows'
    /// description arrives, and a result cut off by a half-open connection after that would otherwise be waited
    /// for with no deadline.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withCheckedThrowingContinuation { continuation in
            let id: UInt64? = state.withLock { state in
                guard !state.closed else { return nil }
                state.nextID += 1
                state.pending[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume(throwing: Self.closedError)
                return
            }
            let connection = self.connection
            let watchdog = Task { [answerTimeout] in
                try await Task.sleep(for: answerTimeout)
                guard self.state.withLock({ $0.pending[id] != nil }) else { return }
                logger.warning(
                    "the ledger's PostgreSQL connection gave no answer in time; closing it",
                    metadata: ["timeout": "\(answerTimeout)"])
                await self.close()
            }
            Task {
                let result: Result<[PostgresRow], any Error>
                do {
                    result = .success(try await connection.query(query, logger: logger).collect())
                } catch {
                    result = .failure(error)
                }
                watchdog.cancel()
                self.state.withLock { $0.pending.removeValue(forKey: id) }?.resume(with: result)
            }
        }
    }

    func close() async {
        failAll()
        try? await connection.close()
    }

    static let closedError = LedgerError.retryable("connection", "the writer's connection to PostgreSQL closed")

    private func failAll() {
        let pending = state.withLock { state in
            state.closed = true
            defer { state.pending = [:] }
            return state.pending
        }
        for continuation in pending.values {
            continuation.resume(throwing: Self.closedError)
        }
    }
}

extension [PostgresRow] {
    /// Each row's columns decoded as `columnType`: the read rows' counterpart of `PostgresRowSequence.decode`.
    func decode<each Column: PostgresDecodable>(_ columnType: (repeat each Column).Type) throws
        -> [(repeat each Column)]
    {
        try map { try $0.decode(columnType) }
    }
}
