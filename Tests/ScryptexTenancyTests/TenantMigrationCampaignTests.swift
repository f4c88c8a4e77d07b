import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

@Suite("Migrating many tenants")
struct TenantMigrationCampaignTests {
    /// The tenant plan plus one new migration.
    static let extended = TenancyFixture.tenant.appending(
        MigrationSet(
            name: "test",
            migrations: [
                Migration(
                    version: 1, name: "add_account_note",
                    sql: "ALTER TABLE institutional_accounts ADD COLUMN note text;")
            ]))

    static func versions(_ pool: PostgresConnectionPool) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await pool.query("SELECT slug, schema_version FROM platform.tenants") {
            result[try row.decode("slug", as: String.self)] = try row.decode("schema_version", as: Int.self)
        }
        return result
    }

    @Test func oneFailingTenantDoesNotStopTheOthersAndARerunResumes() async throws {
        try await withControlPlane { pool, provisioner in
            let slugs = ["acme", "beta", "delta", "gamma"]
            for slug in slugs { try await provisioner.create(.init(slug: slug, displayName: slug), on: pool) }
            // Sabotage gamma: the new column already exists there, so its migration fails.
            try await pool.execute("ALTER TABLE t_gamma.institutional_accounts ADD COLUMN note text")
            let runner = TenantMigrationRunner(plan: Self.extended, logger: TestDatabase.logger)
            let seen = Mutex<[Int]>([])
            let outcome = await TenantMigrationCampaign(runner: runner, concurrency: 2, canaryCount: 1)
                .run(try slugs.map { try TenantSlug($0) }, on: pool) { progress in
                    seen.withLock { $0.append(progress.done) }
                }
            #expect(outcome.migrated.sorted() == ["acme", "beta", "delta"])
            #expect(outcome.failed.map(\.tenant) == ["gamma"])
            #expect(outcome.failed.first?.error.contains("add_account_note") == true)
            #expect(seen.withLock { $0 }.sorted() == [1, 2, 3, 4])
            let base = TenancyFixture.tenant.generation
            #expect(
                try await Self.versions(pool) == ["acme": base + 1, "beta": base + 1, "delta": base + 1, "gamma": base])

            // Fix gamma; a rerun migrates only what is still behind.
            try await pool.execute("ALTER TABLE t_gamma.institutional_accounts DROP COLUMN note")
            let rerun = await TenantMigrationCampaign(runner: runner).run([try TenantSlug("gamma")], on: pool)
            #expect(rerun.migrated == ["gamma"])
            #expect(try await Self.versions(pool).values.allSatisfy { $0 == base + 1 })
        }
    }

    @Test func aFailingCanaryLeavesEveryoneElseAlone() async throws {
        try await withControlPlane { pool, provisioner in
            for slug in ["acme", "beta", "gamma"] {
                try await provisioner.create(.init(slug: slug, displayName: slug), on: pool)
            }
            try await pool.execute("ALTER TABLE t_acme.institutional_accounts ADD COLUMN note text")
            let outcome = await TenantMigrationCampaign(
                runner: TenantMigrationRunner(plan: Self.extended, logger: TestDatabase.logger), canaryCount: 1
            ).run(try ["acme", "beta", "gamma"].map { try TenantSlug($0) }, on: pool)
            #expect(outcome.stoppedAfterCanary)
            #expect(outcome.migrated.isEmpty)
            let base = TenancyFixture.tenant.generation
            #expect(try await Self.versions(pool) == ["acme": base, "beta": base, "gamma": base])
        }
    }
}
