import ScryptexPostgres
import ScryptexTenancy

/// The schemas the tenancy tests work on. Tenancy owns no table in a tenant's schema, so a small
/// fixture stands in for the modules' tables: accounts with a hierarchy and their members, and an
/// append-only trail numbered by a trigger whose function finds its table through the schema it
/// was created in (as a real trail's does), guarded and imported by an extension.
enum TenancyFixture {
    static let platform = MigrationPlan([TenancyMigrations.platform])

    static let tenantTables = MigrationSet(
        name: "fixture",
        migrations: [
            Migration(
                version: 1, name: "create_fixture_tables",
                sql: """
                    CREATE TABLE institutional_accounts (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        parent_id uuid REFERENCES institutional_accounts (id),
                        account_name text NOT NULL,
                        account_type text NOT NULL,
                        legal_name text NOT NULL,
                        jurisdiction text NOT NULL,
                        total_aum numeric(38, 2) NOT NULL DEFAULT 0
                    );
                    CREATE TABLE institutional_team_members (
                        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
                        account_id uuid NOT NULL REFERENCES institutional_accounts (id) ON DELETE CASCADE,
                        email_hash text NOT NULL,
                        role text NOT NULL,
                        UNIQUE (account_id, email_hash)
                    );
                    CREATE TABLE audit_records (
                        sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                        chain_position bigint NOT NULL DEFAULT 0,
                        occurred_at timestamptz NOT NULL DEFAULT now(),
                        actor text NOT NULL,
                        action text NOT NULL,
                        details jsonb NOT NULL DEFAULT '{}'
                    );
                    CREATE FUNCTION audit_number() RETURNS trigger LANGUAGE plpgsql
                        SET search_path FROM CURRENT AS $$
                    BEGIN
                        NEW.chain_position := coalesce((SELECT max(chain_position) FROM audit_records), 0) + 1;
                        RETURN NEW;
                    END
                    $$;
                    CREATE TRIGGER audit_records_number BEFORE INSERT ON audit_records
                        FOR EACH ROW EXECUTE FUNCTION audit_number();
                    """),
            Migration(
                version: 2, name: "index_account_parents",
                sql: "CREATE INDEX institutional_accounts_parent ON institutional_accounts (parent_id);"),
            Migration(
                version: 3, name: "account_status",
                sql: "ALTER TABLE institutional_accounts ADD COLUMN status text NOT NULL DEFAULT 'active';"),
        ])

    static let tenant = TenantSchemaPlan(MigrationPlan([tenantTables]), extensions: [AppendOnlyTrail()])
}

/// The fixture trail's guard: the host owns it and the tenant's role may only read it; imported
/// rows are appended in their old order, each keeping its old position in its details.
struct AppendOnlyTrail: TenantSchemaExtension {
    func secure(schema: SQLIdentifier, role: SQLIdentifier, in transaction: PostgresTransaction) async throws {
        let present = try await transaction.query(
            "SELECT to_regclass(\(schema.quoted + ".audit_records")) IS NOT NULL AS present")
        guard try present.firstRow.decode("present", as: Bool.self) else { return }
        try await transaction.executeScript(
            """
            ALTER SCHEMA \(schema.quoted) OWNER TO CURRENT_USER;
            GRANT USAGE, CREATE ON SCHEMA \(schema.quoted) TO \(role.quoted);
            ALTER TABLE \(schema.quoted).audit_records OWNER TO CURRENT_USER;
            REVOKE ALL ON \(schema.quoted).audit_records FROM \(role.quoted);
            GRANT SELECT ON \(schema.quoted).audit_records TO \(role.quoted);
            ALTER FUNCTION \(schema.quoted).audit_number() OWNER TO CURRENT_USER;
            """
        )
    }

    var importedTables: Set<String> { ["audit_records"] }

    func importRows(
        _ rows: String, of table: SQLIdentifier, into schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws {
        try await TenantScope.asHost(in: transaction) {
            try await transaction.execute(
                """
                INSERT INTO \(identifier: schema, table) (actor, action, details)
                SELECT actor, action, details || jsonb_build_object('importedPosition', chain_position)
                FROM json_populate_recordset(NULL::\(identifier: schema, table), \(rows)::json)
                ORDER BY chain_position
                """
            )
        }
    }
}
