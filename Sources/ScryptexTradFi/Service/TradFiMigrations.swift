public import ScryptexPostgres

/// The traditional-finance tables, in every tenant's schema (after the institutional module's:
/// a broker session books to an account).
///
/// Applied migrations must never be edited: add a new one.
public enum TradFiMigrations {
    public static let tenant = MigrationSet(
        name: "tradfi",
        migrations: [
            Migration(
                version: 1,
                name: "create_tradfi_broker_sessions_and_fix_messages",
                sql: """
                    -- A FIX session to a prime broker: where, who we are to it, and where it stands.
                    CREATE TABLE tradfi_broker_sessions (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        host text NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
                        port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
                        sender_comp_id text NOT NULL CHECK (length(sender_comp_id) BETWEEN 1 AND 64),
                        target_comp_id text NOT NULL CHECK (length(target_comp_id) BETWEEN 1 AND 64),
                        tls boolean NOT NULL DEFAULT true,
                        -- PEM of the authorities that sign the broker's certificate (null: the system's).
                        trusted_certificates text,
                        heartbeat_seconds integer NOT NULL DEFAULT 30 CHECK (heartbeat_seconds BETWEEN 5 AND 300),
                        schedule jsonb,
                        enabled boolean NOT NULL DEFAULT true,
                        status text NOT NULL DEFAULT 'disconnected'
                            CHECK (status IN ('disconnected', 'connecting', 'logged_on', 'failed')),
                        status_detail text,
                        next_sender_seq bigint NOT NULL DEFAULT 1 CHECK (next_sender_seq >= 1),
                        next_target_seq bigint NOT NULL DEFAULT 1 CHECK (next_target_seq >= 1),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (host, port, sender_comp_id, target_comp_id)
                    );

                    -- Every message a session sent, under its number, for resends; written before
                    -- the message goes out.
                    CREATE TABLE tradfi_fix_messages (
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id) ON DELETE CASCADE,
                        sequence bigint NOT NULL CHECK (sequence >= 1),
                        message_type text NOT NULL,
                        message text NOT NULL,
                        sent_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (session_id, sequence)
                    );
                    """
            ),
            Migration(
                version: 2,
                name: "create_tradfi_orders_and_executions",
                sql: """
                    -- Which host holds each session's connection (one at a time, renewed while held).
                    ALTER TABLE tradfi_broker_sessions
                        ADD COLUMN held_by text,
                        ADD COLUMN held_until timestamptz,
                        ADD COLUMN logged_on_at timestamptz;

                    -- The ClOrdID an order message carries: a message already stored for an order is
                    -- never sent a second time.
                    ALTER TABLE tradfi_fix_messages ADD COLUMN cl_ord_id text;
                    CREATE INDEX tradfi_fix_messages_cl_ord_id ON tradfi_fix_messages (session_id, cl_ord_id)
                        WHERE cl_ord_id IS NOT NULL;

                    -- An order routed to a broker: the compliance order it carries out (checked
                    -- there, filled there) and where it stands at the broker.
                    CREATE TABLE tradfi_orders (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        order_id uuid NOT NULL UNIQUE REFERENCES orders (id),
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        cl_ord_id text NOT NULL CHECK (length(cl_ord_id) BETWEEN 1 AND 64),
                        broker_order_id text,
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('held', 'queued', 'sent', 'acknowledged', 'partially_filled', 'filled',
                                              'cancelled', 'rejected', 'expired', 'not_sent')),
                        cumulative_quantity numeric(38, 18) NOT NULL DEFAULT 0 CHECK (cumulative_quantity >= 0),
                        average_price numeric(38, 18),
                        -- A cancel asked for: its own ClOrdID, who asked, and the broker's refusal if any.
                        cancel_cl_ord_id text UNIQUE,
                        cancel_requested_by text,
                        cancel_refused text,
                        detail text,
                        sent_at timestamptz,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (session_id, cl_ord_id)
                    );
                    CREATE INDEX tradfi_orders_due ON tradfi_orders (session_id)
                        WHERE status IN ('held', 'queued') OR (cancel_cl_ord_id IS NOT NULL AND cancel_refused IS NULL);

                    -- Every ExecutionReport received, once per ExecID: what makes booking idempotent
                    -- (a report resent after a reconnection finds its row and books nothing).
                    CREATE TABLE tradfi_executions (
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        exec_id text NOT NULL CHECK (length(exec_id) BETWEEN 1 AND 128),
                        tradfi_order_id uuid REFERENCES tradfi_orders (id),
                        exec_type text NOT NULL,
                        order_status text NOT NULL,
                        last_quantity numeric(38, 18),
                        last_price numeric(38, 18),
                        trade_id uuid REFERENCES trades (id),
                        note text,
                        message text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (session_id, exec_id)
                    );
                    CREATE INDEX tradfi_executions_order ON tradfi_executions (tradfi_order_id);

                    -- Positions the broker reports (PositionReport), kept as received for
                    -- reconciliation: the net quantity per symbol and business date.
                    CREATE TABLE tradfi_broker_positions (
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        report_id text NOT NULL,
                        symbol text NOT NULL,
                        quantity numeric(38, 18) NOT NULL,
                        business_date date,
                        message text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (session_id, report_id)
                    );
                    """
            ),
            Migration(
                version: 3,
                name: "create_tradfi_position_requests",
                sql: """
                    -- A RequestForPositions asked for over the API, sent by the session's holder; the
                    -- reports that answer it carry its PosReqID.
                    CREATE TABLE tradfi_position_requests (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        pos_req_id text NOT NULL UNIQUE,
                        requested_by text NOT NULL,
                        requested_at timestamptz NOT NULL DEFAULT now(),
                        sent_at timestamptz
                    );
                    CREATE INDEX tradfi_position_requests_due ON tradfi_position_requests (session_id)
                        WHERE sent_at IS NULL;
                    ALTER TABLE tradfi_broker_positions ADD COLUMN pos_req_id text;
                    """
            ),
            Migration(
                version: 4,
                name: "create_tradfi_credit_lines_and_margin_calls",
                sql: """
                    -- Credit extended to an account: over its whole exposure (no counterparty) or
                    -- with one counterparty until settled. Amounts in US dollars, as every limit is.
                    CREATE TABLE tradfi_credit_lines (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        counterparty text CHECK (length(counterparty) BETWEEN 1 AND 300),
                        credit_limit numeric(38, 2) NOT NULL CHECK (credit_limit > 0),
                        collateral numeric(38, 2) NOT NULL DEFAULT 0 CHECK (collateral >= 0),
                        -- The share of what is in use that collateral must cover.
                        maintenance_margin numeric(9, 6) NOT NULL DEFAULT 0.25
                            CHECK (maintenance_margin >= 0 AND maintenance_margin <= 1),
                        -- The share of the limit in use at which an alert is raised.
                        warning_share numeric(9, 6) NOT NULL DEFAULT 0.8
                            CHECK (warning_share > 0 AND warning_share <= 1),
                        active boolean NOT NULL DEFAULT true,
                        -- When the warning was raised (cleared when use falls below it again).
                        warned_at timestamptz,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE UNIQUE INDEX tradfi_credit_lines_scope
                        ON tradfi_credit_lines (account_id, lower(coalesce(counterparty, '')));

                    -- A call for collateral when it falls below maintenance: open until collateral
                    -- covers the requirement again (met) or someone waives it.
                    CREATE TABLE tradfi_margin_calls (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        credit_line_id uuid NOT NULL REFERENCES tradfi_credit_lines (id),
                        utilisation numeric(38, 2) NOT NULL,
                        collateral numeric(38, 2) NOT NULL,
                        required numeric(38, 2) NOT NULL,
                        shortfall numeric(38, 2) NOT NULL CHECK (shortfall > 0),
                        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'met', 'waived')),
                        raised_at timestamptz NOT NULL DEFAULT now(),
                        resolved_at timestamptz,
                        resolved_by text,
                        resolution text
                    );
                    CREATE UNIQUE INDEX tradfi_margin_calls_open ON tradfi_margin_calls (credit_line_id)
                        WHERE status = 'open';
                    """
            ),
            Migration(
                version: 5,
                name: "create_tradfi_custody",
                sql: """
                    -- An account held at a custodian for an institutional account.
                    CREATE TABLE tradfi_custody_accounts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                        custodian text NOT NULL CHECK (length(custodian) BETWEEN 1 AND 64),
                        -- The account's number at the custodian.
                        custodian_account text NOT NULL CHECK (length(custodian_account) BETWEEN 1 AND 100),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (custodian, custodian_account),
                        UNIQUE (account_id, name)
                    );

                    -- What a custody account holds per asset: available, and reserved by withdrawals
                    -- asked for and not yet completed or refused.
                    CREATE TABLE tradfi_custody_balances (
                        custody_account_id uuid NOT NULL REFERENCES tradfi_custody_accounts (id),
                        asset text NOT NULL CHECK (asset ~ '^[A-Z0-9]{2,12}$'),
                        available numeric(38, 18) NOT NULL DEFAULT 0 CHECK (available >= 0),
                        reserved numeric(38, 18) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (custody_account_id, asset)
                    );

                    -- Addresses a custody account may withdraw to: usable once the cooling-off has
                    -- passed, screened against the sanctions lists when added (and again at each use).
                    CREATE TABLE tradfi_withdrawal_addresses (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        custody_account_id uuid NOT NULL REFERENCES tradfi_custody_accounts (id),
                        asset text NOT NULL CHECK (asset ~ '^[A-Z0-9]{2,12}$'),
                        address text NOT NULL CHECK (length(address) BETWEEN 1 AND 200),
                        label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
                        usable_from timestamptz NOT NULL,
                        screening jsonb NOT NULL,
                        added_by text NOT NULL,
                        added_at timestamptz NOT NULL DEFAULT now(),
                        removed_at timestamptz,
                        removed_by text
                    );
                    CREATE UNIQUE INDEX tradfi_withdrawal_addresses_listed
                        ON tradfi_withdrawal_addresses (custody_account_id, asset, address) WHERE removed_at IS NULL;

                    -- Deposits and withdrawals: asked for by one person, decided by another.
                    CREATE TABLE tradfi_custody_movements (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        custody_account_id uuid NOT NULL REFERENCES tradfi_custody_accounts (id),
                        kind text NOT NULL CHECK (kind IN ('deposit', 'withdrawal')),
                        asset text NOT NULL CHECK (asset ~ '^[A-Z0-9]{2,12}$'),
                        quantity numeric(38, 18) NOT NULL CHECK (quantity > 0),
                        address_id uuid REFERENCES tradfi_withdrawal_addresses (id),
                        -- The deposit's transaction or wire reference; the client's key of a withdrawal.
                        reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
                        status text NOT NULL
                            CHECK (status IN ('requested', 'approved', 'completed', 'rejected', 'failed')),
                        requested_by text NOT NULL,
                        decided_by text,
                        decided_at timestamptz,
                        reason text,
                        custodian_reference text,
                        screening jsonb,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (custody_account_id, kind, reference),
                        CHECK (decided_by IS NULL OR decided_by <> requested_by),
                        CHECK ((kind = 'withdrawal') = (address_id IS NOT NULL))
                    );
                    CREATE INDEX tradfi_custody_movements_approved ON tradfi_custody_movements (created_at)
                        WHERE status = 'approved';
                    """
            ),
            Migration(
                version: 6,
                name: "create_tradfi_settlements",
                sql: """
                    -- Holidays per currency: no value date falls on one (nor on a weekend).
                    CREATE TABLE tradfi_currency_holidays (
                        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                        day date NOT NULL,
                        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                        PRIMARY KEY (currency, day)
                    );

                    -- Standing settlement instructions: where a party is paid in a currency (the
                    -- tenant's own account: no counterparty).
                    CREATE TABLE tradfi_settlement_accounts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        counterparty text CHECK (length(counterparty) BETWEEN 1 AND 300),
                        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                        holder text NOT NULL CHECK (length(holder) BETWEEN 1 AND 140),
                        bic text NOT NULL CHECK (bic ~ '^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$'),
                        account text NOT NULL CHECK (account ~ '^[A-Za-z0-9]{1,34}$'),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE UNIQUE INDEX tradfi_settlement_accounts_party
                        ON tradfi_settlement_accounts (lower(coalesce(counterparty, '')), currency);

                    -- A net cash settlement with a counterparty in one currency on one value date.
                    CREATE TABLE tradfi_settlements (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        instruction_id text NOT NULL UNIQUE CHECK (instruction_id ~ '^[A-Za-z0-9/?:().,''+ -]{1,35}$'),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id),
                        counterparty text NOT NULL,
                        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                        trade_date date NOT NULL,
                        value_date date NOT NULL,
                        direction text NOT NULL CHECK (direction IN ('pay', 'receive', 'none')),
                        amount numeric(38, 2) NOT NULL CHECK (amount >= 0),
                        status text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'instructed', 'sent', 'settled', 'failed', 'cancelled')),
                        status_reason text,
                        -- The pacs.008's identifiers (a payment we make).
                        message_id text,
                        end_to_end_id text NOT NULL UNIQUE,
                        uetr uuid NOT NULL UNIQUE,
                        settled_at timestamptz,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- The trades a settlement carries: each trade in one settlement at most.
                    CREATE TABLE tradfi_settlement_trades (
                        settlement_id uuid NOT NULL REFERENCES tradfi_settlements (id),
                        trade_id uuid NOT NULL REFERENCES trades (id),
                        -- Signed: what the trade adds to the net (received positive).
                        amount numeric(38, 18) NOT NULL,
                        -- Set when the settlement is cancelled: the trade may be settled again.
                        released boolean NOT NULL DEFAULT false,
                        PRIMARY KEY (settlement_id, trade_id)
                    );
                    CREATE UNIQUE INDEX tradfi_settlement_trades_once ON tradfi_settlement_trades (trade_id)
                        WHERE NOT released;

                    -- Every change of a settlement's state, who made it and why.
                    CREATE TABLE tradfi_settlement_events (
                        id bigserial PRIMARY KEY,
                        settlement_id uuid NOT NULL REFERENCES tradfi_settlements (id),
                        from_status text,
                        to_status text NOT NULL,
                        actor text NOT NULL,
                        reason text,
                        occurred_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- camt.054 entries applied, once each (a notification sent again changes nothing).
                    CREATE TABLE tradfi_settlement_notifications (
                        entry_key text PRIMARY KEY,
                        settlement_id uuid REFERENCES tradfi_settlements (id),
                        outcome text NOT NULL,
                        received_by text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            ),
            Migration(
                version: 7,
                name: "create_tradfi_reconciliations",
                sql: """
                    -- One statement matched against the book: a broker's or a custodian's (CSV), or the
                    -- positions a broker reported over FIX.
                    CREATE TABLE tradfi_reconciliations (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        source text NOT NULL CHECK (source IN ('broker_csv', 'custodian_csv', 'fix_positions')),
                        -- The statement's file name, the custodian, or the broker session's name.
                        source_name text NOT NULL CHECK (length(source_name) BETWEEN 1 AND 300),
                        statement_digest text NOT NULL,
                        as_of date NOT NULL,
                        rows_read integer NOT NULL CHECK (rows_read >= 0),
                        matched integer NOT NULL CHECK (matched >= 0),
                        break_count integer NOT NULL CHECK (break_count >= 0),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- What did not match, why, since when, and how it was resolved.
                    CREATE TABLE tradfi_reconciliation_breaks (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        reconciliation_id uuid NOT NULL REFERENCES tradfi_reconciliations (id),
                        -- The holder as the statement names it, and as the book knows it (if it does).
                        external_account text NOT NULL,
                        account_id uuid REFERENCES institutional_accounts (id),
                        asset text NOT NULL,
                        internal_quantity numeric(38, 18),
                        external_quantity numeric(38, 18),
                        cause text NOT NULL CHECK (cause IN ('quantity_mismatch', 'missing_internally',
                                                             'missing_externally', 'unknown_account')),
                        detail text NOT NULL,
                        -- When this break (holder, asset, cause) was first seen: what ageing counts from.
                        first_seen_at timestamptz NOT NULL DEFAULT now(),
                        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'superseded')),
                        resolution text,
                        resolved_by text,
                        resolved_at timestamptz
                    );
                    CREATE INDEX tradfi_reconciliation_breaks_open ON tradfi_reconciliation_breaks (external_account, asset)
                        WHERE status = 'open';
                    """
            ),
            Migration(
                version: 8,
                name: "add_tradfi_order_replacements",
                sql: """
                    -- A replacement asked for (OrderCancelReplaceRequest): its ClOrdID, the new terms
                    -- the pre-trade check approved, who asked, and the broker's refusal if any. Once
                    -- the broker replaces the order it carries the new ClOrdID; the ones before are kept
                    -- (a fill in flight may still name one).
                    ALTER TABLE tradfi_orders
                        ADD COLUMN replace_cl_ord_id text UNIQUE,
                        ADD COLUMN replace_quantity numeric(38, 18) CHECK (replace_quantity > 0),
                        ADD COLUMN replace_price numeric(38, 18) CHECK (replace_price > 0),
                        ADD COLUMN replace_check_id uuid,
                        ADD COLUMN replace_requested_by text,
                        ADD COLUMN replace_refused text,
                        ADD COLUMN previous_cl_ord_ids text[] NOT NULL DEFAULT '{}';
                    DROP INDEX tradfi_orders_due;
                    CREATE INDEX tradfi_orders_due ON tradfi_orders (session_id)
                        WHERE status IN ('held', 'queued') OR (cancel_cl_ord_id IS NOT NULL AND cancel_refused IS NULL)
                           OR (replace_cl_ord_id IS NOT NULL AND replace_refused IS NULL);
                    """
            ),
            Migration(
                version: 9,
                name: "create_tradfi_collateral_reports",
                sql: """
                    -- A CollateralInquiry asked for over the API, sent by the session's holder.
                    CREATE TABLE tradfi_collateral_inquiries (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        coll_inquiry_id text NOT NULL UNIQUE,
                        requested_by text NOT NULL,
                        requested_at timestamptz NOT NULL DEFAULT now(),
                        sent_at timestamptz
                    );
                    CREATE INDEX tradfi_collateral_inquiries_due ON tradfi_collateral_inquiries (session_id)
                        WHERE sent_at IS NULL;

                    -- The collateral a broker reports holding for the account (CollateralReport), once per
                    -- CollRptID.
                    CREATE TABLE tradfi_collateral_reports (
                        session_id uuid NOT NULL REFERENCES tradfi_broker_sessions (id),
                        report_id text NOT NULL,
                        coll_inquiry_id text,
                        status text,
                        currency text,
                        total_net_value numeric(38, 18),
                        message text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (session_id, report_id)
                    );
                    """
            ),
        ]
    )
}
