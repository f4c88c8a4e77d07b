import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("Migrations")
struct MigratorTests {
    static let first = Migration(
        version: 1, name: "create_widgets", sql: "CREATE TABLE widgets (id int PRIMARY KEY, name text);")
    static let second = Migration(version: 2, name: "add_colour", sql: "ALTER TABLE widgets ADD COLUMN colour text;")
    static let schema = SQLIdentifier(static: "inventory")

    @Test func appliesPendingMigrationsOnce() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let migrator = Migrator(
                set: MigrationSet(name: "test", migrations: [Self.first]), logger: TestDatabase.logger)
            let report = try await migrator.migrate(schema: Self.schema, on: connection)
            #expect(report.applied.map(\.version) == [1])
            #expect(report.generation == 1)
            #expect(try await migrator.migrate(schema: Self.schema, on: connection).applied.map(\.version) == [])

            let extended = Migrator(
                set: MigrationSet(name: "test", migrations: [Self.first, Self.second]), logger: TestDatabase.logger)
            #expect(try await extended.status(schema: Self.schema, on: connection).map(\.isApplied) == [true, false])
            #expect(try await extended.migrate(schema: Self.schema, on: connection).applied.map(\.version) == [2])
            try await connection.execute("INSERT INTO inventory.widgets (id, name, colour) VALUES (1, 'a', 'red')")
            let recorded = try await connection.query(
                "SELECT version, checksum FROM inventory.scryptex_migrations ORDER BY version")
            #expect(try recorded.map { try $0.decode("version", as: Int.self) } == [1, 2])
            #expect(try recorded.first?.decode("checksum", as: String.self) == Self.first.checksum)
        }
    }

    @Test func refusesAnAppliedMigrationWhoseSQLChanged() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await Migrator(set: MigrationSet(name: "test", migrations: [Self.first]), logger: TestDatabase.logger)
                .migrate(schema: Self.schema, on: connection)
            let edited = Migration(
                version: 1, name: "create_widgets", sql: "CREATE TABLE widgets (id bigint PRIMARY KEY);")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(
                    set: MigrationSet(name: "test", migrations: [edited, Self.second]), logger: TestDatabase.logger
                )
                .migrate(schema: Self.schema, on: connection)
            }
            #expect(error?.code == .checksumMismatch)
            #expect(error?.message.contains("migration 1 'create_widgets' was changed") == true)
            // Nothing after it was applied.
            let columns = try await connection.query(
                "SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'inventory' AND table_name = 'widgets' AND column_name = 'colour'"
            )
            #expect(try columns.first?.decode("n", as: Int.self) == 0)
        }
    }

    @Test func refusesAnAppliedMigrationItDoesNotKnow() async throws {
        try await TestDatabase.withFreshConnection { connection in
            try await Migrator(
                set: MigrationSet(name: "test", migrations: [Self.first, Self.second]), logger: TestDatabase.logger
            )
            .migrate(schema: Self.schema, on: connection)
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(
                    set: MigrationSet(name: "test", migrations: [Self.first]), logger: TestDatabase.logger
                )
                .migrate(schema: Self.schema, on: connection)
            }
            #expect(error?.code == .unknownVersion)
            #expect(error?.message.contains("migration 2 'add_colour'") == true)
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let broken = Migration(
                version: 2, name: "half_done",
                sql: "CREATE TABLE gadgets (id int); INSERT INTO gadgets VALUES (1); SELECT * FROM no_such_table;"
            )
            let migrator = Migrator(
                set: MigrationSet(name: "test", migrations: [Self.first, broken]), logger: TestDatabase.logger)
            let error = await #expect(throws: MigrationError.self) {
                try await migrator.migrate(schema: Self.schema, on: connection)
            }
            #expect(error?.code == .failed)
            #expect(error?.message.contains("migration 2 'half_done' failed") == true)
            let gadgets = try await connection.query("SELECT to_regclass('inventory.gadgets') IS NULL AS absent")
            #expect(try gadgets.first?.decode("absent", as: Bool.self) == true)
            // The migration before it stays applied.
            #expect(try await migrator.status(schema: Self.schema, on: connection).map(\.isApplied) == [true, false])
        }
    }

    @Test func concurrentHostsApplyEachMigrationExactlyOnce() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let slow = Migration(
                version: 3, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE audit_marker (id int);")
            let set = MigrationSet(name: "test", migrations: [Self.first, Self.second, slow])
            let reports = try await withThrowingTaskGroup(of: Migrator.Report.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let connection = try await PostgresConnection.connect(
                            configuration: configuration, logger: TestDatabase.logger)
                        let report = try await Migrator(set: set, logger: TestDatabase.logger).migrate(
                            schema: Self.schema, on: connection)
                        await connection.close()
                        return report
                    }
                }
                var all: [Migrator.Report] = []
                for try await report in group { all.append(report) }
                return all
            }
            #expect(reports.flatMap(\.applied).map(\.version).sorted() == [1, 2, 3])
            #expect(reports.allSatisfy { $0.generation == 3 })
        }
    }

    // Module sets and the legacy conversion.

    static let widgets = MigrationSet(name: "widgets", migrations: [first, second])
    static let gadgets = MigrationSet(
        name: "gadgets",
        migrations: [
            Migration(version: 1, name: "create_gadgets", sql: "CREATE TABLE gadgets (id int REFERENCES widgets (id));")
        ])

    @Test func eachSetCountsItsOwnVersionsInPlanOrder() async throws {
        try await TestDatabase.withFreshConnection { connection in
            let plan = MigrationPlan([Self.widgets, Self.gadgets])
            let report = try await Migrator(plan: plan, logger: TestDatabase.logger).migrate(
                schema: Self.schema, on: connection)
            #expect(report.applied.map(\.description) == ["widgets 1", "widgets 2", "gadgets 1"])
            #expect(report.generation == 3)
            let recorded = try await connection.query(
                "SELECT migration_set || ' ' || version AS entry FROM inventory.scryptex_migrations ORDER BY applied_at, version"
            )
            #expect(
                try recorded.map { try $0.decode("entry", as: String.self) }.sorted() == [
                    "gadgets 1", "widgets 1", "widgets 2",
                ])
            // A set the program does not have is refused by name.
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(set: Self.widgets, logger: TestDatabase.logger).migrate(
                    schema: Self.schema, on: connection)
            }
            #expect(error?.code == .unknownSet)
            #expect(error?.message.contains("no migration set 'gadgets'") == true)
        }
    }

    @Test func aLegacySchemaIsBroughtToItsEndThenConvertedWithoutRunningAnything() async throws {
        try await TestDatabase.withFreshConnection { connection in
            // The legacy set: one list that built both tables (its second migration not yet applied).
            let legacy = MigrationSet(
                name: "old",
                migrations: [
                    Migration(
                        version: 1, name: "create_both",
                        sql:
                            "CREATE TABLE widgets (id int PRIMARY KEY, name text); CREATE TABLE gadgets (id int REFERENCES widgets (id));"
                    ),
                    Migration(version: 2, name: "add_colour", sql: "ALTER TABLE widgets ADD COLUMN colour text;"),
                ])
            try await Migrator(
                set: MigrationSet(name: "old", migrations: [legacy.migrations[0]]), logger: TestDatabase.logger
            )
            .migrate(schema: Self.schema, on: connection)
            try await connection.execute("INSERT INTO inventory.widgets (id, name) VALUES (7, 'kept')")
            // The bookkeeping table as the legacy program made it: the version alone was the key.
            try await connection.execute(
                "ALTER TABLE inventory.scryptex_migrations DROP CONSTRAINT scryptex_migrations_pkey, ADD PRIMARY KEY (version)"
            )

            let later = Migration(version: 3, name: "add_size", sql: "ALTER TABLE widgets ADD COLUMN size int;")
            let plan = MigrationPlan(
                [MigrationSet(name: "widgets", migrations: [Self.first, Self.second, later]), Self.gadgets],
                legacy: LegacyMigrations(set: legacy, endPoints: ["widgets": 2, "gadgets": 1]))
            let report = try await Migrator(plan: plan, logger: TestDatabase.logger).migrate(
                schema: Self.schema, on: connection)
            // The legacy set's pending migration, the conversion, then what came after the end points.
            #expect(report.applied.map(\.description) == ["old 2", "widgets 3"])
            #expect(report.converted)
            #expect(report.generation == 2 + 3 + 1)
            let row = try await connection.query("SELECT name, colour, size FROM inventory.widgets WHERE id = 7")
                .firstRow
            #expect(try row.decode("name", as: String.self) == "kept")
            let entries = try await Migrator(plan: plan, logger: TestDatabase.logger).status(
                schema: Self.schema, on: connection)
            #expect(entries.allSatisfy { $0.isApplied })
            #expect(
                entries.map { "\($0.set) \($0.version)" } == [
                    "old 1", "old 2", "widgets 1", "widgets 2", "widgets 3", "gadgets 1",
                ])
            let key = try await connection.query(
                """
                SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint
                WHERE conrelid = 'inventory.scryptex_migrations'::regclass AND contype = 'p'
                """)
            #expect(try key.firstRow.decode("definition", as: String.self) == "PRIMARY KEY (migration_set, version)")
            // Nothing left to do; a changed legacy migration is still caught.
            #expect(
                try await Migrator(plan: plan, logger: TestDatabase.logger).migrate(schema: Self.schema, on: connection)
                    .applied.isEmpty)
            let edited = MigrationSet(
                name: "old",
                migrations: [legacy.migrations[0], Migration(version: 2, name: "add_colour", sql: "SELECT 1;")])
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(
                    plan: MigrationPlan(plan.sets, legacy: LegacyMigrations(set: edited, endPoints: ["widgets": 2])),
                    logger: TestDatabase.logger
                ).migrate(schema: Self.schema, on: connection)
            }
            #expect(error?.code == .checksumMismatch)
        }
    }
}
