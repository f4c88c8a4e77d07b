public import ScryptexPostgres

/// The compliance module's tables: the sanctions lists in `platform`; the instrument master,
/// positions, trades, orders, compliance records, reports, transfers and alerts in every
/// tenant's schema (they refer to institutional accounts).
///
/// Applied migrations must never be edited: add a new one.
public enum ComplianceMigrations {
    /// In the `platform` schema.
    public static let platform = MigrationSet(
        name: "compliance",
        migrations: [
            Migration(
                version: 1,
                name: "create_sanctions_lists",
                sql: """
                    CREATE TABLE sanctions_list_versions (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        source text NOT NULL CHECK (source IN ('ofac_sdn', 'ofac_consolidated', 'un_consolidated')),
                        loaded_at timestamptz NOT NULL DEFAULT now(),
                        loaded_by text NOT NULL,
                        checksum text NOT NULL,
                        entry_count integer NOT NULL CHECK (entry_count > 0),
                        active boolean NOT NULL DEFAULT false
                    );
                    CREATE UNIQUE INDEX sanctions_one_active_version ON sanctions_list_versions (source) WHERE active;

                    CREATE TABLE sanctions_entries (
                        version_id uuid NOT NULL REFERENCES sanctions_list_versions (id) ON DELETE CASCADE,
                        identifier text NOT NULL,
                        entry jsonb NOT NULL,
                        PRIMARY KEY (version_id, identifier)
                    );
                    """
            )
        ]
    )

