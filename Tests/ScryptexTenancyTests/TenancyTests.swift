import ScryptexCore
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

/// A migrated control plane and a provisioner on a fresh database.
func withControlPlane<Result>(
    _ body: (PostgresConnectionPool, TenantProvisioner) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withFreshDatabase { configuration in
        let pool = PostgresConnectionPool(
            configuration: configuration, options: .init(maximumConnections: 4), logger: TestDatabase.logger)
        try await pool.withConnection { connection in
            try await Migrator(plan: TenancyFixture.platform, logger: TestDatabase.logger).migrate(
                schema: PlatformSchema.name, on: connection)
        }
        let provisioner = TenantProvisioner(
            platformDomain: "localhost", tenantSchema: TenancyFixture.tenant, logger: TestDatabase.logger)
        do {
            let result = try await body(pool, provisioner)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

@Suite("Tenants: provisioning and isolation")
struct TenancyTests {
    @Test func provisioningCreatesEverythingTheTenantNeeds() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(
                .init(slug: "acme", displayName: "Acme Fund", domains: ["Trade.Acme.Example."]), on: pool)
            #expect(acme.status == .active)
            let tables = try await pool.query(
                "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 't_acme' ORDER BY tablename"
            )
            #expect(
                Set(try tables.map { try $0.decode("tablename", as: String.self) }).isSuperset(of: [
                    "audit_records", "institutional_accounts", "institutional_team_members", "scryptex_migrations",
                ]))
            // The tenant's role owns its tables, except the audit trail, which the host owns so
            // the tenant can only read and append; the role cannot log in.
            let owners = Set(
                try tables.filter { try $0.decode("tablename", as: String.self) != "audit_records" }.map {
                    try $0.decode("tableowner", as: String.self)
                })
            #expect(owners.count == 1)
            let owner = try #require(owners.first)
            #expect(owner.hasSuffix("_acme"))
            let canLogin = try await pool.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = \(owner)")
            #expect(try canLogin.first?.decode("rolcanlogin", as: Bool.self) == false)

            let domains = try await pool.query("SELECT hostname, kind FROM platform.tenant_domains ORDER BY hostname")
            #expect(
                try domains.map { try $0.decode("hostname", as: String.self) } == [
                    "acme.localhost", "trade.acme.example",
                ])
            let features = try await pool.query("SELECT count(*) AS n FROM platform.tenant_features WHERE enabled")
            #expect(try features.first?.decode("n", as: Int.self) == TenantProvisioner.defaultFeatures.count)
            let branding = try await pool.query("SELECT product_name FROM platform.tenant_branding")
            #expect(try branding.first?.decode("product_name", as: String.self) == "Acme Fund")
        }
    }

    @Test func conflictsNameTheTakenValueAndLeaveNothingBehind() async throws {
        try await withControlPlane { pool, provisioner in
            try await provisioner.create(.init(slug: "acme", displayName: "Acme", domains: ["acme.example"]), on: pool)
            let slugTaken = await #expect(throws: ServiceError.self) {
                try await provisioner.create(.init(slug: "acme", displayName: "Other"), on: pool)
            }
            #expect(slugTaken == ServiceError(.conflict, "the slug 'acme' is already taken"))

            let domainTaken = await #expect(throws: ServiceError.self) {
                try await provisioner.create(
                    .init(slug: "zenith", displayName: "Zenith", domains: ["ACME.example"]), on: pool)
            }
            #expect(
                domainTaken == ServiceError(.conflict, "the domain 'acme.example' already belongs to another tenant"))
            // Nothing of the failed tenant exists: no row, no schema, no role.
            let leftovers = try await pool.query(
                """
                SELECT (SELECT count(*) FROM platform.tenants WHERE slug = 'zenith') AS rows,
                       (SELECT count(*) FROM pg_namespace WHERE nspname = 't_zenith') AS schemas,
                       (SELECT count(*) FROM pg_roles WHERE rolname = 'tr_' || left(encode(sha256(current_database()::bytea), 'hex'), 8) || '_zenith') AS roles
                """
            )
            let row = try #require(leftovers.first)
            #expect(try row.decode("rows", as: Int.self) == 0)
            #expect(try row.decode("schemas", as: Int.self) == 0)
            #expect(try row.decode("roles", as: Int.self) == 0)
            // And the first tenant is intact.
            #expect(try await provisioner.list(on: pool).map(\.slug.value) == ["acme"])
        }
    }

    @Test(arguments: [
        ("A", "the slug 'A' is not valid"), ("1acme", "is not valid"), ("acme-fund", "is not valid"),
        ("a", "is not valid"),
        (String(repeating: "a", count: 41), "is not valid"),
    ])
    func invalidSlugsAreRefused(slug: String, message: String) async throws {
        let error = #expect(throws: ServiceError.self) { try TenantSlug(slug) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(message) == true)
        #expect(error?.message.contains(TenantSlug.rule) == true)
    }

    @Test func aTenantWhoseSchemaIsNotThereRunsNoSQL() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            try await pool.execute("ALTER SCHEMA t_acme RENAME TO t_acme_elsewhere")
            let ran = Mutex(false)
            let error = await #expect(throws: PostgresError.self) {
                try await TenantScope(tenant: acme, pool: pool).withTransaction { transaction in
                    // The opening goes out with this statement: its result never reaches the body.
                    try await transaction.query("SELECT 1")
                    ran.withLock { $0 = true }
                }
            }
            // Retryable (a request answers 503): the tenant may be moving to another cluster.
            #expect(error?.code == .connectionFailed)
            #expect(!ran.withLock { $0 })
            // A body that runs no SQL still learns that the tenant is not there.
            let quiet = await #expect(throws: PostgresError.self) {
                try await TenantScope(tenant: acme, pool: pool).withTransaction { _ in }
            }
            #expect(quiet?.code == .connectionFailed)
            try await pool.execute("ALTER SCHEMA t_acme_elsewhere RENAME TO t_acme")
            #expect(
                try await TenantScope(tenant: acme, pool: pool).withTransaction {
                    try await $0.query("SELECT current_user AS role").first?.decode("role", as: String.self)
                }?.hasSuffix("_acme") == true)
        }
    }

    @Test func aTenantCannotReadAnotherTenantsTables() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(.init(slug: "acme", displayName: "Acme"), on: pool)
            let zenith = try await provisioner.create(.init(slug: "zenith", displayName: "Zenith"), on: pool)
            try await TenantScope(tenant: zenith, pool: pool).withTransaction { transaction in
                try await transaction.execute(
                    """
                    INSERT INTO institutional_accounts (account_name, account_type, legal_name, jurisdiction)
                    VALUES ('Zenith Master Fund', 'hedge_fund', 'Zenith LP', 'US')
                    """
                )
            }
            let acmeScope = TenantScope(tenant: acme, pool: pool)
            // Its own tables, unqualified, through its search_path.
            let own = try await acmeScope.withTransaction {
                try await $0.query("SELECT count(*) AS n FROM institutional_accounts")
            }
            #expect(try own.first?.decode("n", as: Int.self) == 0)
            // Another tenant's table by schema-qualified name: a permission error.
            let error = await #expect(throws: PostgresError.self) {
                try await acmeScope.withTransaction { transaction in
                    try await transaction.query("SELECT * FROM t_zenith.institutional_accounts")
                }
            }
            #expect(error?.sqlState == .insufficientPrivilege)
            // Nor the control plane.
            let controlPlane = await #expect(throws: PostgresError.self) {
                try await acmeScope.withTransaction { try await $0.query("SELECT * FROM platform.tenants") }
            }
            #expect(controlPlane.flatMap(\.sqlState) == .insufficientPrivilege)
            // After the transaction the connection is the host's again (SET LOCAL ended with it).
            let after = try await pool.query("SELECT current_user = session_user AS reset, current_schema() AS schema")
            #expect(try after.first?.decode("reset", as: Bool.self) == true)
            #expect(try after.first?.decode("schema", as: String?.self) != "t_acme")
        }
    }

    @Test func directoryFindsTenantsByHost() async throws {
        try await withControlPlane { pool, provisioner in
            try await provisioner.create(
                .init(slug: "acme", displayName: "Acme", domains: ["trade.acme.example"]), on: pool)
            let directory = TenantDirectory()
            try await directory.reload(from: pool)
            // A custom domain is served once its ownership is proven (DomainVerification).
            #expect(directory.count == 1 && directory.tenant(forHost: "trade.acme.example") == nil)
            try await pool.execute(
                "UPDATE platform.tenant_domains SET verification_state = 'verified' WHERE hostname = 'trade.acme.example'"
            )
            try await directory.reload(from: pool)
            #expect(directory.count == 2)
            for host in [
                "trade.acme.example", "TRADE.ACME.EXAMPLE", "trade.acme.example.", "trade.acme.example:8443",
                "acme.localhost",
            ] {
                #expect(directory.tenant(forHost: host)?.slug.value == "acme", "\(host)")
            }
            #expect(directory.tenant(forHost: "unknown.example") == nil)
            #expect(directory.tenant(forHost: "bad host") == nil)
        }
    }
}
