public import ScryptexPostgres

/// The identity module's tables: admin keys, break-glass grants, data keys and the control
/// plane's audit trail in `platform`; users, sessions, API keys, roles and the tenant's audit
/// trail in every tenant's schema.
///
/// Applied migrations must never be edited: add a new one.
public enum IdentityMigrations {
    /// In the `platform` schema, after tenancy's.
    public static let platform = MigrationSet(
        name: "identity",
        migrations: [
            Migration(
                version: 1,
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
                version: 2,
                name: "create_admin_sessions",
                sql: """
                    -- The platform console's sessions: a platform admin signs in with their key once;
                    -- the browser then holds a session token (only its SHA-256 here) that ends with
                    -- the key (revoked or expired), on sign-out, or after its lifetime. Each session
                    -- has its own random token for the console's forms.
                    CREATE TABLE admin_sessions (
                        token_prefix text PRIMARY KEY,
                        secret_hash text NOT NULL,
                        admin_key_id uuid NOT NULL REFERENCES admin_api_keys (id) ON DELETE CASCADE,
                        form_token text NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz NOT NULL,
                        revoked_at timestamptz
                    );
                    CREATE INDEX admin_sessions_key ON admin_sessions (admin_key_id);
                    """
            ),
        ]
    )

    /// In every tenant's schema, first: other modules' tenant tables may be audited.
    public static let tenant = MigrationSet(
        name: "identity",
        migrations: [
            Migration(
                version: 1,
                name: "create_audit_records",
                sql: """
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
                name: "pending_authenticator",
                sql: """
                    -- A new authenticator waits here until a code from it is confirmed; the one in
                    -- mfa_secret_encrypted stays in force until then.
                    ALTER TABLE users ADD COLUMN mfa_pending_secret_encrypted bytea;
                    """
            ),
            Migration(
                version: 4,
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
            Migration(
                version: 5,
                name: "create_password_resets",
                sql: """
                    -- A password reset link's token, kept only as its SHA-256: it works once, before
                    -- it expires, and a newer link for the same member supersedes it.
                    CREATE TABLE password_resets (
                        token_hash text PRIMARY KEY,
                        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                        created_at timestamptz NOT NULL DEFAULT now(),
                        expires_at timestamptz NOT NULL,
                        used_at timestamptz,
                        CHECK (expires_at > created_at)
                    );
                    CREATE INDEX password_resets_user ON password_resets (user_id);
                    """
            ),
        ]
    )
}
