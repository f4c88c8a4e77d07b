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
        let tenants = try await connection.query(
            "SELECT slug FROM platform.tenants WHERE status IN ('active', 'suspended', 'provisioning') ORDER BY slug"
        )
        var upToDate = 0
        for row in tenants {
            let slug = try row.decode("slug", as: String.self)
            do {
                let report = try await tenantMigrator.migrate(try TenantSlug(slug), on: connection)
                if report.applied.isEmpty {
                    upToDate += 1
                } else {
                    outcome.lines.append(Self.describe(set: "tenant", report: report))
                }
            } catch {
                outcome.failures.append(slug)
                outcome.lines.append("tenant \(slug): FAILED: \(error)")
                logger.error("tenant migration failed", ["tenant": slug, "error": String(describing: error)])
            }
        }
        outcome.lines.append(
            "tenant schemas: \(tenants.count) total, \(upToDate) already up to date, \(outcome.failures.count) failed (tenant set at version \(TenantMigrations.set.latestVersion))"
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
