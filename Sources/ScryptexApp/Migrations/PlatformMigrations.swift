import ScryptexIdentity
public import ScryptexPostgres

/// The control-plane schema (`platform`): tenants, their domains, branding, feature flags and
/// commercial terms. Only the host's own role reads and writes it; tenant roles never do.
///
/// Applied migrations must never be edited: add a new one.
public enum PlatformMigrations {
    public static let schema = SQLIdentifier(static: "platform")

    public static let set = MigrationSet(
        name: "platform",
        migrations: [
            Migration(
                version: 1,
                name: "create_control_plane",
                sql: """
                    CREATE TABLE tenants (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z][a-z0-9_]{1,39}$'),
                        display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
                        legal_name text,
                        status text NOT NULL DEFAULT 'provisioning'
                            CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting', 'deleted')),
                        plan text NOT NULL DEFAULT 'standard',
                        placement text NOT NULL DEFAULT 'primary',
                        schema_version integer NOT NULL DEFAULT 0,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE tenant_domains (
                        hostname text PRIMARY KEY CHECK (hostname = lower(hostname)),
                        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                        kind text NOT NULL CHECK (kind IN ('custom', 'platform-subdomain')),
                        verification_state text NOT NULL DEFAULT 'pending'
                            CHECK (verification_state IN ('pending', 'verified', 'failed')),
                        verification_token text NOT NULL,
                        certificate_state text NOT NULL DEFAULT 'none'
                            CHECK (certificate_state IN ('none', 'pending', 'issued', 'failed', 'expired')),
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

                    CREATE TABLE tenant_branding (
                        tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
                        product_name text NOT NULL,
                        logo_url text,
                        colors jsonb NOT NULL DEFAULT '{}',
                        css_variables jsonb NOT NULL DEFAULT '{}',
                        support_email text,
                        support_url text,
                        legal_footer text,
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE tenant_features (
                        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                        feature text NOT NULL CHECK (feature ~ '^[a-z][a-z0-9_]{0,62}$'),
                        enabled boolean NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (tenant_id, feature)
                    );

                    CREATE TABLE white_label_instances (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL UNIQUE REFERENCES tenants (id) ON DELETE RESTRICT,
                        plan text NOT NULL,
                        revenue_share_percent numeric(7, 4) NOT NULL CHECK (revenue_share_percent BETWEEN 0 AND 100),
                        isolation jsonb NOT NULL DEFAULT '{}',
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            ),
            Migration(
                version: 2,
                name: "create_tenant_jobs",
                sql: """
                    CREATE TABLE tenant_jobs (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                        kind text NOT NULL,
                        payload jsonb NOT NULL DEFAULT '{}',
                        status text NOT NULL DEFAULT 'queued'
                            CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
                        attempts integer NOT NULL DEFAULT 0,
                        max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
                        run_after timestamptz NOT NULL DEFAULT now(),
                        lease_owner text,
                        lease_expires_at timestamptz,
                        timeout_seconds integer NOT NULL DEFAULT 3600 CHECK (timeout_seconds > 0),
                        progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
                        result jsonb,
                        error text,
                        cancel_requested boolean NOT NULL DEFAULT false,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        started_at timestamptz,
                        finished_at timestamptz
                    );
                    CREATE INDEX tenant_jobs_ready ON tenant_jobs (run_after) WHERE status IN ('queued', 'running');
                    CREATE INDEX tenant_jobs_tenant ON tenant_jobs (tenant_id, created_at);
                    """
            ),
            Migration(
                version: 3,
                name: "create_identity_and_audit",
                sql: """
                    CREATE TABLE admin_api_keys (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        prefix text NOT NULL UNIQUE,
                        secret_hash text NOT NULL,
                        name text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz,
                        revoked_at timestamptz,
                        last_used_at timestamptz
                    );

                    CREATE TABLE break_glass_grants (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        admin_key_id uuid NOT NULL REFERENCES admin_api_keys (id),
                        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                        reason text NOT NULL,
                        granted_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz NOT NULL
                    );

                    -- Data keys wrapped by the master key, which never enters the database.
                    CREATE TABLE tenant_data_keys (
                        tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
                        version integer NOT NULL CHECK (version >= 1),
                        wrapped_key bytea NOT NULL,
                        master_key_id text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        PRIMARY KEY (tenant_id, version)
                    );

                    -- The control plane's own trail: tenant lifecycle, admin keys, break-glass grants.
                    CREATE TABLE audit_records (
                        sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        chain_position bigint NOT NULL UNIQUE,
                        occurred_at timestamptz NOT NULL DEFAULT now(),
                        actor text NOT NULL,
                        action text NOT NULL,
                        object_type text,
                        object_id text,
                        account_id uuid,
                        request_id text,
                        details jsonb NOT NULL DEFAULT '{}',
                        previous_hash text NOT NULL,
                        record_hash text NOT NULL
                    );
                    """ + AuditChainSQL.version1
            ),
            Migration(
                version: 4,
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
            ),
            Migration(
                version: 5,
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
                version: 6,
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
                version: 7,
                name: "revenue_statements",
                sql: "ALTER TABLE revenue_periods ADD COLUMN statement jsonb;"
            ),
            Migration(
                version: 8,
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

                    -- An instance's revenue terms live in revenue_plans (versioned); its features
                    -- are the tenant's flags, bounded by the commercial plan.
                    ALTER TABLE white_label_instances DROP COLUMN revenue_share_percent;
                    """
            ),
            Migration(
                version: 9,
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
                version: 10,
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
            Migration(
                version: 11,
                name: "commercial_plan_features",
                sql: """
                    -- The features each commercial plan includes (CommercialPlan in ScryptexApp holds
                    -- the same catalogue; a test keeps them equal). A white-label instance's tenant
                    -- can never have a feature on that its plan lacks, whichever path writes the flag.
                    CREATE TABLE commercial_plans (
                        plan text PRIMARY KEY,
                        features text[] NOT NULL
                    );
                    INSERT INTO commercial_plans (plan, features) VALUES
                        ('starter', '{bi,compliance,institutional,white_label}'),
                        ('professional', '{bi,compliance,institutional,ml,quant,tradfi,white_label}'),
                        ('enterprise', '{bi,compliance,institutional,market_making,ml,quant,tradfi,white_label}');

                    CREATE FUNCTION tenant_features_within_plan() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    DECLARE
                        instance_plan text;
                    BEGIN
                        IF NEW.enabled THEN
                            SELECT w.plan INTO instance_plan FROM white_label_instances w WHERE w.tenant_id = NEW.tenant_id;
                            IF FOUND AND NOT EXISTS (SELECT 1 FROM commercial_plans c
                                                     WHERE c.plan = instance_plan AND NEW.feature = ANY (c.features)) THEN
                                RAISE EXCEPTION 'feature % is not included in the % plan', NEW.feature, instance_plan
                                    USING ERRCODE = 'check_violation';
                            END IF;
                        END IF;
                        RETURN NEW;
                    END
                    $$;
                    CREATE TRIGGER tenant_features_within_plan BEFORE INSERT OR UPDATE ON tenant_features
                        FOR EACH ROW EXECUTE FUNCTION tenant_features_within_plan();
                    """
            ),
            Migration(
                version: 12,
                name: "tenant_spare_schemas",
                sql: """
                    -- Tenant schemas built ahead of need (TenantSpareSchemas in ScryptexTenancy): a
                    -- new tenant takes one by renaming it instead of running every tenant migration.
                    CREATE TABLE tenant_spare_schemas (
                        schema_name text PRIMARY KEY CHECK (schema_name ~ '^spare_[0-9a-f]{16}$'),
                        role_name text NOT NULL UNIQUE,
                        schema_version integer NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            ),
            Migration(
                version: 13,
                name: "tenant_job_interruptions",
                sql: """
                    -- How often a job's lease expired while it ran (its host stopped, most likely
                    -- because the job crashed it); a job interrupted twice is quarantined.
                    ALTER TABLE tenant_jobs ADD COLUMN interruptions integer NOT NULL DEFAULT 0;
                    ALTER TABLE tenant_jobs DROP CONSTRAINT tenant_jobs_status_check;
                    ALTER TABLE tenant_jobs ADD CONSTRAINT tenant_jobs_status_check
                        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'quarantined'));
                    """
            ),
        ]
    )
}

/// The schema every tenant gets (`t_<slug>`). Tables live unqualified: migrations run with the
/// tenant's schema as `search_path`. No foreign key leaves the tenant's schema.
///
/// Applied migrations must never be edited: add a new one.
public enum TenantMigrations {
    public static let set = MigrationSet(
        name: "tenant",
        migrations: [
            Migration(
                version: 1,
                name: "create_institutional_core",
                sql: """
                    CREATE TABLE institutional_accounts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        parent_id uuid REFERENCES institutional_accounts (id),
                        account_name text NOT NULL,
                        account_type text NOT NULL,
                        legal_name text NOT NULL,
                        jurisdiction text NOT NULL CHECK (jurisdiction ~ '^[A-Z]{2}$'),
                        total_aum numeric(38, 2) NOT NULL DEFAULT 0 CHECK (total_aum >= 0),
                        regulatory_identifiers jsonb NOT NULL DEFAULT '{}',
                        kyc_status text NOT NULL DEFAULT 'pending'
                            CHECK (kyc_status IN ('pending', 'in_review', 'approved', 'rejected', 'suspended')),
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE institutional_team_members (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        email_hash text NOT NULL,
                        role text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        UNIQUE (account_id, email_hash)
                    );

                    CREATE TABLE audit_records (
                        sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        occurred_at timestamptz NOT NULL DEFAULT now(),
                        actor text NOT NULL,
                        action text NOT NULL,
                        object_type text,
                        object_id text,
                        details jsonb NOT NULL DEFAULT '{}',
                        previous_hash text NOT NULL,
                        record_hash text NOT NULL
                    );
                    CREATE INDEX audit_records_occurred_at ON audit_records (occurred_at);
                    """
            ),
            Migration(
                version: 2,
                name: "create_identity_and_audit_chain",
                sql: """
                    CREATE TABLE custom_roles (
                        name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{1,39}$'),
                        permissions text[] NOT NULL CHECK (cardinality(permissions) >= 1),
                        created_at timestamptz NOT NULL DEFAULT now()
                    );

                    -- Personal data only encrypted (AES-256-GCM with the tenant's data key); the
                    -- e-mail is found through a keyed hash (blind index).
                    CREATE TABLE users (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        email_lookup text NOT NULL UNIQUE,
                        email_encrypted bytea NOT NULL,
                        name_encrypted bytea,
                        password_hash text NOT NULL,
                        role text NOT NULL,
                        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
                        mfa_secret_encrypted bytea,
                        mfa_enabled boolean NOT NULL DEFAULT false,
                        mfa_last_step bigint,
                        failed_logins integer NOT NULL DEFAULT 0,
                        locked_until timestamptz,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE user_recovery_codes (
                        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        code_hash text NOT NULL,
                        used_at timestamptz,
                        PRIMARY KEY (user_id, code_hash)
                    );

                    CREATE TABLE sessions (
                        token_prefix text PRIMARY KEY,
                        secret_hash text NOT NULL,
                        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        mfa_verified boolean NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        last_seen_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz NOT NULL,
                        revoked_at timestamptz
                    );
                    CREATE INDEX sessions_user ON sessions (user_id);

                    CREATE TABLE api_keys (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        prefix text NOT NULL UNIQUE,
                        secret_hash text NOT NULL,
                        name text NOT NULL,
                        roles text[] NOT NULL CHECK (cardinality(roles) >= 1),
                        created_by text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz,
                        revoked_at timestamptz,
                        last_used_at timestamptz
                    );

                    ALTER TABLE audit_records
                        ADD COLUMN chain_position bigint NOT NULL,
                        ADD COLUMN account_id uuid,
                        ADD COLUMN request_id text;
                    CREATE UNIQUE INDEX audit_records_chain ON audit_records (chain_position);
                    CREATE INDEX audit_records_account ON audit_records (account_id, chain_position);
                    CREATE INDEX audit_records_actor ON audit_records (actor, chain_position);
                    """ + AuditChainSQL.version1
            ),
            Migration(
                version: 3,
                name: "institutional_kyc_limits_members",
                sql: """
                    ALTER TABLE institutional_accounts
                        ADD COLUMN kill_switch_engaged boolean NOT NULL DEFAULT false,
                        ADD COLUMN kyc_review_due date,
                        ADD COLUMN kyc_provider text,
                        ADD COLUMN kyc_reference text,
                        ADD COLUMN limits jsonb NOT NULL DEFAULT '{}';
                    CREATE INDEX institutional_accounts_parent ON institutional_accounts (parent_id);

                    ALTER TABLE institutional_team_members
                        ADD COLUMN email_encrypted bytea,
                        ADD COLUMN name_encrypted bytea,
                        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

                    CREATE TABLE kyc_events (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        from_status text NOT NULL,
                        to_status text NOT NULL,
                        reason text,
                        actor text NOT NULL,
                        occurred_at timestamptz NOT NULL DEFAULT now()
                    );

                    CREATE TABLE beneficial_owners (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        name_encrypted bytea NOT NULL,
                        nationality text NOT NULL CHECK (nationality ~ '^[A-Z]{2}$'),
                        ownership_percent numeric(7, 4) NOT NULL CHECK (ownership_percent > 0 AND ownership_percent <= 100),
                        created_at timestamptz NOT NULL DEFAULT now()
                    );
                    """
            ),
            Migration(
                version: 4,
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
                version: 5,
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
                version: 6,
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
                version: 7,
                name: "mifir_identifiers_and_trade_cancellation",
                sql: """
                    ALTER TABLE instruments ADD COLUMN isin text CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$');
                    ALTER TABLE trades ADD COLUMN cancelled_at timestamptz;
                    """
            ),
            Migration(
                version: 8,
                name: "position_reports",
                sql: """
                    ALTER TABLE instruments ADD COLUMN reportable_level numeric(38, 18) CHECK (reportable_level > 0);
                    ALTER TABLE regulatory_reports ADD COLUMN document_csv text;
                    """
            ),
            Migration(
                version: 9,
                name: "derivative_instruments",
                sql: """
                    ALTER TABLE instruments ADD COLUMN is_derivative boolean NOT NULL DEFAULT false;
                    """
            ),
            Migration(
                version: 10,
                name: "trade_amendments_and_kyc_documents",
                sql: """
                    ALTER TABLE trades ADD COLUMN amended_at timestamptz;

                    CREATE TABLE kyc_documents (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        kind text NOT NULL CHECK (kind IN ('certificate_of_incorporation', 'articles', 'register_of_directors',
                            'register_of_shareholders', 'proof_of_address', 'regulatory_licence', 'financial_statements',
                            'aml_policy', 'identity_document', 'other')),
                        reference text NOT NULL,
                        issued_on date,
                        expires_on date,
                        received_at timestamptz NOT NULL DEFAULT now(),
                        CHECK (expires_on IS NULL OR issued_on IS NULL OR expires_on > issued_on)
                    );
                    """
            ),
            Migration(
                version: 11,
                name: "pending_authenticator",
                sql: """
                    -- A new authenticator waits here until a code from it is confirmed; the one in
                    -- mfa_secret_encrypted stays in force until then.
                    ALTER TABLE users ADD COLUMN mfa_pending_secret_encrypted bytea;
                    """
            ),
            Migration(
                version: 12,
                name: "credential_change_notifications",
                sql: """
                    -- Hosts keep verified credentials in memory for a few seconds. Any change that
                    -- can take access away tells every host at commit, on one channel, with the
                    -- tenant's schema as payload; each host then forgets that tenant's entries.
                    CREATE FUNCTION credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        PERFORM pg_notify('scryptex_credentials', TG_TABLE_SCHEMA);
                        RETURN NULL;
                    END
                    $$;
                    CREATE TRIGGER api_keys_changed
                        AFTER UPDATE OF revoked_at, expires_at, roles, secret_hash OR DELETE OR TRUNCATE ON api_keys
                        FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed();
                    CREATE TRIGGER sessions_changed
                        AFTER UPDATE OF revoked_at, expires_at, mfa_verified, secret_hash OR DELETE OR TRUNCATE ON sessions
                        FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed();
                    CREATE TRIGGER users_changed
                        AFTER UPDATE OF role, status, mfa_enabled, password_hash OR DELETE OR TRUNCATE ON users
                        FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed();
                    CREATE TRIGGER custom_roles_changed
                        AFTER UPDATE OR DELETE OR TRUNCATE ON custom_roles
                        FOR EACH STATEMENT EXECUTE FUNCTION credentials_changed();
                    """
            ),
        ]
    )
}
