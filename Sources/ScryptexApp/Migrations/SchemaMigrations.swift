import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy

/// Applies the platform migrations, then the tenant migrations to every tenant's schema.
struct SchemaMigrations: Sendable {
    let logger: Logger

    struct Outcome {
        var lines: [String] = []
        var failures: [String] = []
    }

    func migrateAll(on connection: PostgresConnection) async throws -> Outcome {
        var outcome = Outcome()
        let platform = try await Migrator(set: PlatformMigrations.set, logger: logger)
            .migrate(schema: PlatformMigrations.schema, on: connection)
        outcome.lines.append(Self.describe(set: "platform", report: platform))

        let tenantMigrator = TenantMigrationRunner(set: TenantMigrations.set, logger: logger)
        // Each tenant's applied version is recorded in the control plane, so an up-to-date tenant
        // costs nothing here: one query finds the tenants behind (a no-op run is one round trip).
        let latest = TenantMigrations.set.latestVersion
        let counts = try await connection.query(
            """
            SELECT count(*) AS total, count(*) FILTER (WHERE schema_version < \(latest)) AS behind
            FROM platform.tenants WHERE status IN ('active', 'suspended', 'provisioning')
            """
        )
        let total = try counts.first?.decode("total", as: Int.self) ?? 0
        let pending = try await connection.query(
            """
            SELECT slug FROM platform.tenants
            WHERE status IN ('active', 'suspended', 'provisioning') AND schema_version < \(latest) ORDER BY slug
            """
        )
        var migrated = 0
        for row in pending {
            let slug = try row.decode("slug", as: String.self)
            do {
                let report = try await tenantMigrator.migrate(try TenantSlug(slug), on: connection)
                migrated += 1
                outcome.lines.append(Self.describe(set: "tenant", report: report))
            } catch {
                outcome.failures.append(slug)
                outcome.lines.append("tenant \(slug): FAILED: \(error)")
                logger.error("tenant migration failed", ["tenant": slug, "error": String(describing: error)])
            }
        }
        outcome.lines.append(
            "tenant schemas: \(total) total, \(total - pending.count) already up to date, \(migrated) migrated, \(outcome.failures.count) failed (tenant set at version \(latest))"
        )
        return outcome
    }

    func statusLines(on connection: PostgresConnection) async throws -> [String] {
        let entries = try await Migrator(set: PlatformMigrations.set, logger: logger)
            .status(schema: PlatformMigrations.schema, on: connection)
        return entries.map { "platform \($0.version) \($0.name): \($0.isApplied ? "applied" : "pending")" }
    }

    static func describe(set: String, report: Migrator.Report) -> String {
        if report.applied.isEmpty {
            return "\(set) schema \(report.schema): up to date at version \(report.currentVersion)"
        }
        let versions = report.applied.map(String.init).joined(separator: ", ")
        return "\(set) schema \(report.schema): applied \(versions); now at version \(report.currentVersion)"
    }
}
