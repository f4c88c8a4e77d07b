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
            #expect(report.applied == [1])
            #expect(report.currentVersion == 1)
            #expect(try await migrator.migrate(schema: Self.schema, on: connection).applied == [])

            let extended = Migrator(
                set: MigrationSet(name: "test", migrations: [Self.first, Self.second]), logger: TestDatabase.logger)
            #expect(try await extended.status(schema: Self.schema, on: connection).map(\.isApplied) == [true, false])
            #expect(try await extended.migrate(schema: Self.schema, on: connection).applied == [2])
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
            #expect(reports.flatMap(\.applied).sorted() == [1, 2, 3])
            #expect(reports.allSatisfy { $0.currentVersion == 3 })
        }
    }
}
