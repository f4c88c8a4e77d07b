import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Tenants: spare schemas built ahead of need")
struct TenantSpareSchemaTests {
    private struct SetUpFailed: Error {}

    private static func spareSchemaNames(on pool: PostgresConnectionPool) async throws -> [String] {
        try await pool.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'spare\\_%' ORDER BY nspname").map {
            try $0.decode("nspname", as: String.self)
        }
    }

    @Test func aTenantMadeFromASpareIsLikeOneBuiltOnTheSpot() async throws {
        try await withControlPlane { pool, provisioner in
            // Built on the spot: no spare is ready yet.
            let zenith = try await provisioner.create(.init(slug: "zenith", displayName: "Zenith"), on: pool)
            #expect(try await provisioner.spares.replenish(to: 2, on: pool) == 2)
            #expect(try await provisioner.spares.replenish(to: 2, on: pool) == 0)
            #expect(try await provisioner.spares.readyCount(on: pool) == 2)
            #expect(try await Self.spareSchemaNames(on: pool).count == 2)

            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            #expect(try await provisioner.spares.readyCount(on: pool) == 1)
            #expect(try await Self.spareSchemaNames(on: pool).count == 1)

            // Same shape, same ownership, trail functions pointed at the tenant's own schema.
            let drift = try await TenantSchemaDrift(plan: TenancyFixture.tenant, logger: TestDatabase.logger)
                .check([acme.slug, zenith.slug], on: pool)
            #expect(drift.isEmpty, "\(drift)")
            let owners = try await pool.query(
                """
                SELECT schemaname, tablename, tableowner FROM pg_tables
                WHERE schemaname IN ('t_acme', 't_zenith') AND tablename <> 'audit_records'
                """
            )
            for row in owners {
                let schema = try row.decode("schemaname", as: String.self)
                #expect(try row.decode("tableowner", as: String.self).hasSuffix("_" + schema.dropFirst(2)))
            }
            let settings = try await pool.query(
                """
                SELECT p.proname, array_to_string(p.proconfig, ',') AS config FROM pg_proc p
                WHERE p.pronamespace = 't_acme'::regnamespace AND p.proconfig IS NOT NULL
                """
            )
            #expect(try settings.map { try $0.decode("config", as: String.self) } == ["search_path=t_acme"])

            // The trail works (its trigger finds the table through that search_path) and the
            // tenant is as isolated as any other.
            let scope = TenantScope(tenant: acme, pool: pool)
            let position = try await scope.withTransaction { transaction in
                try await TenantScope.asHost(in: transaction) {
                    try await transaction.query(
                        "INSERT INTO audit_records (actor, action) VALUES ('test', 'spare.check') RETURNING chain_position"
                    )
                }
            }
            #expect(try position.first?.decode("chain_position", as: Int.self) == 1)
            let error = await #expect(throws: PostgresError.self) {
                try await scope.withTransaction { try await $0.query("SELECT * FROM t_zenith.institutional_accounts") }
            }
            #expect(error?.sqlState == .insufficientPrivilege)
        }
    }

    @Test func aFailedCreationGivesTheSpareBack() async throws {
        try await withControlPlane { pool, _ in
            let failing = TenantProvisioner(
                platformDomain: "localhost", tenantSchema: TenancyFixture.tenant, logger: TestDatabase.logger,
                setUp: { _, _ in throw SetUpFailed() })
            try await failing.spares.replenish(to: 1, on: pool)
            let spare = try await Self.spareSchemaNames(on: pool)
            await #expect(throws: SetUpFailed.self) {
                try await failing.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            }
            #expect(try await Self.spareSchemaNames(on: pool) == spare)
            #expect(try await failing.spares.readyCount(on: pool) == 1)
            let leftovers = try await pool.query(
                """
                SELECT (SELECT count(*) FROM platform.tenants) AS rows,
                       (SELECT count(*) FROM pg_namespace WHERE nspname = 't_acme') AS schemas,
                       (SELECT count(*) FROM pg_roles
                        WHERE rolname = 'tr_' || left(encode(sha256(current_database()::bytea), 'hex'), 8) || '_acme') AS roles
                """
            )
            let row = try #require(leftovers.first)
            #expect(try row.decode("rows", as: Int.self) == 0)
            #expect(try row.decode("schemas", as: Int.self) == 0)
            #expect(try row.decode("roles", as: Int.self) == 0)
        }
    }

    @Test func aSpareBuiltBeforeANewMigrationGetsItWhenTaken() async throws {
        try await withControlPlane { pool, provisioner in
            var sets = TenancyFixture.tenant.migrations.sets
            let last = sets.removeLast()
            let older = TenantSchemaPlan(
                MigrationPlan(sets + [MigrationSet(name: last.name, migrations: Array(last.migrations.dropLast(2)))]),
                extensions: TenancyFixture.tenant.extensions)
            try await TenantSpareSchemas(tenantSchema: older, logger: TestDatabase.logger).replenish(
                to: 1, on: pool)
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            #expect(try await provisioner.spares.readyCount(on: pool) == 0)
            let applied = try await pool.query("SELECT count(*) AS n FROM t_acme.scryptex_migrations")
            #expect(
                try applied.firstRow.decode("n", as: Int.self)
                    == TenancyFixture.tenant.migrations.sets.reduce(0) { $0 + $1.migrations.count })
            let drift = try await TenantSchemaDrift(plan: TenancyFixture.tenant, logger: TestDatabase.logger)
                .check([acme.slug], on: pool)
            #expect(drift.isEmpty, "\(drift)")
        }
    }

    @Test func concurrentCreationsTakeDifferentSpares() async throws {
        try await withControlPlane { pool, provisioner in
            try await provisioner.spares.replenish(to: 3, on: pool)
            let slugs = ["alpha", "bravo", "charlie"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for slug in slugs {
                    group.addTask {
                        try await provisioner.create(.init(slug: slug, displayName: slug.capitalized), on: pool)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await provisioner.spares.readyCount(on: pool) == 0)
            #expect(try await Self.spareSchemaNames(on: pool).isEmpty)
            #expect(try await provisioner.list(on: pool).map(\.slug.value) == slugs)
        }
    }
}
