public import ScryptexPostgres

/// The market-making tables, in every tenant's schema (after the institutional module's: a
/// strategy belongs to an account).
///
/// Applied migrations must never be edited: add a new one.
public enum MarketMakingMigrations {
    public static let tenant = MigrationSet(
        name: "market_making",
        migrations: [
            Migration(
                version: 1,
                name: "create_market_making_strategies_markets_and_fills",
                sql: """
                    CREATE TABLE market_making_strategies (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'stopped')),
                        status_reason text,
                        definition jsonb NOT NULL,
                        version integer NOT NULL DEFAULT 1,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE UNIQUE INDEX market_making_strategies_name ON market_making_strategies (account_id, name);

                    -- Each market's live state: the last tick, the volatility estimate, the inventory and P&L.
                    CREATE TABLE market_making_markets (
                        strategy_id uuid NOT NULL REFERENCES market_making_strategies (id),
                        market text NOT NULL,
                        estimator jsonb NOT NULL,
                        book jsonb NOT NULL,
                        mid double precision,
                        best_bid double precision,
                        best_ask double precision,
                        ticked_at timestamptz,
                        PRIMARY KEY (strategy_id, market)
                    );

                    -- Fills, once each: a fill id seen again changes nothing.
                    CREATE TABLE market_making_fills (
                        strategy_id uuid NOT NULL REFERENCES market_making_strategies (id),
                        fill_id text NOT NULL CHECK (length(fill_id) BETWEEN 1 AND 200),
                        market text NOT NULL,
                        side text NOT NULL CHECK (side IN ('buy', 'sell')),
                        price numeric(38, 18) NOT NULL CHECK (price > 0),
                        quantity numeric(38, 18) NOT NULL CHECK (quantity > 0),
                        fee numeric(38, 18) NOT NULL,
                        mid numeric(38, 18),
                        filled_at timestamptz NOT NULL,
                        recorded_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (strategy_id, fill_id)
                    );
                    """
            ),
            Migration(
                version: 2,
                name: "create_market_making_simulations",
                sql: """
                    CREATE TABLE market_making_simulations (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        strategy_id uuid NOT NULL REFERENCES market_making_strategies (id),
                        kind text NOT NULL CHECK (kind IN ('simulation', 'sweep')),
                        request jsonb NOT NULL,
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'completed', 'failed')),
                        progress double precision NOT NULL DEFAULT 0,
                        result jsonb,
                        error text,
                        job_id uuid,
                        requested_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        completed_at timestamptz,
                        CHECK ((status = 'completed') = (result IS NOT NULL))
                    );
                    CREATE INDEX market_making_simulations_strategy ON market_making_simulations (strategy_id, created_at);
                    """
            ),
            Migration(
                version: 3,
                name: "add_market_making_observed_trades",
                sql: """
                    -- The distances of recently observed market trades from the mid, for estimating κ.
                    ALTER TABLE market_making_markets
                        ADD COLUMN trades jsonb NOT NULL DEFAULT '{"distances": [], "since": null, "last": null}';
                    """
            ),
            Migration(
                version: 4,
                name: "create_market_making_events",
                sql: """
                    -- What the stream sends, in order: a client resumes after the last id it saw.
                    CREATE TABLE market_making_events (
                        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        strategy_id uuid NOT NULL REFERENCES market_making_strategies (id),
                        kind text NOT NULL,
                        data jsonb NOT NULL,
                        at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX market_making_events_strategy ON market_making_events (strategy_id, id);
                    """
            ),
            Migration(
                version: 5,
                name: "add_market_making_activity",
                sql: """
                    -- How much each market was quoted (live fill rate and time in market).
                    ALTER TABLE market_making_markets ADD COLUMN activity jsonb NOT NULL DEFAULT '{}';
                    -- Today's fills of an account's strategies (its daily notional limit).
                    CREATE INDEX market_making_fills_time ON market_making_fills (strategy_id, filled_at);
                    """
            ),
        ]
    )
}
