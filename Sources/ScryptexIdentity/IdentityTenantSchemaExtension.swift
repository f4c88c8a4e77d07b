public import Foundation
public import ScryptexPostgres
public import ScryptexTenancy

/// Identity's part of every tenant's schema beyond its migrations: it keeps the audit trail
/// append-only for the tenant's own role, restores a trail from a tenant archive by appending to
/// the new tenant's chain, and destroys a deleted tenant's data keys (whatever personal data
/// survives in exports or backups can never be decrypted again).
///
/// Tenant migrations run as the tenant role, so everything they create belongs to the tenant,
/// and an owner can do anything to its tables. After the migrations, the host's role (which is
/// not the tenant) takes ownership of the schema, of `audit_records` and of the trail's trigger
/// functions, and grants the tenant back only what it needs: `USAGE, CREATE` on the schema and
/// `SELECT` on the trail. The tenant can then neither write, update nor delete audit rows (only
/// the host appends them, with its own role: `TenantScope.asHost`), nor drop or replace the
/// trigger, the table or its functions. Idempotent; a schema without a trail is left as it is.
public struct IdentityTenantSchemaExtension: TenantSchemaExtension {
    public init() {}

    public func secure(
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
        let row = try present.firstRow
        guard try row.decode("table_present", as: Bool.self), try row.decode("chain_present", as: Bool.self)
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

    public var importedTables: Set<String> { ["audit_records"] }

    /// The trail is append-only and chained by the database: imported records are appended to
    /// the new tenant's chain in their old order, each keeping its original time and position in
    /// its details. Only the host writes trails.
    public func importRows(
        _ rows: String, of table: SQLIdentifier, into schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws {
        try await TenantScope.asHost(in: transaction) {
            try await transaction.execute(
                """
                INSERT INTO \(identifier: schema, table)
                    (actor, action, object_type, object_id, account_id, request_id, details, previous_hash, record_hash)
                SELECT actor, action, object_type, object_id, account_id, request_id,
                       details || jsonb_build_object('importedOccurredAt', occurred_at,
                                                     'importedPosition', chain_position),
                       '', ''
                FROM json_populate_recordset(NULL::\(identifier: schema, table), \(rows)::json)
                ORDER BY chain_position
                """
            )
            // The import is an event of its own, naming the source chain's head, so the new chain
            // can be tied to the one it continues.
            let source = try await transaction.query(
                """
                SELECT count(*) AS records,
                       (SELECT record_hash FROM json_populate_recordset(NULL::\(identifier: schema, table), \(rows)::json)
                        ORDER BY chain_position DESC LIMIT 1) AS head
                FROM json_populate_recordset(NULL::\(identifier: schema, table), \(rows)::json)
                """
            ).firstRow
            try await AuditTrail(schema: schema).append(
                AuditEvent(
                    actor: "system:import", action: "tenant.imported", objectType: "tenant", objectID: schema.name,
                    details: [
                        "sourceChainHead": try source.decode("head", as: String?.self) ?? "",
                        "sourceRecords": String(try source.decode("records", as: Int.self)),
                    ]), in: transaction)
        }
    }

    public func forgetTenant(_ id: UUID, in transaction: PostgresTransaction) async throws {
        try await transaction.execute("DELETE FROM platform.tenant_data_keys WHERE tenant_id = \(id)")
    }
}
