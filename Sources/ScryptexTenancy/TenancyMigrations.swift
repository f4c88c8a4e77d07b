public import ScryptexPostgres

/// The control-plane schema, `platform`: shared by every module's control-plane tables. Only
/// the host's own role reads and writes it; tenant roles never do.
public enum PlatformSchema {
    public static let name = SQLIdentifier(static: "platform")
}

/// The tenancy module's tables: tenants, their domains, branding and feature flags, the job
/// queue and the spare schemas. Every other module's control-plane tables may refer to
/// `tenants`, so this set applies first.
///
/// Applied migrations must never be edited: add a new one.
public enum TenancyMigrations {
    /// In the `platform` schema.
    public static let platform = MigrationSet(
        name: "tenancy",
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
                version: 4,
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
            Migration(
                version: 5,
                name: "custom_domain_verification",
                sql: """
                    -- A custom domain is served only once its owner proved control of it (a DNS TXT
                    -- record), and stops being served when a re-check fails.
                    ALTER TABLE tenant_domains
                        ADD COLUMN verified_at timestamptz,
                        ADD COLUMN checked_at timestamptz,
                        ADD COLUMN verification_error text;
                    -- Platform subdomains are the platform's own. Custom domains added before this
                    -- were served: they count as verified until their next re-check.
                    UPDATE tenant_domains SET verification_state = 'verified', verified_at = now()
                    WHERE kind = 'platform-subdomain' OR verification_state = 'pending';
                    """
            ),
            Migration(
                version: 6,
                name: "certificate_attempts",
                sql: """
                    -- Each served domain's last attempt at a certificate from the ACME authority, as
                    -- every host and the console see it: when, why it failed (NULL after a success),
                    -- failures in a row and the next try; and the last certificate obtained.
                    CREATE TABLE certificate_attempts (
                        domain text PRIMARY KEY,
                        attempted_at timestamptz NOT NULL,
                        error text,
                        consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
                        retry_at timestamptz,
                        obtained_at timestamptz,
                        issuer text,
                        expires_at timestamptz
                    );
                    """
            ),
            Migration(
                version: 7,
                name: "acme_challenges_and_claims",
                sql: """
                    -- HTTP-01 key authorizations while an order runs, so whichever host the
                    -- authority reaches answers the challenge.
                    CREATE TABLE acme_challenges (
                        token text PRIMARY KEY,
                        key_authorization text NOT NULL,
                        published_at timestamptz NOT NULL DEFAULT now()
                    );
                    -- One host orders a domain's certificate at a time: it claims the domain until
                    -- claimed_until (an order that outlives it may be taken over).
                    ALTER TABLE certificate_attempts
                        ADD COLUMN claimed_by text,
                        ADD COLUMN claimed_until timestamptz,
                        ALTER COLUMN attempted_at DROP NOT NULL;
                    """
            ),
            Migration(
                version: 8,
                name: "shared_certificates",
                sql: """
                    -- Certificates obtained from the ACME authority, for every host to serve: the
                    -- chain, and its private key sealed with a key derived from the master key.
                    CREATE TABLE certificates (
                        domain text PRIMARY KEY,
                        chain_pem text NOT NULL,
                        key_sealed bytea NOT NULL,
                        issuer text,
                        not_after timestamptz NOT NULL,
                        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
                    );
                    CREATE INDEX certificates_updated ON certificates (updated_at);
                    """
            ),
        ]
    )
}
