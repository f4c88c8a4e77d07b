public import ScryptexPostgres

/// Makes a tenant's audit trail append-only for the tenant's own role.
///
/// Tenant migrations run as the tenant role, so everything they create belongs to the tenant,
/// and an owner can do anything to its tables. After the migrations, the host's role (which is
/// not the tenant) takes ownership of the schema, of `audit_records` and of the trail's trigger
/// functions, and grants the tenant back only what it needs: `USAGE, CREATE` on the schema and
/// `SELECT` on the trail. The tenant can then neither write, update nor delete audit rows (only
/// the host appends them, with its own role: `TenantScope.asHost`), nor drop or replace the
/// trigger, the table or its functions. Idempotent; a schema without a trail is left as it is.
public enum TenantAuditProtection {
    public static func apply(_ slug: TenantSlug, in transaction: PostgresTransaction) async throws {
        try await apply(
            schema: slug.schema, role: try await TenantRole.name(for: slug, in: transaction), in: transaction)
    }

    /// The same for a schema owned by `role` that is not (yet) a tenant's: a spare schema.
    static func apply(
        schema identifier: SQLIdentifier, role: SQLIdentifier, in transaction: PostgresTransaction
    )
        async throws
    {
        let table = identifier.quoted + ".audit_records"
        let present = try await transaction.query(
            """
            SELECT to_regclass(\(table)) IS NOT NULL AS table_present,
                   to_regprocedure(\(identifier.quoted + ".audit_chain_append()")) IS NOT NULL AS chain_present
            """
        )
        guard let row = present.first, try row.decode("table_present", as: Bool.self),
            try row.decode("chain_present", as: Bool.self)
        else { return }
        let schema = identifier.quoted
        try await transaction.executeScript(
            """
            ALTER SCHEMA \(schema) OWNER TO CURRENT_USER;
            GRANT USAGE, CREATE ON SCHEMA \(schema) TO \(role.quoted);
            ALTER TABLE \(schema).audit_records OWNER TO CURRENT_USER;
            REVOKE ALL ON \(schema).audit_records FROM \(role.quoted);
            GRANT SELECT ON \(schema).audit_records TO \(role.quoted);
            ALTER FUNCTION \(schema).audit_chain_append() OWNER TO CURRENT_USER;
            ALTER FUNCTION \(schema).audit_append_only() OWNER TO CURRENT_USER;
            ALTER FUNCTION \(schema).audit_canonical(bigint, timestamptz, text, text, text, text, uuid, text, jsonb, text)
                OWNER TO CURRENT_USER;
            """
        )
    }
}