    /// In every tenant's schema, after institutional's.
    public static let tenant = MigrationSet(
        name: "compliance",
        migrations: [
            Migration(
                version: 1,
                name: "compliance_trading_records",
                sql: """
                    -- The tenant's instrument master: what it trades and with what precision.
                    CREATE TABLE instruments (
                        symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9]{2,12}/[A-Z0-9]{2,12}$'),
                        price_decimals integer NOT NULL CHECK (price_decimals BETWEEN 0 AND 18),
                        quantity_decimals integer NOT NULL CHECK (quantity_decimals BETWEEN 0 AND 18),
                        is_13f_security boolean NOT NULL DEFAULT false,
                        cusip text,
                        issuer_name text,
                        title_of_class text
                    );
                    INSERT INTO instruments (symbol, price_decimals, quantity_decimals) VALUES
                        ('BTC/USD', 2, 8), ('BTC/USDC', 2, 8), ('BTC/USDT', 2, 8), ('ETH/USD', 2, 8), ('ETH/USDC', 2, 8),
                        ('ETH/USDT', 2, 8), ('ETH/BTC', 8, 8), ('SOL/USDC', 4, 6), ('SOL/USD', 4, 6);

                    CREATE TABLE positions (
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        symbol text NOT NULL REFERENCES instruments (symbol),
                        quantity numeric(38, 18) NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (account_id, symbol)
                    );

                    CREATE TABLE trades (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        symbol text NOT NULL REFERENCES instruments (symbol),
                        side text NOT NULL CHECK (side IN ('buy', 'sell')),
                        quantity numeric(38, 18) NOT NULL CHECK (quantity > 0),
                        price numeric(38, 18) NOT NULL CHECK (price > 0),
                        notional numeric(38, 18) NOT NULL,
                        venue text,
                        counterparty text,
                        arrival_price numeric(38, 18),
                        executed_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX trades_account_time ON trades (account_id, executed_at);
                    CREATE INDEX trades_symbol_time ON trades (symbol, executed_at);

                    CREATE TABLE open_orders (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        symbol text NOT NULL REFERENCES instruments (symbol),
                        side text NOT NULL CHECK (side IN ('buy', 'sell')),
                        price numeric(38, 18) NOT NULL CHECK (price > 0),
                        quantity numeric(38, 18) NOT NULL CHECK (quantity > 0),
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX open_orders_symbol ON open_orders (symbol, account_id);

                    CREATE TABLE restricted_instruments (
                        symbol text PRIMARY KEY REFERENCES instruments (symbol),
                        reason text NOT NULL,
                        added_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE reference_prices (
                        symbol text PRIMARY KEY REFERENCES instruments (symbol),
                        price numeric(38, 18) NOT NULL CHECK (price > 0),
                        as_of timestamptz NOT NULL DEFAULT now()
                    );

                    -- Every compliance decision, with its inputs and each rule's outcome.
                    CREATE TABLE compliance_records (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid REFERENCES institutional_accounts (id) ON DELETE SET NULL,
                        kind text NOT NULL,
                        decision text NOT NULL CHECK (decision IN ('approved', 'rejected', 'review')),
                        request jsonb NOT NULL,
                        outcome jsonb NOT NULL,
                        checked_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX compliance_records_account ON compliance_records (account_id, created_at);
                    """
            ),
            Migration(
                version: 2,
                name: "regulatory_reports",
                sql: """
                    CREATE TABLE regulatory_reports (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        report_type text NOT NULL,
                        period text NOT NULL,
                        due_date date NOT NULL,
                        status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
                        requested_by text NOT NULL,
                        job_id uuid,
                        document text,
                        content_type text,
                        checksum text,
                        summary jsonb,
                        error text,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        completed_at timestamptz
                    );
                    CREATE INDEX regulatory_reports_account ON regulatory_reports (account_id, created_at);
                    """
            ),
            Migration(
                version: 3,
                name: "aml_monitoring",
                sql: """
                    CREATE TABLE account_transfers (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        direction text NOT NULL CHECK (direction IN ('deposit', 'withdrawal')),
                        asset text NOT NULL,
                        amount numeric(38, 18) NOT NULL CHECK (amount > 0),
                        usd_value numeric(38, 2) NOT NULL CHECK (usd_value >= 0),
                        counterparty_name text,
                        wallet_address text,
                        counterparty_country text CHECK (counterparty_country ~ '^[A-Z]{2}$'),
                        occurred_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX account_transfers_account_time ON account_transfers (account_id, occurred_at);

                    CREATE TABLE compliance_alerts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid REFERENCES institutional_accounts (id) ON DELETE SET NULL,
                        kind text NOT NULL,
                        severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
                        status text NOT NULL CHECK (status IN ('open', 'assigned', 'escalated', 'closed')),
                        assignee text,
                        summary text NOT NULL,
                        details jsonb NOT NULL DEFAULT '{}',
                        close_reason text,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX compliance_alerts_status ON compliance_alerts (status, created_at);
                    """
            ),
            Migration(
                version: 4,
                name: "mifir_identifiers_and_trade_cancellation",
                sql: """
                    ALTER TABLE instruments ADD COLUMN isin text CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$');
                    ALTER TABLE trades ADD COLUMN cancelled_at timestamptz;
                    """
            ),
            Migration(
                version: 5,
                name: "position_reports",
                sql: """
                    ALTER TABLE instruments ADD COLUMN reportable_level numeric(38, 18) CHECK (reportable_level > 0);
                    ALTER TABLE regulatory_reports ADD COLUMN document_csv text;
                    """
            ),
            Migration(
                version: 6,
                name: "derivative_instruments",
                sql: """
                    ALTER TABLE instruments ADD COLUMN is_derivative boolean NOT NULL DEFAULT false;
                    """
            ),
            Migration(
                version: 7,
                name: "trade_amendments",
                sql: """
                    ALTER TABLE trades ADD COLUMN amended_at timestamptz;
                    """
            ),
            Migration(
                version: 8,
                name: "market_price_history",
                sql: """
                    CREATE TABLE market_prices (
                        symbol text NOT NULL REFERENCES instruments (symbol),
                        as_of timestamptz NOT NULL,
                        price numeric(38, 18) NOT NULL CHECK (price > 0),
                        recorded_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (symbol, as_of)
                    );
                    INSERT INTO market_prices (symbol, as_of, price) SELECT symbol, as_of, price FROM reference_prices;

                    -- Why a trade was cancelled: a bust (erroneous, as if never executed) or an early
                    -- termination (it stood until cancelled). Cancellations before this were
                    -- reported as terminations, and stay so.
                    ALTER TABLE trades ADD COLUMN cancellation text CHECK (cancellation IN ('bust', 'termination'));
                    UPDATE trades SET cancellation = 'termination' WHERE cancelled_at IS NOT NULL;
                    ALTER TABLE trades
                        ADD CONSTRAINT trades_cancellation_given CHECK ((cancelled_at IS NULL) = (cancellation IS NULL));
                    -- The order trades were booked in (several can share an execution time).
                    ALTER TABLE trades ADD COLUMN booked_at timestamptz NOT NULL DEFAULT clock_timestamp();
                    """
            ),
            Migration(
                version: 9,
                name: "fx_rates_and_usd_notional",
                sql: """
                    -- What one unit of a currency (EUR, or BTC, or a stablecoin such as USDC, which is
                    -- not USD) was worth in US dollars, with the time it held.
                    CREATE TABLE fx_rates (
                        currency text NOT NULL CHECK (currency ~ '^[A-Z0-9]{2,10}$'),
                        as_of timestamptz NOT NULL,
                        usd_per_unit numeric(38, 18) NOT NULL CHECK (usd_per_unit > 0),
                        recorded_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (currency, as_of)
                    );
                    -- A trade's notional in US dollars at booking (null: no rate then), so today's
                    -- totals add like with like.
                    ALTER TABLE trades ADD COLUMN notional_usd numeric(38, 18);
                    UPDATE trades SET notional_usd = notional WHERE split_part(symbol, '/', 2) = 'USD';
                    """
            ),
            Migration(
                version: 10,
                name: "orders",
                sql: """
                    -- Orders entered through the host: checked in their own transaction, held for a
                    -- second person's review, resting while open, filled by booked trades.
                    CREATE TABLE orders (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        client_order_id text NOT NULL CHECK (length(client_order_id) BETWEEN 1 AND 64),
                        symbol text NOT NULL REFERENCES instruments (symbol),
                        side text NOT NULL CHECK (side IN ('buy', 'sell')),
                        order_type text NOT NULL CHECK (order_type IN ('limit', 'market')),
                        time_in_force text NOT NULL CHECK (time_in_force IN ('gtc', 'day')),
                        quantity numeric(38, 18) NOT NULL CHECK (quantity > 0),
                        limit_price numeric(38, 18) CHECK (limit_price > 0),
                        check_price numeric(38, 18) NOT NULL CHECK (check_price > 0),
                        venue text,
                        counterparty text,
                        status text NOT NULL
                            CHECK (status IN ('rejected', 'held', 'open', 'filled', 'cancelled', 'declined', 'expired')),
                        filled_quantity numeric(38, 18) NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
                        check_id uuid NOT NULL,
                        submitted_by text NOT NULL,
                        decided_by text,
                        expires_at timestamptz,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (account_id, client_order_id),
                        CHECK ((order_type = 'limit') = (limit_price IS NOT NULL)),
                        CHECK (filled_quantity <= quantity)
                    );
                    CREATE INDEX orders_open ON orders (symbol, account_id) WHERE status = 'open';
                    ALTER TABLE trades ADD COLUMN order_id uuid REFERENCES orders (id);
                    -- Resting orders are the open orders now; the old table never had a writer.
                    DROP TABLE open_orders;
                    """
            ),
            Migration(
                version: 11,
                name: "critical_alerts",
                sql: """
                    -- A trade booked against the controls (kill switch, KYC, limits) is critical.
                    ALTER TABLE compliance_alerts DROP CONSTRAINT compliance_alerts_severity_check,
                        ADD CONSTRAINT compliance_alerts_severity_check
                            CHECK (severity IN ('low', 'medium', 'high', 'critical'));
                    """
            ),
            Migration(
                version: 12,
                name: "reportable_trade_details",
                sql: """
                    -- What transaction and trade reports need of a trade beyond its economics.
                    ALTER TABLE trades
                        ADD COLUMN capacity text NOT NULL DEFAULT 'DEAL' CHECK (capacity IN ('DEAL', 'MTCH', 'AOTC')),
                        ADD COLUMN short_selling text CHECK (short_selling IN ('SESH', 'SSEX', 'SELL', 'UNDI')),
                        ADD COLUMN decision_maker jsonb,
                        ADD COLUMN executing_person jsonb,
                        ADD COLUMN counterparty_lei text CHECK (counterparty_lei ~ '^[A-Z0-9]{18}[0-9]{2}$'),
                        ADD COLUMN ccp_lei text CHECK (ccp_lei ~ '^[A-Z0-9]{18}[0-9]{2}$'),
                        ADD COLUMN aggregated boolean NOT NULL DEFAULT false,
                        ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
                    -- Orders carry the reporting details their fills book.
                    ALTER TABLE orders ADD COLUMN reporting jsonb;

                    -- Each amendment of a trade, with the figures it replaced: version n's
                    -- reports cancel version n - 1's.
                    CREATE TABLE trade_amendments (
                        trade_id uuid NOT NULL REFERENCES trades (id) ON DELETE CASCADE,
                        version integer NOT NULL CHECK (version >= 2),
                        previous_quantity numeric(38, 18) NOT NULL,
                        previous_price numeric(38, 18) NOT NULL,
                        quantity numeric(38, 18) NOT NULL,
                        price numeric(38, 18) NOT NULL,
                        amended_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (trade_id, version)
                    );

                    -- Derivative terms (contract type, asset class, identifiers, underlying,
                    -- maturity, option terms, multiplier) and where an instrument is reportable.
                    ALTER TABLE instruments
                        ADD COLUMN derivative_terms jsonb,
                        ADD COLUMN traded_in_eea boolean NOT NULL DEFAULT false,
                        ADD COLUMN cftc_reportable boolean NOT NULL DEFAULT false;

                    -- Trading venues by ISO 10383 market identifier code, with their country (an
                    -- EEA venue puts its trades in MiFIR's scope). Tenants add the venues they use.
                    CREATE TABLE trading_venues (
                        mic text PRIMARY KEY CHECK (mic ~ '^[A-Z0-9]{4}$'),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                        country text CHECK (country ~ '^[A-Z]{2}$'),
                        added_at timestamptz NOT NULL DEFAULT now()
                    );
                    INSERT INTO trading_venues (mic, name, country) VALUES
                        ('XOFF', 'Off venue (RTS 22)', NULL),
                        ('XXXX', 'No venue (EMIR, off venue)', NULL),
                        ('XNAS', 'Nasdaq', 'US'), ('XNYS', 'New York Stock Exchange', 'US'),
                        ('ARCX', 'NYSE Arca', 'US'), ('XCME', 'Chicago Mercantile Exchange', 'US'),
                        ('XCBT', 'Chicago Board of Trade', 'US'), ('XNYM', 'New York Mercantile Exchange', 'US'),
                        ('XCBO', 'Cboe Options Exchange', 'US'), ('XETR', 'Xetra', 'DE'),
                        ('XFRA', 'Boerse Frankfurt', 'DE'), ('XEUR', 'Eurex Deutschland', 'DE'),
                        ('XPAR', 'Euronext Paris', 'FR'), ('XAMS', 'Euronext Amsterdam', 'NL'),
                        ('XBRU', 'Euronext Brussels', 'BE'), ('XLIS', 'Euronext Lisbon', 'PT'),
                        ('XMIL', 'Euronext Milan', 'IT'), ('XDUB', 'Euronext Dublin', 'IE'),
                        ('XMAD', 'Bolsa de Madrid', 'ES'), ('XWBO', 'Wiener Boerse', 'AT'),
                        ('XHEL', 'Nasdaq Helsinki', 'FI'), ('XSTO', 'Nasdaq Stockholm', 'SE'),
                        ('XCSE', 'Nasdaq Copenhagen', 'DK'), ('XOSL', 'Oslo Bors', 'NO'),
                        ('XWAR', 'Warsaw Stock Exchange', 'PL'), ('XLUX', 'Luxembourg Stock Exchange', 'LU'),
                        ('XLON', 'London Stock Exchange', 'GB'), ('XSWX', 'SIX Swiss Exchange', 'CH'),
                        ('XTKS', 'Tokyo Stock Exchange', 'JP'), ('XHKG', 'Hong Kong Exchanges', 'HK'),
                        ('XTSE', 'Toronto Stock Exchange', 'CA'), ('XASX', 'ASX', 'AU'),
                        ('XSES', 'Singapore Exchange', 'SG');
                    -- How a 13F manager holds an account's securities: investment discretion and who
                    -- votes them (Form 13F information table columns 6 and 8).
                    CREATE TABLE form_13f_profiles (
                        account_id uuid PRIMARY KEY REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        investment_discretion text NOT NULL CHECK (investment_discretion IN ('SOLE', 'DFND', 'OTR')),
                        voting_authority text NOT NULL CHECK (voting_authority IN ('sole', 'shared', 'none')),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- Venues booked before were free text: a MIC-shaped one is kept in capitals.
                    UPDATE trades SET venue = upper(venue) WHERE venue ~* '^[A-Z0-9]{4}$';
                    """
            ),
            Migration(
                version: 13,
                name: "form_13f_cover_page",
                sql: """
                    -- The filing manager and signatory a Form 13F cover page names, per CIK.
                    CREATE TABLE form_13f_managers (
                        cik text PRIMARY KEY CHECK (cik ~ '^[0-9]{10}$'),
                        profile jsonb NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    -- The primary document (cover and summary pages) beside the information table.
                    ALTER TABLE regulatory_reports ADD COLUMN document_cover text;
                    """
            ),
            Migration(
                version: 14,
                name: "index_trades_by_booking_and_change",
                sql: """
                    -- Readers that follow the trades as they are booked, cancelled or amended
                    -- (business intelligence's facts) find what changed without a full scan.
                    CREATE INDEX trades_booked ON trades (booked_at, id);
                    CREATE INDEX trades_cancelled ON trades (cancelled_at) WHERE cancelled_at IS NOT NULL;
                    CREATE INDEX trades_amended ON trades (amended_at) WHERE amended_at IS NOT NULL;
                    """
            ),
        ]
    )
}
