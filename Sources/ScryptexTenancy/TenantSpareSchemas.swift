public import ScryptexCore
import ScryptexCrypto
public import ScryptexPostgres

/// Tenant schemas built ahead of need, so that creating a tenant does not wait for its DDL.
///
/// A tenant's schema is every tenant migration: about a hundred relations (tables, their TOAST
/// tables, indexes, sequences), each a file the kernel has to allocate — some 150 ms of DDL on a
/// small machine however few tenants exist, and it grows with every migration. A spare is that
/// schema made in advance under a neutral name, `spare_<16 hex>`, owned by its own NOLOGIN role
/// `tr_<database hash>__spare_<16 hex>` (no slug can produce either name: a slug starts with a
/// letter and a tenant's schema with `t_`), with the audit trail already protected, and
/// recorded in `platform.tenant_spare_schemas`.
///
/// Provisioning takes one inside its own transaction (`FOR UPDATE SKIP LOCKED`: concurrent
/// creations take different spares) and renames the schema and the role to the tenant's; a
/// rollback gives the spare back untouched. Migrations added after a spare was built run when it
/// is taken, so a taken spare is always current. Nothing tenant-specific is in a spare: the
/// tenant's rows (branding, flags, keys, audit records) are written after the rename, in the
/// same transaction, exactly as for a schema built on the spot. With no spare ready,
/// provisioning builds the schema itself.
public struct TenantSpareSchemas: Sendable {
    public let tenantSchema: TenantSchemaPlan
    private let logger: Logger

    public init(tenantSchema: TenantSchemaPlan, logger: Logger) {
        self.tenantSchema = tenantSchema
        self.logger = logger
    }

    /// How many spares are ready.
    public func readyCount(on pool: PostgresConnectionPool) async throws -> Int {
        try await pool.query("SELECT count(*) AS ready FROM platform.tenant_spare_schemas").firstRow.decode(
            "ready", as: Int.self)
    }

    /// Builds spares until `target` are ready, one transaction each, and returns how many it
    /// built. A transaction-level advisory lock makes hosts replenishing at the same time take
    /// turns, so together they do not build more than `target`. Stops early when the task is
    /// cancelled (between spares: one being built is finished).
    @discardableResult
    public func replenish(to target: Int, on pool: PostgresConnectionPool) async throws -> Int {
        var built = 0
        while !Task.isCancelled, try await pool.withTransaction({ try await buildOne(ifFewerThan: target, in: $0) }) {
            built += 1
        }
        return built
    }

    private func buildOne(ifFewerThan target: Int, in transaction: PostgresTransaction) async throws -> Bool {
        try await transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('scryptex.tenant-spare-schemas', 0))")
        let ready = try await transaction.query("SELECT count(*) AS ready FROM platform.tenant_spare_schemas")
            .firstRow.decode("ready", as: Int.self)
        guard ready < target else { return false }
        let token = SecureRandom.hexToken(byteCount: 8)
        let schema = try SQLIdentifier("spare_" + token)
        let role = try SQLIdentifier(try await TenantRole.prefix(in: transaction) + "_spare_" + token)
        try await TenantRole.createSchema(schema, ownedBy: role, in: transaction)
        try await transaction.executeScript(TenantRole.assumingScript(role: role, schema: schema))
        try await Migrator(plan: tenantSchema.migrations, logger: logger).migrate(schema: schema, within: transaction)
        try await transaction.executeScript("RESET ROLE")
        try await tenantSchema.secure(schema: schema, role: role, in: transaction)
        try await transaction.execute(
            """
            INSERT INTO platform.tenant_spare_schemas (schema_name, role_name, schema_version)
            VALUES (\(schema.name), \(role.name), \(tenantSchema.generation))
            """
        )
        return true
    }

    /// Takes the oldest ready spare and makes it `slug`'s: schema renamed to `t_<slug>`, role to
    /// `role`, and the functions that remember their schema (`SET search_path FROM CURRENT`)
    /// pointed at the new name. Returns false when no spare is ready; the caller then builds the
    /// schema. The caller still runs the tenant migrations (pending ones only) and the audit
    /// protection, as for a fresh schema.
    func claim(for slug: TenantSlug, role: SQLIdentifier, in transaction: PostgresTransaction) async throws -> Bool {
        let taken = try await transaction.query(
            """
            DELETE FROM platform.tenant_spare_schemas WHERE schema_name = (
                SELECT schema_name FROM platform.tenant_spare_schemas
                ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING schema_name, role_name
            """
        )
        guard let row = taken.first else { return false }
        let spareSchema = try SQLIdentifier(try row.decode("schema_name", as: String.self))
        let spareRole = try SQLIdentifier(try row.decode("role_name", as: String.self))
        try await transaction.executeScript(
            """
            ALTER SCHEMA \(spareSchema.quoted) RENAME TO \(slug.schema.quoted);
            ALTER ROLE \(spareRole.quoted) RENAME TO \(role.quoted);
            """
        )
        let functions = try await transaction.query(
            """
            SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
            WHERE p.pronamespace = to_regnamespace(\(slug.schema.quoted))
              AND EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c(setting) WHERE c.setting LIKE 'search_path=%')
            """
        )
        for function in functions {
            // The signature is PostgreSQL's own rendering of a function of this schema (regprocedure
            // output, identifiers quoted by the server), not input from anyone.
            let signature = try function.decode("signature", as: String.self)
            try await transaction.executeScript(
                "ALTER FUNCTION \(signature) SET search_path TO \(slug.schema.quoted)")
        }
        return true
    }
}
