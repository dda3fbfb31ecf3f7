public import Foundation
public import SluiceCore

/// How the PostgreSQL ledger connects (`ledger: {type: postgres, url: …, password: …}`).
///
/// Several Sluice replicas may share one database: decisions are unique per adapter and idempotency
/// key in the database itself, and claims are rows with an expiry.
public struct PostgresLedgerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    /// Usually from `${env:…}` or a file; never logged.
    public var password: String?
    public var database: String
    /// Connections in the pool (default 8): one for the writer, the rest for queries.
    public var maxConnections: Int
    /// The most writes one transaction takes (default 2048).
    public var maxBatch: Int
    /// How long to wait for a connection (default 10s).
    public var connectTimeout: Duration
    /// How often a batch is retried after a lost connection or a deadlock before its callers fail (default 4).
    public var retries: Int
    public var dedupe: DedupePolicy
    /// How long the writer waits for the whole answer to one statement, every row of it, before it gives its
    /// connection up (default 75 s): a connection left half-open by a network cut or a failover never answers,
    /// or stops midway through a long result, and every write would wait behind it until the kernel gives up
    /// (~15 minutes). Longer than the sessions'
    /// `statement_timeout` (60 s), so that a statement the server is running is ended by the server first.
    /// The batch is then retried on a new connection, as after any lost connection.
    public var answerTimeout: Duration = .seconds(75)
    /// How long a statement waits for a row another session has locked (default 10 s; the sessions'
    /// `lock_timeout`): a replica frozen mid-transaction holds its locks until the server ends its session, and the
    /// writes to those keys fail at this deadline instead of waiting that long.
    public var lockTimeout: Duration = .seconds(10)
    /// Whether opening the ledger applies missing migrations (`sluice serve`; default). Queries (`sluice
    /// outcomes`, `sluice replay`) only check the version: a newer command-line tool must not upgrade a database
    /// that older servers share, which would then refuse to start.
    public var migrates = true
    /// The wall clock, injectable for tests of windows and expiry.
    public var now: @Sendable () -> Date
    /// Which clock claims are taken, renewed and expired by: the database server's (default), so that replicas
    /// whose clocks disagree still agree on when a claim ends; or ``ClaimClock/local``, ``now`` (tests that move
    /// time by hand).
    public var claimClock: ClaimClock = .database

    /// The clock of claims' expiry.
    public enum ClaimClock: Sendable {
        /// The PostgreSQL server's `clock_timestamp()`: one clock for every replica.
        case database
        /// This process's ``PostgresLedgerConfiguration/now``.
        case local
    }

    public init(
        host: String = "127.0.0.1", port: Int = 5432, username: String, password: String? = nil, database: String,
        maxConnections: Int = 8, maxBatch: Int = 2048, connectTimeout: Duration = .seconds(10), retries: Int = 4,
        dedupe: DedupePolicy = DedupePolicy(), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.maxConnections = maxConnections
        self.maxBatch = maxBatch
        self.connectTimeout = connectTimeout
        self.retries = retries
        self.dedupe = dedupe
        self.now = now
    }

    /// Reads `postgres://user[:password]@host[:port]/database`; `password` overrides the URL's.
    ///
    /// - Throws: ``LedgerError`` (`invalid_url`) naming what is missing; the message never repeats a password.
    public init(url: String, password: String? = nil) throws(LedgerError) {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty
        else {
            throw .fatal("invalid_url", "the ledger URL is not postgres://user@host[:port]/database")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .fatal("invalid_url", "the ledger URL names no user (postgres://user@host/database)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw .fatal("invalid_url", "the ledger URL names no database (postgres://user@host/database)")
        }
        self.init(
            host: host, port: components.port ?? 5432, username: user, password: password ?? components.password,
            database: database)
    }

    /// `host:port/database` for messages.
    public var endpoint: String { "\(host):\(port)/\(database)" }
}
