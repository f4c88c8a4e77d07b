public import ScryptexPostgres

/// The quant suite's tables, in every tenant's schema (after the institutional module's: a
/// strategy belongs to an account).
///
/// Applied migrations must never be edited: add a new one.
public enum QuantMigrations {
    public static let tenant = MigrationSet(
        name: "quant",
        migrations: [
            Migration(
                version: 1,
                name: "create_quant_strategies_and_backtests",
                sql: """
                    CREATE TABLE quant_strategies (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        type text NOT NULL,
                        config jsonb NOT NULL,
                        risk_parameters jsonb NOT NULL,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        -- Deleted strategies are kept (their backtests refer to them), out of every list.
                        deleted_at timestamptz
                    );
                    CREATE UNIQUE INDEX quant_strategies_name ON quant_strategies (account_id, name)
                        WHERE deleted_at IS NULL;

                    CREATE TABLE quant_backtests (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        strategy_id uuid NOT NULL REFERENCES quant_strategies (id),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'completed', 'failed')),
                        -- What ran: the strategy as it was and the settings, so a later edit cannot change a result.
                        strategy jsonb NOT NULL,
                        settings jsonb NOT NULL,
                        data_source text NOT NULL,
                        result jsonb,
                        error text,
                        job_id uuid,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        started_at timestamptz,
                        completed_at timestamptz,
                        CHECK ((status = 'completed') = (result IS NOT NULL))
                    );
                    CREATE INDEX quant_backtests_strategy ON quant_backtests (strategy_id, created_at);
                    """
            ),
            Migration(
                version: 2,
                name: "create_quant_optimizations",
                sql: """
                    CREATE TABLE quant_optimizations (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        strategy_id uuid NOT NULL REFERENCES quant_strategies (id),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'completed', 'failed')),
                        strategy jsonb NOT NULL,
                        request jsonb NOT NULL,
                        data_source text NOT NULL,
                        result jsonb,
                        error text,
                        job_id uuid,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        completed_at timestamptz,
                        CHECK ((status = 'completed') = (result IS NOT NULL))
                    );
                    """
            ),
        ]
    )
}
