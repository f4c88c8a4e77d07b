public import ScryptexCore
public import ScryptexPostgres

/// Runs SQL for one tenant. Every transaction starts with `SET LOCAL ROLE` to the tenant's role
/// and `SET LOCAL search_path` to its schema, so the statements inside can reach only that
/// tenant's tables (even by schema-qualified name) and nothing tenant-specific stays on the
/// connection afterwards; this also holds behind a transaction-mode pooler. Each acquired
/// connection is checked: if `current_schema()` is not the tenant's, the transaction is refused.
public struct TenantScope: Sendable {
    public let tenant: Tenant
    private let pool: PostgresConnectionPool

    public init(tenant: Tenant, pool: PostgresConnectionPool) {
        self.tenant = tenant
        self.pool = pool
    }

    /// Runs `body` in a transaction as the tenant. `BEGIN`, the role and path, and the canary go
    /// to the server in the same pipeline as the body's first statement: a tenant read is one
    /// round trip, and with `readOnly` (the server refuses writes) its `COMMIT` is not waited for.
    /// `isolationLevel` for work that needs one snapshot throughout (REPEATABLE READ).
    @discardableResult
    public func withTransaction<Result>(
        isolation: isolated (any Actor)? = #isolation,
        readOnly: Bool = false,
        isolationLevel: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await pool.withConnection { connection in
            let role = try await TenantRole.name(for: tenant.slug, on: connection)
            return try await connection.withTransaction(
                isolationLevel: isolationLevel, readOnly: readOnly, opening: opening(role: role), body)
        }
    }

    /// Assume the tenant's role and path, then the canary: a connection that is not where it
    /// should be never lets tenant SQL's results through (the transaction fails and rolls back).
    private func opening(role: SQLIdentifier) -> PostgresTransactionOpening {
        let tenant = self.tenant
        return PostgresTransactionOpening(
            statements: TenantRole.assumingStatements(role: role, schema: tenant.schema) + [
                "SELECT current_schema() AS name"
            ]
        ) { rows in
            guard try rows.first?.decode("name", as: String?.self) == tenant.schema.name else {
                throw ServiceError(.notFound, "the schema of tenant '\(tenant.slug)' is not available")
            }
        }
    }
}

extension TenantScope {
    /// Runs `body` as the tenant inside a transaction the host role already holds (provisioning:
    /// rows in the tenant's schema that must commit with the tenant's creation), then returns
    /// the transaction to the host role.
    public static func run<Result>(
        as tenant: Tenant, in transaction: PostgresTransaction, _ body: () async throws -> Result
    ) async throws -> Result {
        try await TenantRole.assume(tenant.slug, in: transaction)
        let result = try await body()
        try await transaction.executeScript("RESET ROLE; SET LOCAL search_path TO DEFAULT")
        return result
    }
}

extension TenantScope {
    /// Runs `body` with the host's own role inside a transaction that may have assumed a tenant's
    /// role, then assumes that role again: for what only the host may do in a tenant's schema,
    /// such as appending to its audit trail (the tenant role may only read it). Code running as
    /// the tenant cannot write such rows with an actor of its choosing.
    @discardableResult
    public static func asHost<Result>(
        in transaction: PostgresTransaction, _ body: () async throws -> Result
    ) async throws -> Result {
        let row = try await transaction.query(
            """
            SELECT current_user::text AS role, current_user <> session_user AS switched,
                   CASE WHEN current_user <> session_user THEN set_config('role', 'none', true) END AS reset
            """
        ).firstRow
        guard try row.decode("switched", as: Bool.self) else { return try await body() }
        let result = try await body()
        try await transaction.execute("SELECT set_config('role', \(try row.decode("role", as: String.self)), true)")
        return result
    }
}

/// Applies the tenant migration plan to one tenant's schema, as the tenant's role (so every new
/// object belongs to the tenant), in one transaction.
public struct TenantMigrationRunner: Sendable {
    public let plan: TenantSchemaPlan
    private let logger: Logger

    public init(plan: TenantSchemaPlan, logger: Logger) {
        self.plan = plan
        self.logger = logger
    }

    @discardableResult
    public func migrate(_ slug: TenantSlug, on connection: PostgresConnection) async throws -> Migrator.Report {
        // A migration may rebuild a tenant's large tables: no statement timeout applies.
        try await connection.withTransaction(statementTimeout: .zero) { transaction in
            try await TenantRole.assume(slug, in: transaction)
            let report = try await Migrator(plan: plan.migrations, logger: logger).migrate(
                schema: slug.schema, within: transaction)
            try await transaction.executeScript("RESET ROLE")
            try await plan.secure(slug, in: transaction)
            try await transaction.execute(
                "UPDATE platform.tenants SET schema_version = \(report.generation), updated_at = now() WHERE slug = \(slug.value)"
            )
            return report
        }
    }
}
