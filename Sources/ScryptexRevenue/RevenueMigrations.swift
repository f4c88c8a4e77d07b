public import ScryptexPostgres

/// The revenue module's tables in `platform`: fee events, the append-only double-entry ledger,
/// revenue plans, periods and payouts. They refer to `tenants` (a tenant with revenue records is
/// never removed).
///
/// Applied migrations must never be edited: add a new one.
public enum RevenueMigrations {
    /// In the `platform` schema, after tenancy's.
    public static let platform = MigrationSet(
        name: "revenue",
        migrations: [
            Migration(
                version: 1,
                name: "create_revenue_ledger",
                sql: """
                    CREATE TABLE fee_events (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL REFERENCES tenants (id),
                        idempotency_key text NOT NULL,
                        product text NOT NULL,
                        amount numeric(38, 18) NOT NULL CHECK (amount >= 0),
                        currency text NOT NULL,
                        volume numeric(38, 18) NOT NULL DEFAULT 0,
                        occurred_at timestamptz NOT NULL,
                        payload_hash text NOT NULL,
                        received_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (tenant_id, idempotency_key)
                    );

                    -- Append-only: one row per posting line; a posting's lines sum to zero.
                    CREATE TABLE ledger_entries (
                        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        posting_id uuid NOT NULL,
                        tenant_id uuid NOT NULL REFERENCES tenants (id),
                        account text NOT NULL,
                        currency text NOT NULL,
                        amount numeric(38, 18) NOT NULL,
                        memo text NOT NULL,
                        source_id uuid,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX ledger_entries_tenant ON ledger_entries (tenant_id, account);

                    CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        RAISE EXCEPTION 'the ledger is append-only: % is not allowed', TG_OP
                            USING ERRCODE = 'insufficient_privilege';
                    END
                    $$;
                    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
                        FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

                    -- Every posting balances, checked when its transaction commits.
                    CREATE FUNCTION ledger_posting_balances() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    BEGIN
                        IF EXISTS (SELECT 1 FROM ledger_entries WHERE posting_id = NEW.posting_id
                                   GROUP BY currency HAVING sum(amount) <> 0) THEN
                            RAISE EXCEPTION 'posting % does not balance', NEW.posting_id USING ERRCODE = 'check_violation';
                        END IF;
                        RETURN NULL;
                    END
                    $$;
                    CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_posting_balances();
                    """
            ),
            Migration(
                version: 2,
                name: "revenue_plans_and_periods",
                sql: """
                    CREATE TABLE revenue_plans (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL REFERENCES tenants (id),
                        effective_month text NOT NULL CHECK (effective_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
                        plan jsonb NOT NULL,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (tenant_id, effective_month)
                    );

                    CREATE TABLE revenue_periods (
                        tenant_id uuid NOT NULL REFERENCES tenants (id),
                        period text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
                        status text NOT NULL CHECK (status IN ('open', 'closed')),
                        closed_at timestamptz,
                        PRIMARY KEY (tenant_id, period)
                    );
                    """
            ),
            Migration(
                version: 3,
                name: "revenue_statements",
                sql: "ALTER TABLE revenue_periods ADD COLUMN statement jsonb;"
            ),
            Migration(
                version: 4,
                name: "revenue_booking_payouts_instances",
                sql: """
                    -- The month an event is booked in: its own, or the next open one when its month
                    -- was already closed (a late event, posted as an adjustment there).
                    ALTER TABLE fee_events ADD COLUMN booked_period text,
                        ADD COLUMN posting_id uuid;
                    UPDATE fee_events SET booked_period = to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM');
                    UPDATE fee_events f SET posting_id = l.posting_id
                        FROM ledger_entries l WHERE l.source_id = f.id;
                    ALTER TABLE fee_events ALTER COLUMN booked_period SET NOT NULL,
                        ADD CONSTRAINT fee_events_booked_period CHECK (booked_period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$');
                    CREATE INDEX fee_events_booked ON fee_events (tenant_id, booked_period);

                    ALTER TABLE ledger_entries ADD COLUMN period text;
                    CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id);
                    CREATE INDEX ledger_entries_source ON ledger_entries (source_id) WHERE source_id IS NOT NULL;

                    -- The last ledger row a period's statement covers (payable movements after it
                    -- belong to the next statement).
                    ALTER TABLE revenue_periods ADD COLUMN ledger_position bigint;

                    CREATE TABLE revenue_payouts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL REFERENCES tenants (id),
                        amount numeric(38, 18) NOT NULL CHECK (amount > 0),
                        currency text NOT NULL,
                        status text NOT NULL CHECK (status IN ('pending', 'sent', 'settled', 'failed')),
                        reference text,
                        failure_reason text,
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX revenue_payouts_tenant ON revenue_payouts (tenant_id, created_at);
                    """
            ),
            Migration(
                version: 5,
                name: "fee_events_for_bulk_ingestion",
                sql: """
                    -- Bulk ingestion: a sequential key instead of a random one (random UUID keys
                    -- scatter index writes), and no per-row foreign-key check (it doubled the cost of
                    -- an insert). Ingestion checks the partner in the same transaction, under the
                    -- partner's lock; a tenant with fee events can never be removed (trigger below).
                    ALTER TABLE fee_events DROP CONSTRAINT fee_events_tenant_id_fkey;
                    ALTER TABLE fee_events DROP CONSTRAINT fee_events_pkey;
                    ALTER TABLE fee_events ADD COLUMN sequence bigint GENERATED ALWAYS AS IDENTITY;
                    ALTER TABLE fee_events ADD PRIMARY KEY (sequence);
                    -- Replays are compared field by field; the fingerprint is no longer written. An
                    -- event is known by (tenant_id, idempotency_key) and its sequence number; the old
                    -- random id is kept for the events that have one.
                    ALTER TABLE fee_events ALTER COLUMN payload_hash DROP NOT NULL,
                        ALTER COLUMN id DROP DEFAULT, ALTER COLUMN id DROP NOT NULL;

                    CREATE FUNCTION tenants_keep_revenue() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    BEGIN
                        IF EXISTS (SELECT 1 FROM fee_events WHERE tenant_id = OLD.id) THEN
                            RAISE EXCEPTION 'tenant % has fee events; it can be marked deleted, never removed', OLD.slug
                                USING ERRCODE = 'foreign_key_violation';
                        END IF;
                        RETURN OLD;
                    END
                    $$;
                    CREATE TRIGGER tenants_keep_revenue BEFORE DELETE ON tenants
                        FOR EACH ROW EXECUTE FUNCTION tenants_keep_revenue();
                    """
            ),
            Migration(
                version: 6,
                name: "ledger_checks_per_statement",
                sql: """
                    -- Every posting is written in one statement (LedgerStore does), so its balance is
                    -- checked once per statement over the rows it inserted, instead of once per row at
                    -- commit: a bulk ingestion writes thousands of lines at a time. A posting split
                    -- over statements is refused, which is stricter than before.
                    DROP TRIGGER ledger_entries_balanced ON ledger_entries;
                    CREATE FUNCTION ledger_postings_balance() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    DECLARE
                        unbalanced uuid;
                    BEGIN
                        SELECT posting_id INTO unbalanced FROM inserted
                        GROUP BY posting_id, currency HAVING sum(amount) <> 0 LIMIT 1;
                        IF FOUND THEN
                            RAISE EXCEPTION 'posting % does not balance', unbalanced USING ERRCODE = 'check_violation';
                        END IF;
                        RETURN NULL;
                    END
                    $$;
                    CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
                        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balance();

                    -- As for fee events: the tenant is checked by the code that posts, under the
                    -- partner's lock, and a tenant with ledger lines is never removed.
                    ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_tenant_id_fkey;
                    CREATE OR REPLACE FUNCTION tenants_keep_revenue() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    BEGIN
                        IF EXISTS (SELECT 1 FROM fee_events WHERE tenant_id = OLD.id)
                            OR EXISTS (SELECT 1 FROM ledger_entries WHERE tenant_id = OLD.id) THEN
                            RAISE EXCEPTION 'tenant % has revenue records; it can be marked deleted, never removed', OLD.slug
                                USING ERRCODE = 'foreign_key_violation';
                        END IF;
                        RETURN OLD;
                    END
                    $$;
                    """
            ),
        ]
    )
}
