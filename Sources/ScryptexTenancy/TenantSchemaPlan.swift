public import Foundation
public import ScryptexPostgres

/// What every tenant's schema gets: the modules' migrations (run as the tenant's role, so what
/// they create belongs to the tenant), then each module's `TenantSchemaExtension`, run as the
/// host once the migrations are in.
public struct TenantSchemaPlan: Sendable {
    public let migrations: MigrationPlan
    public let extensions: [any TenantSchemaExtension]
    /// Every column of the tenant schema sealed with the tenant's data key.
    public let sealedColumns: [SealedColumn]

    public init(
        _ migrations: MigrationPlan, extensions: [any TenantSchemaExtension] = [], sealedColumns: [SealedColumn] = []
    ) {
        self.migrations = migrations
        self.extensions = extensions
        self.sealedColumns = sealedColumns
    }

    /// The migrations' generation (recorded per tenant in `platform.tenants.schema_version`).
    public var generation: Int { migrations.generation }

    /// The plan with one more migration set applied after the others (a test's, or a benchmark's).
    public func appending(_ set: MigrationSet) -> TenantSchemaPlan {
        TenantSchemaPlan(migrations.appending(set), extensions: extensions, sealedColumns: sealedColumns)
    }

    /// Runs every extension's `secure` on `schema`, owned by `role`, as the host.
    func secure(schema: SQLIdentifier, role: SQLIdentifier, in transaction: PostgresTransaction) async throws {
        for schemaExtension in extensions {
            try await schemaExtension.secure(schema: schema, role: role, in: transaction)
        }
    }

    /// The same for a tenant's schema.
    func secure(_ slug: TenantSlug, in transaction: PostgresTransaction) async throws {
        guard !extensions.isEmpty else { return }
        try await secure(
            schema: slug.schema, role: try await TenantRole.name(for: slug, in: transaction), in: transaction)
    }

    /// The extension that loads `table`'s archived rows itself, if one does.
    func importer(of table: String) -> (any TenantSchemaExtension)? {
        extensions.first { $0.importedTables.contains(table) }
    }
}

/// What a module does to every tenant's schema beyond its migrations: guarding what the tenant's
/// own role must not change, and restoring the rows of the tables it guards from an archive
/// (Identity's audit trail does both).
public protocol TenantSchemaExtension: Sendable {
    /// Runs as the host after the tenant's migrations (on a new schema, after every migration
    /// campaign, and on a spare schema); idempotent.
    func secure(schema: SQLIdentifier, role: SQLIdentifier, in transaction: PostgresTransaction) async throws

    /// Tables whose archived rows this extension loads itself instead of copying them as they
    /// are; the archive neither empties them before an import nor moves their identity columns.
    var importedTables: Set<String> { get }

    /// Loads archived rows (a JSON array of row objects) of one of `importedTables` into the
    /// tenant's schema, inside the import's transaction (which runs as the tenant's role).
    func importRows(
        _ rows: String, of table: SQLIdentifier, into schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws

    /// Removes what the module keeps of a deleted tenant in the control plane, inside the
    /// deletion's transaction (the tenant's row stays, marked deleted).
    func forgetTenant(_ id: UUID, in transaction: PostgresTransaction) async throws
}

extension TenantSchemaExtension {
    public var importedTables: Set<String> { [] }

    public func importRows(
        _ rows: String, of table: SQLIdentifier, into schema: SQLIdentifier, in transaction: PostgresTransaction
    ) async throws {}

    public func forgetTenant(_ id: UUID, in transaction: PostgresTransaction) async throws {}
}
