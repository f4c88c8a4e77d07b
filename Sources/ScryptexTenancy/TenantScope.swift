public import ScryptexCore
public import ScryptexPostgres

/// Runs SQL for one tenant. Every transaction starts with `SET LOCAL ROLE` to the tenant's role
/// and `SET LOCAL search_path` to its schema, so the statements inside can reach only that
/// tenant's tables (even by schema-qualified name) and nothing tenant-specific stays on the
/// connection afterwards; this also holds behind a transaction-mode pooler. Each acquired
/// connection is checked: if `current_schema()` is not the tenant's, the transaction is refused.
/// Transactions go to the tenant's cluster: `pool` (the control plane's) routes by placement.
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
        // The tenant's cluster: the control plane's pool routes by placement (`TenantClusters`).
        let cluster = try pool.pool(for: tenant.slug.value)
        guard cluster !== pool else { return try await transaction(on: cluster, readOnly, isolationLevel, body) }
        // On another cluster, the platform's reference data is read from the control plane.
        return try await ReferenceDatabase.$pool.withValue(pool) {
            try await transaction(on: cluster, readOnly, isolationLevel, body)
        }
    }

    private func transaction<Result>(
        on cluster: PostgresConnectionPool, _ readOnly: Bool, _ isolationLevel: PostgresIsolationLevel,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await cluster.withConnection { connection in
            let role = try await TenantRole.name(for: tenant.slug, on: connection)
            do {
                return try await connection.withTransaction(
                    isolationLevel: isolationLevel, readOnly: readOnly, opening: opening(role: role), body)
            } catch let error as PostgresError
                where error.sqlState == .undefinedTable || error.sqlState == .invalidParameterValue
            {
                // (A role that is gone: 22023 from assuming it, once the move dropped it.)
                throw try await movedAway(on: connection) ?? error
            }
        }
    }

    /// A table or role that vanished: if the whole schema is gone from this database, the tenant
    /// was moved to another cluster (while the transaction waited for the move's freeze, or just
    /// before this host heard of it); nothing was written, and the error is retryable.
    private func movedAway(on connection: PostgresConnection) async throws -> PostgresError? {
        let present = try await connection.query(
            "SELECT to_regnamespace(\(tenant.schema.quoted)) IS NOT NULL AS present"
        ).firstRow.decode("present", as: Bool.self)
        guard !present else { return nil }
        return PostgresError(
            code: .connectionFailed,
            message: "tenant '\(tenant.slug)' moved to another database; nothing was written")
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
                // Not here: being moved to another cluster (this host learns the new placement
                // within milliseconds), or gone. Retryable, so a request answers 503.
                throw PostgresError(
                    code: .connectionFailed,
                    message: "the schema of tenant '\(tenant.slug)' is not available on this database")
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
    /// Runs `body` in a control-plane transaction and hands it, for a tenant on another cluster,
    /// a host-role transaction on that cluster too (nil when the tenant is on the control plane's
    /// database: the one transaction covers both). The cluster's transaction commits right after
    /// the control plane's; if that commit fails, the control plane's change stands and the error
    /// says so.
    public static func withControlPlaneTransaction<Result>(
        for slug: TenantSlug, on pool: PostgresConnectionPool,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresTransaction, PostgresTransaction?) async throws -> Result
    ) async throws -> Result {
        let cluster = try pool.pool(for: slug.value)
        guard cluster !== pool else { return try await pool.withTransaction { try await body($0, nil) } }
        return try await cluster.withTransaction { tenantTransaction in
            try await pool.withTransaction { try await body($0, tenantTransaction) }
        }
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

    /// - Parameter controlPlane: For a tenant on another cluster than the control plane: where
    ///   its schema version is recorded, after the migration commits (a failure there leaves the
    ///   recorded version behind, and the next run, finding nothing to apply, records it). Nil:
    ///   `connection` is the control plane's and both commit together.
    @discardableResult
    public func migrate(
        _ slug: TenantSlug, on connection: PostgresConnection, recordingIn controlPlane: PostgresConnectionPool? = nil
    ) async throws -> Migrator.Report {
        // A migration may rebuild a tenant's large tables: no statement timeout applies.
        let report = try await connection.withTransaction(statementTimeout: .zero) { transaction in
            let report = try await apply(to: slug, in: transaction)
            if controlPlane == nil { try await Self.record(report, of: slug, in: transaction) }
            return report
        }
        if let controlPlane {
            try await controlPlane.withTransaction { try await Self.record(report, of: slug, in: $0) }
        }
        return report
    }

    /// Runs the plan on `slug`'s schema as its role, then secures the schema (back to the host role).
    func apply(to slug: TenantSlug, in transaction: PostgresTransaction) async throws -> Migrator.Report {
        try await TenantRole.assume(slug, in: transaction)
        let report = try await Migrator(plan: plan.migrations, logger: logger).migrate(
            schema: slug.schema, within: transaction)
        try await transaction.executeScript("RESET ROLE")
        try await plan.secure(slug, in: transaction)
        return report
    }

    private static func record(
        _ report: Migrator.Report, of slug: TenantSlug, in transaction: PostgresTransaction
    ) async throws {
        try await transaction.execute(
            "UPDATE platform.tenants SET schema_version = \(report.generation), updated_at = now() WHERE slug = \(slug.value)"
        )
    }
}
