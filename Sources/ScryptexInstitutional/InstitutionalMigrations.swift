public import ScryptexPostgres
public import ScryptexTenancy

/// The institutional module's tables in every tenant's schema: accounts, team members, KYC
/// events, beneficial owners and KYC documents.
///
/// Applied migrations must never be edited: add a new one.
public enum InstitutionalMigrations {
    /// The columns this module seals with the tenant's data key (team members' e-mail and name,
    /// beneficial owners' names).
    public static let sealedColumns: [SealedColumn] = [
        SealedColumn(
            table: "institutional_team_members", column: "email_encrypted", field: "institutional_team_members.email",
            lookup: .init(column: "email_hash", purpose: "email")),
        SealedColumn(
            table: "institutional_team_members", column: "name_encrypted", field: "institutional_team_members.name"),
        SealedColumn(table: "beneficial_owners", column: "name_encrypted", field: "beneficial_owners.name"),
    ]

    /// In every tenant's schema, after identity's.
    public static let tenant = MigrationSet(
        name: "institutional",
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
                    """
            ),
            Migration(
                version: 2,
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
                version: 3,
                name: "create_kyc_documents",
                sql: """
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
        ]
    )
}
