import Foundation
public import Logging
import NIOCore
import NIOPosix
import PostgresNIO
public import SluiceCore
import Synchronization

/// The ledger for several replicas: one PostgreSQL database shared by all of them.
///
/// Decisions are unique per adapter and idempotency key in the database (`UNIQUE` constraint), so
/// two replicas racing on one key store one decision, and the loser is answered with it. Writes are
/// group-committed like the SQLite ledger's: one writer task per process takes every waiting write
/// into one transaction of a few statements (`unnest` arrays), and resumes the callers after `COMMIT`.
/// A batch that fails with a lost connection or a deadlock is retried whole: every statement in it
/// is idempotent, so a batch whose `COMMIT` reached the server before the connection dropped is not
/// doubled.
///
/// Use ``withLedger(_:logger:_:)``, or ``connect(_:logger:)`` then ``run()`` in a long-running task.
public final class PostgresLedger: OutcomeLedger {
    public let configuration: PostgresLedgerConfiguration
    let client: PostgresClient
    let logger: Logger
    private let queue = Mutex(WriterQueue())
    private let writer = Mutex<PostgresWriterConnection?>(nil)
    /// The newest id past `max_outcomes`, for the batches of a pruning run after the one that found it.
    let pruneThreshold = PruneThreshold()

    struct WriterQueue {
        var jobs: [PostgresWriteJob] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private init(configuration: PostgresLedgerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var clientConfiguration = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
        clientConfiguration.options.maximumConnections = max(2, configuration.maxConnections)
        clientConfiguration.options.connectTimeout = configuration.connectTimeout
        clientConfiguration.options.additionalStartupParameters = Self.sessionLimits(configuration)
        client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    }

    /// Checks that the server can be reached with these credentials, without starting anything.
    ///
    /// - Returns: a ledger to ``run()``; it migrates the schema when it starts.
    /// - Throws: ``LedgerError``: refused connection, wrong password, unknown database.
    public static func connect(_ configuration: PostgresLedgerConfiguration, logger: Logger) async throws(LedgerError)
        -> PostgresLedger
    {
        do {
            let connection = try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(),
                configuration: PostgresConnection.Configuration(
                    host: configuration.host, port: configuration.port, username: configuration.username,
                    password: configuration.password, database: configuration.database, tls: .disable),
                id: 0, logger: logger
            ).get()
            try await connection.close()
        } catch {
            throw classify(error, configuration: configuration)
        }
        return PostgresLedger(configuration: configuration, logger: logger)
    }

