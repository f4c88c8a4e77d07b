import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexSchemaHistory
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// A database built before each module owned its tables converts to the module sets and ends up
/// with the same schema as one built by them, with its data.
@Suite("Converting legacy schemas to module migration sets")
struct SchemaConversionTests {
    /// Everything about a schema's structure that migrations decide, as comparable lines.
    static func shape(of schema: String, on pool: PostgresConnectionPool) async throws -> Set<String> {
        let rows = try await pool.query(
            """
            SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.data_type
                   || CASE WHEN c.is_nullable = 'NO' THEN ' not null' ELSE '' END
                   || coalesce(' default ' || c.column_default, '')
                   || CASE WHEN c.is_identity = 'YES' THEN ' identity' ELSE '' END AS item
            FROM information_schema.columns c WHERE c.table_schema = \(schema)
            UNION ALL
            SELECT 'constraint ' || r.relname || '.' || k.conname || ' ' || pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = \(schema)
            UNION ALL
            SELECT 'index ' || i.indexdef FROM pg_indexes i WHERE i.schemaname = \(schema)
            UNION ALL
            SELECT 'trigger ' || pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = \(schema) AND NOT t.tgisinternal
            UNION ALL
            SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = \(schema)
            UNION ALL
            SELECT 'owner ' || r.relname || ' ' || CASE WHEN r.relowner = n.nspowner THEN 'schema owner' ELSE 'other' END
            FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
            WHERE n.nspname = \(schema) AND r.relkind IN ('r', 'p')
            """
        )
        return Set(try rows.map { try $0.decode("item", as: String.self) })
    }

    /// As the legacy program left its bookkeeping: the version alone was the key.
    static func narrowBookkeepingKey(of schema: String, on pool: PostgresConnectionPool) async throws {
        try await pool.withConnection { connection in
            try await connection.executeScript(
                """
                ALTER TABLE \(try SQLIdentifier(schema).quoted).scryptex_migrations
                    DROP CONSTRAINT scryptex_migrations_pkey, ADD PRIMARY KEY (version)
                """)
        }
    }

    @Test func aLegacyDatabaseConvertsToTheSameSchemaAsAFreshOneAndKeepsItsData() async throws {
        try await TestDatabase.withFreshDatabase { legacyConfiguration in
            try await TestDatabase.withFreshDatabase { freshConfiguration in
                let legacy = PostgresConnectionPool(
                    configuration: legacyConfiguration, options: .init(maximumConnections: 2),
                    logger: TestDatabase.logger)
                let fresh = PostgresConnectionPool(
                    configuration: freshConfiguration, options: .init(maximumConnections: 2),
                    logger: TestDatabase.logger)
                do {
                    // The legacy program's database: the whole platform set, and a tenant whose
                    // schema is two migrations behind the tenant set's end.
                    try await legacy.withConnection { connection in
                        try await Migrator(set: LegacySchema.platform.set, logger: TestDatabase.logger).migrate(
                            schema: PlatformSchema.name, on: connection)
                    }
                    let behind = MigrationSet(
                        name: "tenant", migrations: Array(LegacySchema.tenant.set.migrations.dropLast(2)))
                    let acme = try await TenantProvisioner(
                        platformDomain: "localhost",
                        tenantSchema: TenantSchemaPlan(
                            MigrationPlan([behind]), extensions: [IdentityTenantSchemaExtension()]),
                        logger: TestDatabase.logger
                    ).create(.init(slug: "acme", displayName: "Acme"), on: legacy)
                    try await Self.narrowBookkeepingKey(of: "platform", on: legacy)
                    try await Self.narrowBookkeepingKey(of: "t_acme", on: legacy)
                    try await legacy.execute(
                        """
                        INSERT INTO t_acme.institutional_accounts (account_name, account_type, legal_name, jurisdiction)
                        VALUES ('Kept Fund', 'hedge_fund', 'Kept Fund LLC', 'US')
                        """)
                    try await legacy.execute(
                        """
                        INSERT INTO platform.revenue_plans (tenant_id, effective_month, plan, created_by)
                        VALUES (\(acme.id), '2026-01', '{"model":"flat"}', 'test')
                        """)

                    // This program's migrate converts both, bringing the tenant to the set's end first.
                    let program = CapturedProgram()
                    #expect(
                        await program.run(["migrate"], environment: ["DATABASE_URL": legacyConfiguration.url()]) == 0)
                    // Converted, and the module migrations released since then applied.
                    #expect(
                        program.output.contains { line in
                            line.hasPrefix("platform schema platform: ")
                                && line.contains("converted its legacy migrations to the module sets")
                                && line.hasSuffix("now at generation \(SchemaPlans.platform.generation)")
                        }, "\(program.output) \(program.errors)")
                    #expect(
                        program.output.contains {
                            $0.hasPrefix("tenant schemas: 1 total, 0 already up to date, 1 migrated, 0 failed")
                        }, "\(program.output)")
                    let tenantRecords = try await legacy.query(
                        "SELECT migration_set || ' ' || version AS entry FROM t_acme.scryptex_migrations")
                    let entries = Set(try tenantRecords.map { try $0.decode("entry", as: String.self) })
                    #expect(entries.contains("tenant 12") && entries.contains("compliance 7"), "\(entries.sorted())")
                    #expect(
                        try await legacy.query("SELECT schema_version FROM platform.tenants WHERE slug = 'acme'")
                            .firstRow
                            .decode("schema_version", as: Int.self) == SchemaPlans.tenant.generation)
                    // A second run has nothing to do.
                    #expect(
                        await program.run(["migrate"], environment: ["DATABASE_URL": legacyConfiguration.url()]) == 0)
                    #expect(
                        program.output.contains(
                            "platform schema platform: up to date at generation \(SchemaPlans.platform.generation)"))

                    // The same schema as a database built by the module sets.
                    let freshProgram = CapturedProgram()
                    let freshEnvironment = ["DATABASE_URL": freshConfiguration.url()]
                    #expect(await freshProgram.run(["migrate"], environment: freshEnvironment) == 0)
                    #expect(
                        await freshProgram.run(
                            ["tenant", "create", "acme", "--name", "Acme"], environment: freshEnvironment)
                            == 0, "\(freshProgram.errors)")
                    for schema in ["platform", "t_acme"] {
                        let converted = try await Self.shape(of: schema, on: legacy)
                        let built = try await Self.shape(of: schema, on: fresh)
                        #expect(
                            converted == built,
                            "\(schema): only after conversion: \(converted.subtracting(built).sorted()); only when built: \(built.subtracting(converted).sorted())"
                        )
                        #expect(converted.count > 40)
                    }

                    // Nothing stored was lost.
                    #expect(
                        try await legacy.query("SELECT account_name FROM t_acme.institutional_accounts").firstRow
                            .decode("account_name", as: String.self) == "Kept Fund")
                    #expect(
                        try await legacy.query("SELECT count(*) AS n FROM platform.revenue_plans").firstRow.decode(
                            "n", as: Int.self) == 1)
                } catch {
                    await legacy.close()
                    await fresh.close()
                    throw error
                }
                await legacy.close()
                await fresh.close()
            }
        }
    }
}
