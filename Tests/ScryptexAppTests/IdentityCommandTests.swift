import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexCrypto
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@Suite("Identity and audit commands")
struct IdentityCommandTests {
    @Test func apiKeysAdminKeysAndAuditVerification() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            // A data folder of its own: the working folder's (a developer's `scripts/dev serve`)
            // holds seals of other trails with the same schema names.
            let folder = NSTemporaryDirectory() + "scryptex-identity-commands-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let environment = [
                "DATABASE_URL": configuration.url(), "SCRYPTEX_MASTER_KEY": Hex.encode(SecureRandom.bytes(count: 32)),
                "SCRYPTEX_DATA_DIR": folder,
            ]
            let program = CapturedProgram()
            #expect(await program.run(["tenant", "create", "acme", "--name", "Acme"], environment: environment) == 0)
            #expect(
                await program.run(
                    ["apikey", "create", "--tenant", "acme", "--role", "trader"], environment: environment)
                    == 0)
            let key = try #require(program.output.last)
            #expect(key.hasPrefix("sxk_") && key.count == 64)
            #expect(program.errors.contains("it is not shown again"))
            // Only the hash is stored.
            let connection = try await PostgresConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            let stored = try await connection.query("SELECT secret_hash FROM t_acme.api_keys")
            #expect(
                try stored.first?.decode("secret_hash", as: String.self) == SHA256.hexDigest(String(key.dropFirst(21))))

            #expect(
                await program.run(
                    ["apikey", "create", "--tenant", "acme", "--role", "pilot"], environment: environment)
                    == 2)
            #expect(program.errors.contains("unknown role 'pilot'"))
            #expect(await program.run(["admin-key", "create", "--name", "ops"], environment: environment) == 0)
            #expect(program.output.last?.hasPrefix("sxa_") == true)

            #expect(await program.run(["audit", "verify", "--tenant", "acme"], environment: environment) == 0)
            #expect(program.output.last?.contains("audit trail t_acme: intact, 2 records") == true, "\(program.output)")
            #expect(await program.run(["audit", "verify"], environment: environment) == 0)
            #expect(program.output.last?.contains("audit trail platform: intact") == true)

            // Lifecycle changes are recorded in both trails.
            #expect(await program.run(["tenant", "suspend", "acme"], environment: environment) == 0)
            #expect(await program.run(["tenant", "resume", "acme"], environment: environment) == 0)
            let platform = try await connection.query(
                "SELECT action FROM platform.audit_records WHERE object_id = 'acme' ORDER BY chain_position")
            #expect(
                try platform.map { try $0.decode("action", as: String.self) } == [
                    "tenant.provisioned", "tenant.suspended", "tenant.resumed",
                ])
            #expect(await program.run(["audit", "purge"], environment: environment) == 0)
            #expect(program.output.last == "purged 0 audit records older than 2555 days from 2 trails")
            #expect(await program.run(["keys", "rotate", "--tenant", "acme"], environment: environment) == 0)
            #expect(program.output.last == "tenant acme: data key version 2, 0 values re-encrypted")
            #expect(await program.run(["audit", "verify", "--tenant", "acme"], environment: environment) == 0)

            try await connection.executeScript(
                "SET session_replication_role = replica; DELETE FROM t_acme.audit_records WHERE chain_position = 1")
            #expect(await program.run(["audit", "verify", "--tenant", "acme"], environment: environment) == 1)
            #expect(program.output.last?.contains("BROKEN at record 2") == true)
            await connection.close()
        }
    }
}