    /// Connects, migrates, runs the ledger for the duration of `body`, then stops it.
    public static func withLedger<Value: Sendable>(
        _ configuration: PostgresLedgerConfiguration, logger: Logger,
        _ body: (PostgresLedger) async throws -> Value
    ) async throws -> Value {
        let ledger = try await connect(configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await ledger.run() }
            do {
                if configuration.migrates { try await ledger.migrate() } else { try await ledger.checkSchema() }
                let value = try await body(ledger)
                group.cancelAll()
                return value
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Runs the connection pool and the writer until the task is cancelled; queued writes fail as
    /// `closed` after that.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            await withTaskCancellationHandler {
                await runWriter()
            } onCancel: {
                self.close()
                // A batch waiting on a stuck server would otherwise keep the writer (and shutdown) waiting.
                if let connection = self.writer.withLock({ $0 }) { Task { await connection.close() } }
            }
            group.cancelAll()
        }
    }

    /// Limits every Sluice session sets at connect (startup parameters, so pooled connections get them
    /// too). Without them, a replica frozen mid-transaction (paused VM, network partition) holds its row
    /// locks until the server's TCP keepalive gives up (hours by default), and every other replica's
    /// writes to those keys wait as long, behind which their whole write queue and their shutdown wait.
    /// The errors these raise (`55P03`, `57014`, `25P03`) are retryable; a batch failed by a lock or statement timeout
    /// runs its writes alone at once (see ``commit(_:)``).
    static func sessionLimits(_ configuration: PostgresLedgerConfiguration) -> [(String, String)] {
        let lockTimeout = configuration.lockTimeout.components
        let milliseconds = max(1, lockTimeout.seconds * 1_000 + lockTimeout.attoseconds / 1_000_000_000_000_000)
        return [
            ("lock_timeout", "\(milliseconds)ms"), ("statement_timeout", "60s"), ("idle_in_transaction_session_timeout", "60s"),
        ]
    }

    /// Checks the schema version and applies missing migrations, under a lock so that replicas
    /// starting together migrate once.
    ///
    /// - Throws: ``LedgerError`` `schema_too_new` when the database was migrated by a newer Sluice.
    public func migrate() async throws(LedgerError) {
        let configuration = self.configuration
        do {
            try await client.withTransaction(logger: logger) { connection in
                // Replicas starting together on a fresh database would otherwise race in CREATE TABLE (a
                // unique violation in the catalog) before the table lock below exists to take.
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS sluice_schema (version INTEGER NOT NULL)", logger: logger)
                try await connection.query("LOCK TABLE sluice_schema IN ACCESS EXCLUSIVE MODE", logger: logger)
                var version = 0
                for try await (value) in try await connection.query("SELECT coalesce(max(version), 0) FROM sluice_schema", logger: logger)
                    .decode(Int.self)
                {
                    version = value
                }
                if version > PostgresSchema.currentVersion {
                    throw LedgerError.fatal(
                        "schema_too_new",
                        "the ledger \(configuration.endpoint) has schema version \(version), newer than this sluice understands "
                            + "(\(PostgresSchema.currentVersion)); run a newer sluice (it is never downgraded)")
                }
                for migration in PostgresSchema.migrations where migration.version > version {
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO sluice_schema (version) VALUES (\(migration.version))", logger: logger)
                }
            }
        } catch {
            throw Self.classify(error, configuration: configuration)
        }
    }

    /// Checks, without changing anything, that the database holds this sluice's schema version.
    ///
    /// - Throws: ``LedgerError`` `no_schema` (no Sluice ledger there), `schema_too_old` (start `sluice serve` of
    ///   this version to migrate it) or `schema_too_new`.
    public func checkSchema() async throws(LedgerError) {
        let configuration = self.configuration
        let logger = self.logger
        let version: Int? = try await read { connection in
            for try await exists in try await connection.query("SELECT to_regclass('sluice_schema') IS NOT NULL", logger: logger)
                .decode(Bool.self)
            where exists {
                for try await value in try await connection.query(
                    "SELECT coalesce(max(version), 0) FROM sluice_schema", logger: logger
                ).decode(Int.self) {
                    return value
                }
            }
            return nil
        }
        let current = PostgresSchema.currentVersion
        guard let version, version > 0 else {
            throw .fatal("no_schema", "the database \(configuration.endpoint) holds no Sluice ledger (sluice serve creates it)")
        }
        if version > current {
            throw .fatal(
                "schema_too_new",
                "the ledger \(configuration.endpoint) has schema version \(version), newer than this sluice understands "
                    + "(\(current)); run a newer sluice")
        }
        if version < current {
            throw .fatal(
                "schema_too_old",
                "the ledger \(configuration.endpoint) has schema version \(version), older than this sluice's (\(current)); "
                    + "it is migrated only by sluice serve, so that the servers sharing it keep starting: use the sluice "
                    + "those servers run, or upgrade them first")
        }
    }

    // MARK: - The writer

    /// Queues a write and waits until its transaction committed.
    func write(_ work: PostgresWriteJob.Work) async throws(LedgerError) -> PostgresAnswer {
        let result = await withCheckedContinuation { continuation in
            let job = PostgresWriteJob(work: work, continuation: continuation)
            let waiter: CheckedContinuation<Void, Never>?? = queue.withLock { queue in
                guard !queue.closed else { return .none }
                queue.jobs.append(job)
                defer { queue.waiter = nil }
                return .some(queue.waiter)
            }
            switch waiter {
            case .none: continuation.resume(returning: .failure(Self.closedError))
            case .some(let waiter): waiter?.resume()
            }
        }
        return try result.get()
    }

    static let closedError = LedgerError.retryable("closed", "the ledger is not running")

    /// The advisory lock key of migrations ('SLCE').
    static let migrationLock: Int64 = 0x534C_4345

    private func close() {
        let (jobs, waiter) = queue.withLock { queue in
            queue.closed = true
            defer {
                queue.jobs = []
                queue.waiter = nil
            }
            return (queue.jobs, queue.waiter)
        }
        waiter?.resume()
        for job in jobs { job.continuation.resume(returning: .failure(Self.closedError)) }
    }

    private func nextBatch() async -> [PostgresWriteJob]? {
        while true {
            enum Next {
                case batch([PostgresWriteJob])
                case closed
                case wait
            }
            let limit = max(1, configuration.maxBatch)
            let next: Next = queue.withLock { queue in
                if !queue.jobs.isEmpty {
                    let taken = Array(queue.jobs.prefix(limit))
                    queue.jobs.removeFirst(taken.count)
                    return .batch(taken)
                }
                return queue.closed ? .closed : .wait
            }
            switch next {
            case .batch(let jobs): return jobs
            case .closed: return nil
            case .wait:
                await withCheckedContinuation { continuation in
                    let resumeNow = queue.withLock { queue in
                        if !queue.jobs.isEmpty || queue.closed { return true }
                        queue.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    private func runWriter() async {
        while let batch = await nextBatch() {
            await commit(batch)
        }
        if let connection = writer.withLock({ $0 }) { await connection.close() }
    }

    /// One batch in one transaction, retried whole on a lost connection or a deadlock.
    ///
    /// A batch that waited out a lock (`lock_timeout`) or a statement (`statement_timeout`) is not retried whole: the
    /// row is held by another session (a replica frozen mid-transaction holds it until the server ends its session,
    /// a minute later), and each retry would keep the single writer waiting as long again, the whole batch failing in
    /// the end. Its writes run alone at once instead, so that only the writes of the held rows fail (retryable: their
    /// callers try again later).
    private func commit(_ batch: [PostgresWriteJob]) async {
        var attempt = 0
        while true {
            do {
                let answers = try await transaction(batch)
                for (job, answer) in zip(batch, answers) { job.continuation.resume(returning: answer) }
                return
            } catch {
                let ledgerError = Self.classify(error, configuration: configuration)
                attempt += 1
                let waitedOut = Self.timedOutWaiting(error)
                if waitedOut && batch.count > 1 {
                    for job in batch { await commit([job]) }
                    return
                }
                if ledgerError.isRetryable && !waitedOut && attempt <= configuration.retries && !Task.isCancelled {
                    logger.warning(
                        "ledger batch failed, retrying", metadata: ["ledger.error": "\(ledgerError)", "ledger.attempt": "\(attempt)"])
                    try? await Task.sleep(for: .milliseconds(50 << min(attempt, 6)))
                    continue
                }
                if batch.count > 1 && Self.runsJobsAlone(after: error, classified: ledgerError) {
                    for job in batch { await commit([job]) }
                    return
                }
                for job in batch { job.continuation.resume(returning: .failure(ledgerError)) }
                return
            }
        }
    }

    /// Whether a batch's final failure is worth its jobs running alone: one bad job fails its batch, and the others
    /// should not fail with it. Not when the batch may have committed, nor when its transaction could not begin (a
    /// wrong password, an unknown database): each job alone would open a connection and fail the same way.
    private static func runsJobsAlone(after error: any Error, classified ledgerError: LedgerError) -> Bool {
        !ledgerError.isRetryable && ledgerError.reason != commitUnknown.reason && !(error is NotBegun)
    }

    /// Whether `error` is the server's `lock_timeout` or `statement_timeout` (`55P03`, `57014`).
    private static func timedOutWaiting(_ error: any Error) -> Bool {
        guard let error = cause(of: error) as? PSQLError, error.code == .server else { return false }
        return ["55P03", "57014"].contains(error.serverInfo?[.sqlState] ?? "")
    }

    /// The error under the writer's wrappers (``NotBegun``, PostgresNIO's transaction error).
    private static func cause(of error: any Error) -> any Error {
        if let error = error as? NotBegun { return cause(of: error.underlying) }
        if let error = error as? PostgresTransactionError,
            let inner = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError
        {
            return cause(of: inner)
        }
        return error
    }

    /// Why a batch's transaction could not begin (connecting, signing in, `BEGIN`): no job of it has run.
    struct NotBegun: Error {
        var underlying: any Error
    }

    /// The writer's connection, (re)opened when needed.
    private func writerConnection() async throws -> PostgresWriterConnection {
        if let current = writer.withLock({ $0 }), !current.isClosed { return current }
        let configuration = self.configuration
        var connectionConfiguration = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
        connectionConfiguration.options.additionalStartupParameters = Self.sessionLimits(configuration)
        let connection = try await PostgresWriterConnection.connect(
            connectionConfiguration, answerTimeout: configuration.answerTimeout, logger: logger)
        writer.withLock { $0 = connection }
        return connection
    }

    /// The writer's connection, in a transaction begun for a batch.
    ///
    /// - Throws: ``NotBegun`` with whatever connecting or `BEGIN` threw.
    private func begun() async throws -> PostgresWriterConnection {
        let connection: PostgresWriterConnection
        do {
            connection = try await writerConnection()
        } catch {
            throw NotBegun(underlying: error)
        }
        do {
            try await connection.query("BEGIN", logger: logger)
        } catch {
            await rollBack(on: connection)
            throw NotBegun(underlying: error)
        }
        return connection
    }

    private func transaction(_ batch: [PostgresWriteJob]) async throws -> [Result<PostgresAnswer, LedgerError>] {
        let connection = try await begun()
        do {
            // A batch that must not run twice (an inbox append, a re-drive) notes its transaction's id, so that a
            // lost answer to its COMMIT can be asked about instead of retried. Decisions need not: running them
            // again finds each one stored, with the same body; but one that counted a duplicate would count it
            // twice, so its batch notes the id too, once it knows (in the same transaction, before the COMMIT).
            var transactionID = batch.contains { !$0.work.isIdempotent } ? try await currentTransactionID(on: connection) : nil
            let answers = try await perform(batch, on: connection)
            if transactionID == nil, answers.contains(where: \.countedDuplicate) {
                transactionID = try await currentTransactionID(on: connection)
            }
            do {
                try await connection.query("COMMIT", logger: logger)
            } catch {
                // Asked whatever the connection's state: a reset may fail the COMMIT before the channel reads closed.
                guard let transactionID else { throw error }
                // Unknown fate (the server cannot be asked either): the batch fails rather than risk running twice.
                let done: Bool
                do { done = try await committed(transactionID) } catch { throw Self.commitUnknown }
                if done { return answers }
                throw error
            }
            return answers
        } catch {
            await rollBack(on: connection)
            throw error
        }
    }

    /// Ends a failed transaction, when its connection is still open to take the `ROLLBACK`.
    private func rollBack(on connection: PostgresWriterConnection) async {
        if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
    }

    private func currentTransactionID(on connection: PostgresWriterConnection) async throws -> Int64 {
        let ids = try await connection.query("SELECT txid_current()", logger: logger).decode(Int64.self)
        if let id = ids.first { return id }
        throw LedgerError.fatal("internal", "txid_current() returned no row")
    }

    /// Whether the transaction committed, asked on another connection once the server has finished it (a backend
    /// whose client vanished mid-COMMIT either commits or aborts; meanwhile it is `in progress`).
    ///
    /// - Throws: ``commitUnknown`` when the server still has it in progress after a few seconds: the batch is
    ///   failed rather than risked twice; whatever the query throws when the server cannot be asked.
    private func committed(_ transactionID: Int64) async throws -> Bool {
        for _ in 0..<100 {
            let logger = self.logger
            let status: String? = try await read { connection in
                var status: String?
                for try await value in try await connection.query("SELECT txid_status(\(transactionID))", logger: logger)
                    .decode(String?.self)
                {
                    status = value
                }
                return status
            }
            switch status {
            case "committed":
                logger.warning("the answer to a ledger COMMIT was lost; the server committed it", metadata: ["txid": "\(transactionID)"])
                return true
            case "in progress":
                try await Task.sleep(for: .milliseconds(50))
            default:
                return false  // aborted, or too old to know (then certainly not this batch's)
            }
        }
        throw Self.commitUnknown
    }

    /// The fate of a batch's COMMIT could not be learnt: its writes fail (the callers answer 503 or retry).
    static let commitUnknown = LedgerError.fatal(
        "commit_unknown", "the connection to PostgreSQL was lost during COMMIT and the transaction's fate is not known yet")

    // MARK: - Errors

    /// A ``LedgerError`` for whatever PostgresNIO threw, never quoting a password.
    static func classify(_ error: any Error, configuration: PostgresLedgerConfiguration) -> LedgerError {
        let error = cause(of: error)
        if let error = error as? LedgerError { return error }
        let endpoint = configuration.endpoint
        guard let error = error as? PSQLError else {
            return .retryable("connection", "the ledger \(endpoint) failed: \(String(reflecting: error))")
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "server error"
            switch state {
            case "28P01", "28000":
                return .fatal(
                    "authentication", "PostgreSQL at \(endpoint) refused user '\(configuration.username)': \(message)")
            case "3D000": return .fatal("unknown_database", "PostgreSQL at \(endpoint): \(message)")
            case "40001", "40P01", "55P03", "57014", "25P03":
                return .retryable("conflict", "PostgreSQL at \(endpoint): \(message) (\(state))")
            case "53100", "53200", "53300", "57P01", "57P02", "57P03", "08000", "08003", "08006":
                return .retryable("unavailable", "PostgreSQL at \(endpoint): \(message) (\(state))")
            default:
                return .fatal("server", "PostgreSQL at \(endpoint): \(message) (\(state))")
            }
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return .retryable("connection", "lost the connection to PostgreSQL at \(endpoint) (\(error.code))")
        case .authMechanismRequiresPassword:
            return .fatal("authentication", "PostgreSQL at \(endpoint) asks for a password and none is configured")
        default:
            return .fatal("postgres", "PostgreSQL at \(endpoint) failed: \(error.code)")
        }
    }

    var now: Date { configuration.now() }

    /// The instant claims are measured from, for a query's parameter: nil with the database's clock, where the
    /// query reads `coalesce(<this>, clock_timestamp())`.
    var claimNow: Date? {
        switch configuration.claimClock {
        case .database: nil
        case .local: configuration.now()
        }
    }
}

/// One caller's part of a group-committed PostgreSQL transaction.
struct PostgresWriteJob: Sendable {
    enum Work: Sendable {
        /// A decision, handled with the batch's other decisions in a few array statements.
        case record(Outcome, LedgerCoding.Row, inboxID: Int64?, letter: LedgerCoding.DeadLetterRow?)
        /// Anything else, run alone inside the batch's transaction; `idempotent` when running it twice (a batch
        /// retried after its COMMIT's answer was lost) changes nothing more than running it once.
        case statements(
            idempotent: Bool = true, @Sendable (PostgresWriterConnection, Logger) async throws -> Result<PostgresAnswer, LedgerError>)

        var isIdempotent: Bool {
            switch self {
            case .record: true
            case .statements(let idempotent, _): idempotent
            }
        }
    }

    var work: Work
    var continuation: CheckedContinuation<Result<PostgresAnswer, LedgerError>, Never>
}

/// What a PostgreSQL write gives back.
extension Result<PostgresAnswer, LedgerError> {
    /// Whether this answer added to a decision's duplicate count (a write that must not run twice).
    var countedDuplicate: Bool {
        if case .success(.record(.alreadyDecided)) = self { true } else { false }
    }
}

enum PostgresAnswer: Sendable {
    case record(RecordResult)
    case claim(ClaimResult)
    case renewal(ClaimRenewal)
    case id(Int64)
    case prune(PruneResult)
    case done
}
