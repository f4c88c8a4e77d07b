import ScryptexCore
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
                    """
                )
                // Only the host writes a trail.
                try await TenantScope.asHost(in: transaction) {
                    try await transaction.executeScript(
                        "INSERT INTO audit_records (actor, action) VALUES ('u1', 'create'), ('u1', 'update')"
                    )
                }
            }
            let archive = TenantArchive(provisioner: provisioner, logger: TestDatabase.logger)
            let lines = try await archive.export("acme", on: pool)
            #expect(lines.first?.contains("scryptex-tenant-export") == true)

            let copy = try await archive.import(lines, as: "acme_copy", on: pool)
            let original = try await Self.contents(of: acme, pool: pool)
            let restored = try await Self.contents(of: copy, pool: pool)
            #expect(original.count == 5)
            let isAudit: (String) -> Bool = { $0.hasPrefix("audit_records ") }
            #expect(restored.filter { !isAudit($0) } == original.filter { !isAudit($0) })
            // The trail is appended by its extension in the new tenant, in the same order, with provenance.
            let trail = try await TenantScope(tenant: copy, pool: pool).withTransaction { transaction in
                try await transaction.query(
                    "SELECT actor, action, details ->> 'importedPosition' AS origin FROM audit_records ORDER BY chain_position"
                )
            }
            #expect(try trail.map { try $0.decode("action", as: String.self) } == ["create", "update"])
            #expect(try trail.map { try $0.decode("origin", as: String?.self) } == ["1", "2"])
            // New records continue the chain after the imported ones.
            let next = try await TenantScope(tenant: copy, pool: pool).withTransaction { transaction in
                try await TenantScope.asHost(in: transaction) {
                    try await transaction.query(
                        "INSERT INTO audit_records (actor, action) VALUES ('u2', 'x') RETURNING chain_position"
                    ).first!.decode("chain_position", as: Int.self)
                }
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
            let notArchive = await #expect(throws: ServiceError.self) {
                try await archive.import(["{}"], as: "copy", on: pool)
            }
            #expect(notArchive?.message == "line 1: this is not a Scryptex tenant archive")
            let future = #"{"format":"scryptex-tenant-export","slug":"x","schemaVersion":99}"#
            let tooNew = await #expect(throws: ServiceError.self) {
                try await archive.import([future], as: "copy", on: pool)
            }
            #expect(tooNew?.message.contains("schema version 99") == true)
            let tenants = try await provisioner.list(on: pool)
            #expect(tenants.isEmpty)
        }
    }
}

@Suite("Tenant deletion")
struct TenantDeletionTests {
    @Test func deletionTakesTwoStepsAndKeepsAFinalExport() async throws {
        try await withControlPlane { pool, provisioner in
            try await provisioner.create(
                .init(slug: "acme", displayName: "Acme", domains: ["trade.acme.example"]), on: pool)
            let archive = TenantArchive(provisioner: provisioner, logger: TestDatabase.logger)
            let deletion = TenantDeletion(archive: archive)
            var exported: [String] = []

            let active = await #expect(throws: ServiceError.self) {
                try await deletion.delete("acme", confirmation: "acme", on: pool) { exported = $0 }
            }
            #expect(active?.message == "tenant 'acme' is active; suspend it before deleting it")
            try await TenantLifecycle().setStatus(.suspended, of: "acme", on: pool)
            let unconfirmed = await #expect(throws: ServiceError.self) {
                try await deletion.delete("acme", confirmation: "acm", on: pool) { exported = $0 }
            }
            #expect(unconfirmed?.code == .invalidInput)
            #expect(exported.isEmpty)

            try await deletion.delete("acme", confirmation: "acme", on: pool) { exported = $0 }
            #expect(exported.first?.contains("scryptex-tenant-export") == true)
            let state = try await pool.query(
                """
                SELECT (SELECT status FROM platform.tenants WHERE slug = 'acme') AS status,
                       (SELECT count(*) FROM pg_namespace WHERE nspname = 't_acme') AS schemas,
                       (SELECT count(*) FROM platform.tenant_domains) AS domains,
                       (SELECT count(*) FROM pg_roles WHERE rolname = 'tr_' || left(encode(sha256(current_database()::bytea), 'hex'), 8) || '_acme') AS roles
                """
            )
            let row = try #require(state.first)
            #expect(try row.decode("status", as: String.self) == "deleted")
            #expect(try row.decode("schemas", as: Int.self) == 0)
            #expect(try row.decode("domains", as: Int.self) == 0)
            #expect(try row.decode("roles", as: Int.self) == 0)
            // The final export restores the tenant's data under a new slug; the domain is free again.
            let restored = try await archive.import(exported, as: "acme_restored", on: pool)
            #expect(restored.status == .active)
            try await provisioner.create(
                .init(slug: "other", displayName: "Other", domains: ["trade.acme.example"]), on: pool)
        }
    }
}
