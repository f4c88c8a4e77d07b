package import ScryptexCore
package import ScryptexPostgres
package import ScryptexTenancy

/// Applies the platform plan, then the tenant plan to every tenant's schema (`SchemaPlans`).
package struct SchemaMigrations: Sendable {
    let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    package struct Outcome {
        package var lines: [String] = []
        package var failures: [String] = []
    }

    /// Migrates the platform schema, then every tenant behind the latest version (canaries first,
    /// then in parallel), reporting each tenant through `progress`.
    package func migrateAll(
        on pool: PostgresConnectionPool,
        concurrency: Int = 4,
        progress: @escaping @Sendable (TenantMigrationCampaign.Progress) -> Void = { _ in }
    ) async throws -> Outcome {
        var outcome = Outcome()
        let platform = try await pool.withConnection { connection in
            try await Migrator(plan: SchemaPlans.platform, logger: logger).migrate(
                schema: PlatformSchema.name, on: connection)
        }
        outcome.lines.append(Self.describe(set: "platform", report: platform))
        // Where each tenant lives, now that the control plane's tables are there.
        try await (pool.router as? TenantClusters)?.reload(from: pool)

        // Each tenant's applied version is recorded in the control plane, so an up-to-date tenant
        // costs nothing here: one query finds the tenants behind (a no-op run is one round trip).
        let latest = SchemaPlans.tenant.generation
        let (total, pending) = try await TenantRegistry().schemasBehind(generation: latest, from: pool)
        let campaign = TenantMigrationCampaign(
            runner: TenantMigrationRunner(plan: SchemaPlans.tenant, logger: logger), concurrency: concurrency
        )
        let result = await campaign.run(pending, on: pool, progress: progress)
        for failure in result.failed {
            outcome.failures.append(failure.tenant)
            outcome.lines.append("tenant \(failure.tenant): FAILED: \(failure.error)")
            logger.error("tenant migration failed", ["tenant": failure.tenant, "error": failure.error])
        }
        if result.stoppedAfterCanary {
            outcome.lines.append(
                "the canary tenant failed: the other \(pending.count - 1) pending tenants were not touched")
        }
        outcome.lines.append(
            "tenant schemas: \(total) total, \(total - pending.count) already up to date, \(result.migrated.count) migrated, \(result.failed.count) failed (tenant schemas at generation \(latest))"
        )
        return outcome
    }

    package func statusLines(on connection: PostgresConnection) async throws -> [String] {
        let entries = try await Migrator(plan: SchemaPlans.platform, logger: logger)
            .status(schema: PlatformSchema.name, on: connection)
        return entries.map { "platform \($0.set) \($0.version) \($0.name): \($0.isApplied ? "applied" : "pending")" }
    }

    static func describe(set: String, report: Migrator.Report) -> String {
        var parts: [String] = []
        if !report.applied.isEmpty {
            parts.append("applied " + report.applied.map(\.description).joined(separator: ", "))
        }
        if report.converted { parts.append("converted its legacy migrations to the module sets") }
        if parts.isEmpty {
            return "\(set) schema \(report.schema): up to date at generation \(report.generation)"
        }
        return
            "\(set) schema \(report.schema): \(parts.joined(separator: "; ")); now at generation \(report.generation)"
    }
}
