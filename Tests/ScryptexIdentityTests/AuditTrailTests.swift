import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

/// A migrated control plane, a keyring and one tenant with a data key.
func withIdentityTenant<Result>(
    _ body: (PostgresConnectionPool, Keyring, Tenant, TenantProvisioner) async throws -> Result
) async throws -> Result {
    try await TestDatabase.withFreshDatabase { configuration in
        let pool = PostgresConnectionPool(
            configuration: configuration, options: .init(maximumConnections: 4), logger: TestDatabase.logger)
        do {
            try await pool.withConnection { connection in
                try await Migrator(
                    plan: MigrationPlan([TenancyMigrations.platform, IdentityMigrations.platform]),
                    logger: TestDatabase.logger
                ).migrate(
                    schema: PlatformSchema.name, on: connection)
            }
            let keyring = Keyring(master: try MasterKey(bytes: SecureRandom.bytes(count: 32)))
            let provisioner = TenantProvisioner(
                platformDomain: "localhost",
                tenantSchema: TenantSchemaPlan(
                    MigrationPlan([IdentityMigrations.tenant]), extensions: [IdentityTenantSchemaExtension()]),
                logger: TestDatabase.logger
            ) { tenant, transaction in
                try await keyring.createFirstKey(for: tenant.id, in: transaction)
            }
            let tenant = try await provisioner.create(.init(slug: "acme", displayName: "Acme Fund"), on: pool)
            let result = try await body(pool, keyring, tenant, provisioner)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

@Suite("Audit trail: hash chain, append-only, tamper detection, retention")
struct AuditTrailTests {
    static func append(_ count: Int, to tenant: Tenant, pool: PostgresConnectionPool) async throws {
        for index in 0..<count {
            try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                try await AuditTrail(schema: tenant.schema).append(
                    AuditEvent(
                        actor: "user:test", action: "account.updated", objectType: "account", objectID: "a\(index)",
                        details: ["index": String(index), "note": "naïve \"quote\" | pipe"]),
                    in: transaction)
            }
        }
    }

    static func verify(
        _ tenant: Tenant, pool: PostgresConnectionPool, key: [UInt8]? = nil
    ) async throws
        -> AuditChain.Verification
    {
        try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await AuditTrail(schema: tenant.schema).verify(in: transaction, checkpointKey: key)
        }
    }

    @Test func theChainVerifiesAndTheSwiftEncodingMatchesTheDatabase() async throws {
        try await withIdentityTenant { pool, _, tenant, _ in
            try await Self.append(20, to: tenant, pool: pool)
            let result = try await Self.verify(tenant, pool: pool)
            #expect(result.isIntact, "\(String(describing: result.firstBrokenLink))")
            #expect(result.recordsChecked == 20)
            #expect(result.lastPosition == 20)

            // Concurrent appends still form one gap-free chain.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await Self.append(5, to: tenant, pool: pool) } }
                try await group.waitForAll()
            }
            let after = try await Self.verify(tenant, pool: pool)
            #expect(after.isIntact && after.recordsChecked == 40)
        }
    }

    @Test func theTenantRoleCanNeitherChangeNorDeleteNorDropItsTrail() async throws {
        try await withIdentityTenant { pool, _, tenant, _ in
            try await Self.append(2, to: tenant, pool: pool)
            for statement in [
                "UPDATE audit_records SET actor = 'someone else'", "DELETE FROM audit_records",
                "TRUNCATE audit_records", "DROP TABLE audit_records", "DROP FUNCTION audit_chain_append() CASCADE",
                "ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only",
            ] {
                await #expect(throws: PostgresError.self, "the tenant role could run: \(statement)") {
                    try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                        try await transaction.executeScript(statement)
                    }
                }
            }
            // Even the owner (the host's role) meets the trigger.
            await #expect(throws: PostgresError.self) {
                try await pool.execute("UPDATE t_acme.audit_records SET actor = 'x'")
            }
            #expect(try await Self.verify(tenant, pool: pool).isIntact)
        }
    }

    @Test(arguments: ["altered", "removed", "reordered", "forged"])
    func tamperingAsASuperuserIsDetectedAtTheFirstBrokenLink(kind: String) async throws {
        try await withIdentityTenant { pool, _, tenant, _ in
            try await Self.append(10, to: tenant, pool: pool)
            // A superuser bypasses the triggers (replica mode) and edits rows directly.
            try await pool.withTransaction { transaction in
                try await transaction.executeScript("SET LOCAL session_replication_role = replica")
                switch kind {
                case "altered":
                    try await transaction.executeScript(
                        "UPDATE t_acme.audit_records SET details = '{\"index\": \"999\"}' WHERE chain_position = 4")
                case "removed":
                    try await transaction.executeScript("DELETE FROM t_acme.audit_records WHERE chain_position = 6")
                case "reordered":
                    try await transaction.executeScript(
                        """
                        UPDATE t_acme.audit_records SET chain_position = -1 WHERE chain_position = 3;
                        UPDATE t_acme.audit_records SET chain_position = 3 WHERE chain_position = 7;
                        UPDATE t_acme.audit_records SET chain_position = 7 WHERE chain_position = -1;
                        """)
                default:
                    // Changing a record and recomputing its own hash still breaks the next link.
                    try await transaction.executeScript(
                        """
                        UPDATE t_acme.audit_records SET actor = 'user:innocent' WHERE chain_position = 5;
                        UPDATE t_acme.audit_records SET record_hash = encode(sha256(convert_to(t_acme.audit_canonical(
                            chain_position, occurred_at, actor, action, object_type, object_id, account_id, request_id,
                            details, previous_hash), 'UTF8')), 'hex') WHERE chain_position = 5;
                        """)
                }
            }
            let result = try await Self.verify(tenant, pool: pool)
            let expected: Int64 =
                switch kind {
                case "altered": 4
                case "removed": 7
                case "reordered": 3
                default: 6
                }
            #expect(
                result.firstBrokenLink?.position == expected, "\(kind): \(String(describing: result.firstBrokenLink))")
        }
    }

    @Test func retentionPurgeKeepsTheRestVerifiableThroughASignedCheckpoint() async throws {
        try await withIdentityTenant { pool, keyring, tenant, _ in
            try await Self.append(6, to: tenant, pool: pool)
            let key = keyring.auditCheckpointKey
            let purged = try await pool.withTransaction { transaction in
                try await AuditTrail(schema: tenant.schema).purge(
                    olderThan: Date().addingTimeInterval(60), checkpointKey: key, in: transaction)
            }
            #expect(purged == 6)
            try await Self.append(2, to: tenant, pool: pool)
            let result = try await Self.verify(tenant, pool: pool, key: key)
            #expect(result.isIntact, "\(String(describing: result.firstBrokenLink))")
            #expect(result.firstPosition == 7 && result.lastPosition == 9)

            // A checkpoint signed with another key is refused; without the key, consistency is checked.
            let wrongKey = try await Self.verify(tenant, pool: pool, key: SecureRandom.bytes(count: 32))
            #expect(!wrongKey.isIntact)
            #expect(try await Self.verify(tenant, pool: pool).isIntact)

            // Purging more without a checkpoint (a superuser deleting rows) is detected.
            try await pool.withTransaction { transaction in
                try await transaction.executeScript(
                    "SET LOCAL session_replication_role = replica; DELETE FROM t_acme.audit_records WHERE chain_position = 7"
                )
            }
            #expect(try await Self.verify(tenant, pool: pool, key: key).firstBrokenLink?.position == 8)
        }
    }

    @Test func deletingATenantShredsItsDataKey() async throws {
        try await withIdentityTenant { pool, keyring, tenant, provisioner in
            let keys = try await keyring.keys(for: tenant.id, on: pool)
            let sealed = keys.seal("jane.doe@acme.example", field: "users.email")
            #expect(try keys.open(sealed, field: "users.email") == "jane.doe@acme.example")
            // The key in the database is wrapped: its bytes are not the key.
            let stored = try await pool.query(
                "SELECT wrapped_key FROM platform.tenant_data_keys WHERE tenant_id = \(tenant.id)")
            #expect(stored.count == 1)

            try await TenantLifecycle().setStatus(.suspended, of: "acme", on: pool)
            try await TenantDeletion(archive: TenantArchive(provisioner: provisioner, logger: TestDatabase.logger))
                .delete(
                    "acme", confirmation: "acme", on: pool, writeExport: { _ in })
            keyring.forget(tenant.id)
            let remaining = try await pool.query(
                "SELECT count(*) AS n FROM platform.tenant_data_keys WHERE tenant_id = \(tenant.id)")
            #expect(try remaining.first?.decode("n", as: Int.self) == 0)
            await #expect(throws: ServiceError.self) { try await keyring.keys(for: tenant.id, on: pool) }
        }
    }

    @Test func dataKeyRotationAndMasterRewrapKeepDataReadable() async throws {
        try await withIdentityTenant { pool, keyring, tenant, _ in
            let before = try await keyring.keys(for: tenant.id, on: pool)
            let sealed = before.seal("secret name", field: "users.name")
            let rotated = try await pool.withTransaction { transaction in
                try await keyring.addKeyVersion(for: tenant.id, in: transaction)
            }
            #expect(rotated.currentVersion == 2)
            #expect(try rotated.open(sealed, field: "users.name") == "secret name")
            let resealed = rotated.seal("secret name", field: "users.name")
            try await pool.withTransaction { transaction in
                try await keyring.retireKeys(olderThan: 2, for: tenant.id, in: transaction)
            }
            let after = try await keyring.keys(for: tenant.id, on: pool)
            #expect(throws: ServiceError.self) { try after.open(sealed, field: "users.name") }
            #expect(try after.open(resealed, field: "users.name") == "secret name")

            // A new master key re-wraps every data key; the old one is then no longer needed.
            let newMaster = try MasterKey(bytes: SecureRandom.bytes(count: 32))
            let next = Keyring(master: newMaster, previous: [try MasterKey(bytes: keyring.masterBytesForTesting)])
            #expect(try await pool.withTransaction { try await next.rewrapAll(in: $0) } == 1)
            let alone = Keyring(master: newMaster)
            #expect(try await alone.keys(for: tenant.id, on: pool).open(resealed, field: "users.name") == "secret name")
        }
    }
}
