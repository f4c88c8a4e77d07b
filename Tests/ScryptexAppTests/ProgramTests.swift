import ScryptexApp
import ScryptexCommandLine
import ScryptexPostgres
import ScryptexTestSupport
import Synchronization
import Testing

/// Runs the command line in-process and captures what it prints.
final class CapturedProgram: Sendable {
    private let captured = Mutex<(output: [String], errors: [String])>(([], []))

    var output: [String] { captured.withLock { $0.output } }
    var errors: String { captured.withLock { $0.errors.joined(separator: "\n") } }

    func run(_ arguments: [String], environment: [String: String] = [:]) async -> Int32 {
        let program = ScryptexProgram(
            environment: environment.merging(["LOG_LEVEL": "error"]) { mine, _ in mine },
            output: { line in self.captured.withLock { $0.output.append(line) } },
            errorOutput: { line in self.captured.withLock { $0.errors.append(line) } }
        )
        return await program.run(arguments: arguments)
    }
}

@Suite("Command line")
struct ProgramTests {
    @Test func helpAndVersion() async {
        let program = CapturedProgram()
        #expect(await program.run(["--help"]) == 0)
        #expect(await program.run(["version"]) == 0)
        #expect(program.output.contains("scryptex \(ScryptexProgram.version)"))
        for command in ["serve", "db", "migrate", "config", "version"] {
            #expect(program.output.joined().contains(command))
            #expect(await program.run([command, "--help"]) == 0)
        }
        for command in ["start", "stop", "status", "url"] {
            #expect(await program.run(["db", command, "--help"]) == 0)
        }
    }

    @Test(arguments: [["bogus"], ["db"], ["db", "restart"], ["migrate", "--force"], ["config", "extra"]])
    func usageErrorsExitWithTwo(arguments: [String]) async {
        let program = CapturedProgram()
        #expect(await program.run(arguments) == 2)
        #expect(program.errors.contains("scryptex: "))
        #expect(program.errors.contains("USAGE:"))
    }

    @Test func invalidConfigurationExitsNonZeroNamingTheVariable() async {
        let program = CapturedProgram()
        #expect(await program.run(["migrate"], environment: ["AUDIT_RETENTION_DAYS": "seven years"]) == 1)
        #expect(program.errors.contains("AUDIT_RETENTION_DAYS='seven years'"))
    }

