public import ScryptexPostgres
public import ScryptexTenancy

/// The business-intelligence tables, in every tenant's schema (after compliance's: the facts are
/// derived from booked trades).
///
/// Applied migrations must never be edited: add a new one.
public enum BIMigrations {
    /// The webhook secret of a scheduled report, sealed with the tenant's data key (the server
    /// needs it back to sign each delivery).
    public static let sealedColumns: [SealedColumn] = [
        SealedColumn(table: "bi_reports", column: "webhook_secret_encrypted", field: "bi_reports.webhook_secret")
    ]

    public static let tenant = MigrationSet(
        name: "bi",
        migrations: [
            Migration(
                version: 1,
                name: "create_bi_facts_and_reports",
                sql: """
                    -- Each account's book per symbol, at average cost, as of the trades folded in so far.
                    CREATE TABLE bi_books (
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        symbol text NOT NULL,
                        book jsonb NOT NULL,
                        last_executed_at timestamptz NOT NULL,
                        last_trade_id uuid NOT NULL,
                        PRIMARY KEY (account_id, symbol)
                    );

                    -- Trading facts per account, symbol, venue, strategy and day: what reports group.
                    CREATE TABLE bi_daily_facts (
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        symbol text NOT NULL,
                        venue text NOT NULL,
                        strategy text NOT NULL,
                        day date NOT NULL,
                        trades bigint NOT NULL,
                        quantity numeric(38, 18) NOT NULL,
                        volume_usd numeric(38, 18) NOT NULL,
                        buy_volume_usd numeric(38, 18) NOT NULL,
                        sell_volume_usd numeric(38, 18) NOT NULL,
                        realised_usd numeric(38, 18) NOT NULL,
                        PRIMARY KEY (account_id, day, symbol, venue, strategy)
                    );

                    -- How far the facts have read the trades: the last booking folded in, and the
                    -- snapshot they were read in (the next sync reads only what it could not see).
                    CREATE TABLE bi_sync (
                        id integer PRIMARY KEY CHECK (id = 1),
                        cursor jsonb,
                        snapshot text,
                        synced_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- Report definitions; each generation is a run with its files.
                    CREATE TABLE bi_reports (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        definition jsonb NOT NULL,
                        schedule jsonb,
                        next_run_at timestamptz,
                        webhook_url text,
                        webhook_secret_encrypted bytea,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX bi_reports_account ON bi_reports (account_id, created_at);
                    CREATE INDEX bi_reports_due ON bi_reports (next_run_at) WHERE next_run_at IS NOT NULL;

                    CREATE TABLE bi_report_runs (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        report_id uuid NOT NULL REFERENCES bi_reports (id) ON DELETE CASCADE,
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'completed', 'failed')),
                        progress double precision NOT NULL DEFAULT 0,
                        period_from date NOT NULL,
                        period_to date NOT NULL,
                        error text,
                        job_id uuid,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        started_at timestamptz,
                        completed_at timestamptz,
                        CHECK ((status = 'failed') = (error IS NOT NULL))
                    );
                    CREATE INDEX bi_report_runs_report ON bi_report_runs (report_id, created_at);

                    -- A run's files, written once when it completes.
                    CREATE TABLE bi_report_files (
                        run_id uuid NOT NULL REFERENCES bi_report_runs (id) ON DELETE CASCADE,
                        format text NOT NULL CHECK (format IN ('json', 'csv', 'html', 'pdf')),
                        content bytea NOT NULL,
                        sha256 text NOT NULL,
                        render_milliseconds integer NOT NULL,
                        PRIMARY KEY (run_id, format)
                    );

                    -- Each completed run of a report with a webhook: one delivery, retried with
                    -- back-off until the tenant's system answers 2xx or the attempts run out.
                    CREATE TABLE bi_webhook_deliveries (
                        run_id uuid PRIMARY KEY REFERENCES bi_report_runs (id) ON DELETE CASCADE,
                        url text NOT NULL,
                        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                        attempts integer NOT NULL DEFAULT 0,
                        last_status integer,
                        last_error text,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        delivered_at timestamptz
                    );
                    """
            ),
            Migration(
                version: 2,
                name: "create_bi_strategy_books",
                sql: """
                    -- Each market-making strategy market's book, as of the fills folded into the facts
                    -- so far: how many, and the last one (when it filled, to the microsecond, and its id).
                    CREATE TABLE bi_strategy_books (
                        strategy_id uuid NOT NULL,
                        market text NOT NULL,
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        book jsonb NOT NULL,
                        folded bigint NOT NULL CHECK (folded > 0),
                        last_filled_micros bigint NOT NULL,
                        last_fill_id text NOT NULL,
                        PRIMARY KEY (strategy_id, market)
                    );
                    """
            ),
        ]
    )
}
