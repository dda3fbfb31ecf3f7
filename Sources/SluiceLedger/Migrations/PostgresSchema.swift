/// The PostgreSQL ledger's schema: tables prefixed `sluice_` (the database may be shared), one
/// migration per version, statements run one by one (the extended protocol takes one per query).
enum PostgresSchema {
    static let migrations: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE sluice_outcomes (
                    id BIGSERIAL PRIMARY KEY,
                    adapter TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    reason TEXT,
                    workflow_id TEXT,
                    source_position TEXT NOT NULL,
                    recorded_at TIMESTAMPTZ NOT NULL,
                    duplicates INTEGER NOT NULL DEFAULT 0,
                    body TEXT NOT NULL,
                    CONSTRAINT sluice_outcomes_key UNIQUE (adapter, idempotency_key)
                )
                """,
                "CREATE INDEX sluice_outcomes_by_time ON sluice_outcomes (recorded_at)",
                "CREATE INDEX sluice_outcomes_by_outcome ON sluice_outcomes (outcome, recorded_at)",
                "CREATE INDEX sluice_outcomes_by_reason ON sluice_outcomes (reason) WHERE reason IS NOT NULL",
                "CREATE INDEX sluice_outcomes_by_workflow ON sluice_outcomes (workflow_id) WHERE workflow_id IS NOT NULL",
                "CREATE INDEX sluice_outcomes_by_position ON sluice_outcomes (source_position)",
                """
                CREATE TABLE sluice_claims (
                    adapter TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    expires_at TIMESTAMPTZ NOT NULL,
                    PRIMARY KEY (adapter, idempotency_key)
                )
                """,
                """
                CREATE TABLE sluice_inbox (
                    id BIGSERIAL PRIMARY KEY,
                    adapter TEXT NOT NULL,
                    target TEXT NOT NULL,
                    headers TEXT NOT NULL,
                    body BYTEA NOT NULL,
                    received_at TIMESTAMPTZ NOT NULL
                )
                """,
                """
                CREATE TABLE sluice_dead_letters (
                    id BIGSERIAL PRIMARY KEY,
                    adapter TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    reason TEXT,
                    created_at TIMESTAMPTZ NOT NULL,
                    redriven_at TIMESTAMPTZ,
                    redrive_count INTEGER NOT NULL DEFAULT 0,
                    outcome TEXT NOT NULL,
                    commands TEXT NOT NULL,
                    delivery TEXT,
                    delivery_body BYTEA
                )
                """,
                "CREATE INDEX sluice_dead_letters_by_adapter ON sluice_dead_letters (adapter, created_at)",
                "CREATE INDEX sluice_dead_letters_by_time ON sluice_dead_letters (created_at)",
            ]
        )
    ]

    static var currentVersion: Int { migrations.last?.version ?? 0 }
}
