import ScryptexApp
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Tenant export and import")
struct TenantArchiveTests {
    static func contents(of tenant: Tenant, pool: PostgresConnectionPool) async throws -> [String] {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            var lines: [String] = []
            for table in ["institutional_accounts", "institutional_team_members", "audit_records"] {
                let rows = try await transaction.query(
                    "SELECT row_to_json(r)::text AS line FROM \(identifier: try SQLIdentifier(table)) r ORDER BY 1"
                )
                lines += try rows.map { table + " " + (try $0.decode("line", as: String.self)) }
            }
            return lines.sorted()
        }
    }

    @Test func roundTripUnderANewSlug() async throws {
        try await withControlPlane { pool, provisioner in
            let acme = try await provisioner.create(
                .init(
                    slug: "acme", displayName: "Acme Capital", domains: ["trade.acme.example"], features: ["ml": false]),
                on: pool)
            try await pool.execute(
                "UPDATE platform.tenant_branding SET product_name = 'Acme Prime', colors = '{\"primary\":\"#0B3D91\"}' WHERE tenant_id = \(acme.id)"
            )
            try await TenantScope(tenant: acme, pool: pool).withTransaction { transaction in
                try await transaction.executeScript(
                    """
                    INSERT INTO institutional_accounts (id, account_name, account_type, legal_name, jurisdiction, total_aum)
                    VALUES ('11111111-1111-1111-1111-111111111111', 'Master', 'hedge_fund', 'Acme LP', 'US', 1000000000.25);
                    INSERT INTO institutional_accounts (parent_id, account_name, account_type, legal_name, jurisdiction)
                    VALUES ('11111111-1111-1111-1111-111111111111', 'Sub', 'hedge_fund', 'Acme Sub LP', 'KY');
                    INSERT INTO institutional_team_members (account_id, email_hash, role)
                    VALUES ('11111111-1111-1111-1111-111111111111', 'abc123', 'owner');
                    INSERT INTO audit_records (actor, action, previous_hash, record_hash) VALUES ('u1', 'create', '0', 'h1'), ('u1', 'update', 'h1', 'h2');
                    """
                )
            }
            let archive = TenantArchive(provisioner: provisioner, logger: TestDatabase.logger)
            let lines = try await archive.export("acme", on: pool)
            #expect(lines.first?.contains("scryptex-tenant-export") == true)

            let copy = try await archive.import(lines, as: "acme_copy", on: pool)
            let original = try await Self.contents(of: acme, pool: pool)
            let restored = try await Self.contents(of: copy, pool: pool)
            #expect(original.count == 5)
            #expect(restored == original)
            // Identity sequences continue after the imported values.
            let next = try await TenantScope(tenant: copy, pool: pool).withTransaction { transaction in
                try await transaction.query(
                    "INSERT INTO audit_records (actor, action, previous_hash, record_hash) VALUES ('u2', 'x', 'h2', 'h3') RETURNING sequence"
                ).first!.decode("sequence", as: Int.self)
            }
            #expect(next == 3)
            let branding = try await pool.query(
                "SELECT product_name, colors->>'primary' AS primary FROM platform.tenant_branding WHERE tenant_id = \(copy.id)"
            )
            #expect(try branding.first?.decode("product_name", as: String.self) == "Acme Prime")
            #expect(try branding.first?.decode("primary", as: String.self) == "#0B3D91")
            let ml = try await pool.query(
                "SELECT enabled FROM platform.tenant_features WHERE tenant_id = \(copy.id) AND feature = 'ml'")
            #expect(try ml.first?.decode("enabled", as: Bool.self) == false)
            // The custom domain stays with the original tenant.
            let domains = try await pool.query(
                "SELECT hostname FROM platform.tenant_domains WHERE tenant_id = \(copy.id)")
            #expect(try domains.map { try $0.decode("hostname", as: String.self) } == ["acme_copy.localhost"])
        }
    }

    @Test func badArchivesAreRefusedAndLeaveNothing() async throws {
        try await withControlPlane { pool, provisioner in
            let archive = TenantArchive(provisioner: provisioner, logger: TestDatabase.logger)
            let notArchive = await #expect(throws: TenancyError.self) {
                try await archive.import(["{}"], as: "copy", on: pool)
            }
            #expect(notArchive?.message == "line 1: this is not a Scryptex tenant archive")
            let future = #"{"format":"scryptex-tenant-export","slug":"x","schemaVersion":99}"#
            let tooNew = await #expect(throws: TenancyError.self) {
                try await archive.import([future], as: "copy", on: pool)
            }
            #expect(tooNew?.message.contains("schema version 99") == true)
            let tenants = try await provisioner.list(on: pool)
            #expect(tenants.isEmpty)
        }
    }
}
