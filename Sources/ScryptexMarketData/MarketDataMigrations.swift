public import ScryptexPostgres

/// The market-data tables. Platform-wide bars live in their own schema, `market_data`, that every
/// role may read (tenants read it inside their own transactions) and only the host's login role,
/// its owner, writes. A tenant's private datasets live in its schema.
///
/// Applied migrations must never be edited: add a new one.
public enum MarketDataMigrations {
    /// Run with the platform's migrations, after tenancy's.
    public static let platform = MigrationSet(
        name: "market_data",
        migrations: [
            Migration(
                version: 1,
                name: "create_market_data_store",
                sql: """
                    CREATE SCHEMA market_data;
                    GRANT USAGE ON SCHEMA market_data TO PUBLIC;

                    -- One series per symbol and timeframe; its last import's report.
                    CREATE TABLE market_data.series (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        symbol text NOT NULL,
                        timeframe text NOT NULL,
                        source text NOT NULL,
                        last_import jsonb,
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (symbol, timeframe)
                    );

                    -- time: when the bar opened, seconds since 1970 (UTC).
                    CREATE TABLE market_data.bars (
                        series_id uuid NOT NULL REFERENCES market_data.series (id) ON DELETE CASCADE,
                        time bigint NOT NULL,
                        open double precision NOT NULL CHECK (open > 0),
                        high double precision NOT NULL,
                        low double precision NOT NULL CHECK (low > 0),
                        close double precision NOT NULL CHECK (close > 0),
                        volume double precision NOT NULL CHECK (volume >= 0),
                        CHECK (high >= greatest(open, close) AND low <= least(open, close)),
                        PRIMARY KEY (series_id, time)
                    );

                    GRANT SELECT ON market_data.series, market_data.bars TO PUBLIC;
                    """
            )
        ]
    )

    /// In every tenant's schema: its private datasets.
    public static let tenant = MigrationSet(
        name: "market_data",
        migrations: [
            Migration(
                version: 1,
                name: "create_market_datasets",
                sql: """
                    CREATE TABLE market_datasets (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        name text NOT NULL UNIQUE,
                        symbol text NOT NULL,
                        timeframe text NOT NULL,
                        source text NOT NULL,
                        last_import jsonb,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE market_dataset_bars (
                        dataset_id uuid NOT NULL REFERENCES market_datasets (id) ON DELETE CASCADE,
                        time bigint NOT NULL,
                        open double precision NOT NULL CHECK (open > 0),
                        high double precision NOT NULL,
                        low double precision NOT NULL CHECK (low > 0),
                        close double precision NOT NULL CHECK (close > 0),
                        volume double precision NOT NULL CHECK (volume >= 0),
                        CHECK (high >= greatest(open, close) AND low <= least(open, close)),
                        PRIMARY KEY (dataset_id, time)
                    );
                    """
            )
        ]
    )
}
