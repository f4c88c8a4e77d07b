import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Schema drift")
struct TenantSchemaDriftTests {
    @Test func reportsOnlyTenantsWhoseSchemaDiffers() async throws {
        try await withControlPlane { pool, provisioner in
            for slug in ["acme", "zenith"] {
                try await provisioner.create(.init(slug: slug, displayName: slug), on: pool)
            }
            let checker = TenantSchemaDrift(plan: TenancyFixture.tenant, logger: TestDatabase.logger)
            let slugs = try ["acme", "zenith"].map { try TenantSlug($0) }
            let clean = try await checker.check(slugs, on: pool)
            #expect(clean.isEmpty, "\(clean)")

            // Someone changes one tenant by hand.
            try await pool.execute("ALTER TABLE t_zenith.institutional_accounts ADD COLUMN shadow text")
            try await pool.execute("DROP INDEX t_zenith.institutional_accounts_parent")
            let drift = try await checker.check(slugs, on: pool)
            #expect(drift.keys.sorted() == ["zenith"])
            let lines = drift["zenith"] ?? []
            #expect(lines.contains("unexpected: column institutional_accounts.shadow text"))
            #expect(lines.contains { $0.hasPrefix("missing: index CREATE INDEX institutional_accounts_parent") })
            // The reference schema was rolled back.
            let leftover = try await pool.query("SELECT to_regnamespace('scryptex_drift_reference') IS NULL AS gone")
            #expect(try leftover.first?.decode("gone", as: Bool.self) == true)
        }
    }
}
