import Foundation
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@Suite("Identity's part of every tenant's schema: the trail's guard, its import, crypto-shredding")
struct IdentityTenantSchemaExtensionTests {
    @Test func anArchivedTrailIsAppendedToTheNewTenantsChainAndStaysIntact() async throws {
        try await withIdentityTenant { pool, _, acme, provisioner in
            try await AuditTrailTests.append(3, to: acme, pool: pool)
            let archive = TenantArchive(provisioner: provisioner, logger: TestDatabase.logger)
            let copy = try await archive.import(try await archive.export("acme", on: pool), as: "acme_copy", on: pool)

            let trail = try await TenantScope(tenant: copy, pool: pool).withTransaction { transaction in
                try await transaction.query(
                    """
                    SELECT object_id, details ->> 'importedPosition' AS origin, chain_position
                    FROM audit_records WHERE details ? 'importedPosition' ORDER BY chain_position
                    """)
            }
            #expect(try trail.map { try $0.decode("object_id", as: String.self) } == ["a0", "a1", "a2"])
            #expect(try trail.map { try $0.decode("origin", as: String.self) } == ["1", "2", "3"])
            // The copy's chain holds its own records (the provisioning's) and the imported ones,
            // gap-free and verifiable; new records continue it.
            try await AuditTrailTests.append(1, to: copy, pool: pool)
            let verification = try await AuditTrailTests.verify(copy, pool: pool)
            #expect(verification.isIntact, "\(String(describing: verification.firstBrokenLink))")
            #expect(verification.lastPosition == Int64(verification.recordsChecked))
            #expect(verification.recordsChecked > trail.count)

            // The tenant's own role can read its trail, never write it.
            let denied = await #expect(throws: PostgresError.self) {
                try await TenantScope(tenant: copy, pool: pool).withTransaction { transaction in
                    try await transaction.execute(
                        "INSERT INTO audit_records (actor, action, previous_hash, record_hash) VALUES ('me', 'forged', '', '')"
                    )
                }
            }
            #expect(denied?.sqlState == .insufficientPrivilege)
        }
    }

    @Test func aDeletedTenantsDataKeysAreDestroyed() async throws {
        try await withIdentityTenant { pool, _, acme, provisioner in
            let keys: PostgresQuery = "SELECT count(*) AS n FROM platform.tenant_data_keys WHERE tenant_id = \(acme.id)"
            #expect(try await pool.query(keys).firstRow.decode("n", as: Int.self) == 1)
            try await TenantLifecycle().setStatus(.suspended, of: "acme", on: pool)
            try await TenantDeletion(archive: TenantArchive(provisioner: provisioner, logger: TestDatabase.logger))
                .delete("acme", confirmation: "acme", on: pool) { _ in }
            #expect(try await pool.query(keys).firstRow.decode("n", as: Int.self) == 0)
        }
    }
}