    @Test func configPrintsEveryVariableWithSecretsMasked() async {
        let program = CapturedProgram()
        #expect(
            await program.run(
                ["config"], environment: ["DATABASE_URL": "postgres://u:topsecret@db/x", "LOG_LEVEL": "debug"]) == 0)
        let text = program.output.joined(separator: "\n")
        for variable in [
            "ENABLE_ENTERPRISE_FEATURES", "INSTITUTIONAL_KYC_PROVIDER", "COMPLIANCE_MONITORING", "ML_TRAINING_ENABLED",
            "MARKET_MAKING_ENABLED", "DEFAULT_JURISDICTION", "REGULATORY_REPORTING_ENABLED", "AUDIT_RETENTION_DAYS",
            "ML_MODEL_STORAGE_PATH", "BACKTESTING_DATA_SOURCE", "TRAINING_COMPUTE_TIER", "WHITE_LABEL_ENABLED",
            "CUSTOM_DOMAIN_SUPPORT", "PARTNER_REVENUE_SHARE_DEFAULT", "BI_REPORTS_ENABLED",
            "EXECUTIVE_DASHBOARD_REFRESH",
            "REPORT_GENERATION_TIMEOUT", "DATABASE_URL", "SCRYPTEX_DATA_DIR", "HTTPS_LISTEN", "HTTP_LISTEN",
            "PLATFORM_DOMAIN", "LOG_LEVEL",
        ] {
            #expect(text.contains(variable), "config output lacks \(variable)")
        }
        #expect(!text.contains("topsecret"))
        #expect(text.contains("postgresql://u:***@db/x"))
        #expect(text.contains("debug  (environment)"))
    }

    /// "tenancy 1, tenancy 2, …, compliance 1": every migration of the plan's sets, in order.
    static func everyMigration(of plan: MigrationPlan) -> String {
        plan.sets.flatMap { set in set.migrations.map { "\(set.name) \($0.version)" } }.joined(separator: ", ")
    }

    @Test func migrateAppliesPlatformAndTenantSchemas() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let environment = ["DATABASE_URL": configuration.url()]
            let program = CapturedProgram()
            let first = await program.run(["migrate"], environment: environment)
            #expect(first == 0, "\(program.errors)")
            #expect(
                program.output.contains(
                    "platform schema platform: applied \(Self.everyMigration(of: SchemaPlans.platform)); now at generation \(SchemaPlans.platform.generation)"
                ))
            #expect(await program.run(["migrate"], environment: environment) == 0)
            #expect(
                program.output.contains(
                    "platform schema platform: up to date at generation \(SchemaPlans.platform.generation)"))

            // A provisioned tenant's schema is migrated as its own role.
            #expect(
                await program.run(["tenant", "create", "acme", "--name", "Acme Fund"], environment: environment) == 0)
            #expect(program.output.contains { $0.hasPrefix("created tenant acme") })
            #expect(await program.run(["migrate"], environment: environment) == 0)
            #expect(
                program.output.contains(
                    "tenant schemas: 1 total, 1 already up to date, 0 migrated, 0 failed (tenant schemas at generation \(SchemaPlans.tenant.generation))"
                ))
            let connection = try await PostgresConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            let tables = try await connection.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 't_acme' ORDER BY table_name"
            )
            #expect(
                Set(try tables.map { try $0.decode("table_name", as: String.self) }).isSuperset(of: [
                    "api_keys", "audit_records", "custom_roles", "institutional_accounts", "institutional_team_members",
                    "scryptex_migrations", "sessions", "user_recovery_codes", "users",
                ])
            )
            let version = try await connection.query("SELECT schema_version FROM platform.tenants WHERE slug = 'acme'")
            #expect(try version.first?.decode("schema_version", as: Int.self) == SchemaPlans.tenant.generation)
            await connection.close()

            #expect(await program.run(["migrate", "--status"], environment: environment) == 0)
            #expect(program.output.contains("platform tenancy 1 create_control_plane: applied"))
        }
    }

    @Test func tenantCommandsReportConflictsAndBadInput() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let environment = ["DATABASE_URL": configuration.url()]
            let program = CapturedProgram()
            #expect(await program.run(["tenant", "list"], environment: environment) == 0)
            #expect(program.output.last == "no tenants")
            let created = await program.run(
                ["tenant", "create", "acme", "--name", "Acme", "--domain", "acme.example"], environment: environment)
            #expect(created == 0)
            #expect(await program.run(["tenant", "create", "acme", "--name", "Again"], environment: environment) == 1)
            #expect(program.errors.contains("the slug 'acme' is already taken"))
            #expect(await program.run(["tenant", "create", "Bad-Slug", "--name", "X"], environment: environment) == 2)
            #expect(program.errors.contains("the slug 'Bad-Slug' is not valid"))
            #expect(await program.run(["tenant", "create", "zenith"], environment: environment) == 2)
            #expect(program.errors.contains("option '--name' is required"))
            #expect(await program.run(["tenant", "list"], environment: environment) == 0)
            #expect(
                program.output.last
                    == "acme  active  v\(SchemaPlans.tenant.generation)  primary  Acme  [acme.example acme.localhost]")
            let archivePath = "/tmp/scryptex-export-\(UInt64.random(in: 0...UInt64.max)).jsonl"
            defer { try? FileManagerFacade.remove(archivePath) }
            #expect(
                await program.run(["tenant", "export", "acme", "--output", archivePath], environment: environment) == 0)
            #expect(
                await program.run(
                    ["tenant", "import", archivePath, "--slug", "acme_restored"], environment: environment) == 0)
            #expect(program.output.last?.hasPrefix("imported tenant acme_restored") == true)
            #expect(await program.run(["tenant", "import", archivePath], environment: environment) == 2)
            #expect(
                await program.run(
                    ["tenant", "delete", "acme_restored", "--confirm", "acme_restored"], environment: environment) == 2)
            #expect(program.errors.contains("suspend it before deleting it"))
            #expect(await program.run(["migrate", "--check-drift"], environment: environment) == 0)
            #expect(program.output.last == "schema drift: 0 of 2 tenants differ from their migrations")
        }
    }

    @Test func dbCommandsRefuseToManageAnExternalDatabase() async {
        let program = CapturedProgram()
        let environment = ["DATABASE_URL": "postgres://u:pw@db.example.com/x"]
        #expect(await program.run(["db", "start"], environment: environment) == 1)
        #expect(program.errors.contains("DATABASE_URL is set"))
        #expect(!program.errors.contains("pw@"))
        #expect(await program.run(["db", "url"], environment: environment) == 0)
        #expect(program.output.last == "postgresql://u:pw@db.example.com/x")
    }

    @Test func embeddedClusterThroughTheCommandLine() async throws {
        let root = "/tmp/scryptex-cli-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let environment = ["SCRYPTEX_DATA_DIR": root]
        let program = CapturedProgram()
        #expect(await program.run(["db", "status"], environment: environment) == 3)
        #expect(await program.run(["db", "url"], environment: environment) == 1)
        #expect(await program.run(["db", "start"], environment: environment) == 0)
        #expect(await program.run(["db", "status"], environment: environment) == 0)
        #expect(await program.run(["db", "url"], environment: environment) == 0)
        let url = try #require(program.output.last)
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConfiguration(url: url), logger: TestDatabase.logger)
        #expect(
            try await connection.query("SELECT current_database() AS name").first?.decode("name", as: String.self)
                == "scryptex")
        await connection.close()
        #expect(await program.run(["migrate"], environment: environment) == 0)
        #expect(await program.run(["db", "stop"], environment: environment) == 0)
        #expect(await program.run(["db", "status"], environment: environment) == 3)
        // migrate on a stopped cluster starts it, migrates, and stops it again.
        #expect(await program.run(["migrate"], environment: environment) == 0)
        #expect(
            program.output.contains(
                "platform schema platform: up to date at generation \(SchemaPlans.platform.generation)"))
        #expect(await program.run(["db", "status"], environment: environment) == 3)
        try? FileManagerFacade.remove(root)
    }
}
