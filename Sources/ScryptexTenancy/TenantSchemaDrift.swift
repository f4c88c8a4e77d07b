import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Compares each tenant's schema with the one its migrations should have produced: tables,
/// columns (type, nullability, default), constraints and indexes. The expected shape is built
/// by applying the tenant migration plan to a scratch schema in a transaction that is rolled back.
public struct TenantSchemaDrift: Sendable {
    public let plan: TenantSchemaPlan
    private let logger: Logger

    public init(plan: TenantSchemaPlan, logger: Logger) {
        self.plan = plan
        self.logger = logger
    }

    /// Differences per tenant (only tenants that differ), each as `missing: …` or `unexpected: …`.
    public func check(_ tenants: [TenantSlug], on pool: PostgresConnectionPool) async throws -> [String: [String]] {
        let expected = try await expectedShape(on: pool)
        var drift: [String: [String]] = [:]
        for slug in tenants {
            let actual = try await pool.pool(for: slug.value).withConnection {
                try await Self.shape(of: slug.schema, on: $0)
            }
            let missing = expected.subtracting(actual).sorted().map { "missing: " + $0 }
            let unexpected = actual.subtracting(expected).sorted().map { "unexpected: " + $0 }
            if !(missing + unexpected).isEmpty { drift[slug.value] = missing + unexpected }
        }
        return drift
    }

    private struct RolledBack: Error {
        var shape: Set<String>
    }

    private func expectedShape(on pool: PostgresConnectionPool) async throws -> Set<String> {
        let reference = SQLIdentifier(static: "scryptex_drift_reference")
        do {
            try await pool.withTransaction { transaction in
                try await Migrator(plan: plan.migrations, logger: logger).migrate(
                    schema: reference, within: transaction)
                throw RolledBack(shape: try await Self.shape(of: reference, on: transaction.connection))
            }
        } catch let rolledBack as RolledBack {
            return rolledBack.shape
        }
        return []
    }

    /// The schema's shape as comparable lines, with the schema's own name taken out.
    static func shape(of schema: SQLIdentifier, on connection: PostgresConnection) async throws -> Set<String> {
        let rows = try await connection.query(
            """
            SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type
                   || CASE WHEN c.is_nullable = 'NO' THEN ' not null' ELSE '' END
                   || coalesce(' default ' || c.column_default, '') AS item
            FROM information_schema.columns c WHERE c.table_schema = \(schema.name)
            UNION ALL
            SELECT 'constraint ' || r.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = \(schema.name)
            UNION ALL
            SELECT 'index ' || i.indexdef FROM pg_indexes i WHERE i.schemaname = \(schema.name)
            """
        )
        // Definitions name the schema quoted or not, depending on the name: take out both.
        return Set(
            try rows.map {
                try $0.decode("item", as: String.self).replacingOccurrences(of: schema.quoted + ".", with: "")
                    .replacingOccurrences(of: schema.name + ".", with: "")
            }
        )
    }
}
