import Foundation
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// `scryptex apikey …`, `scryptex admin-key …` and `scryptex audit …`.
extension ScryptexProgram {
    func identity(
        _ invocation: CommandLineParser.Invocation, _ configuration: Configuration, logger: Logger
    )
        async throws -> Int32
    {
        let keyring = try MasterKeySource.keyring(for: configuration, logger: logger)
        let sealing = try AuditSealing(configuration: configuration, logger: logger)
        if invocation.path == ["audit", "verify"], let file = invocation.value("file") {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                errorOutput("scryptex: cannot read \(file): \(error.localizedDescription)")
                return ExitCode.failure
            }
            do {
                return report(
                    try AuditExport.verify(
                        text, checkpointKey: keyring.auditCheckpointKey, sealKey: sealing.publicKey), name: file)
            } catch let error as ServiceError {
                errorOutput("scryptex: \(file): \(error.message)")
                return ExitCode.usage
            }
        }
        return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
            let identity = IdentityService(pool: pool, keyring: keyring)
            do {
                switch invocation.path {
                case ["apikey", "create"]:
                    let tenant = try await liveTenant(invocation.value("tenant") ?? "", on: pool)
                    let (token, key) = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
                        transaction in
                        try await identity.createAPIKey(
                            name: invocation.value("name") ?? "cli", roles: invocation.allValues("role"),
                            expiresAt: nil, grantedBy: .host(actor: "operator"), requestID: nil, tenant: tenant,
                            in: transaction)
                    }
                    output(token.text)
                    errorOutput(
                        "created API key \(key.prefix) for tenant \(tenant.slug) with roles \(key.roles.joined(separator: ", ")); it is not shown again"
                    )
                    return ExitCode.success
                case ["admin-key", "create"]:
                    let token = try await identity.createAdminKey(name: invocation.value("name") ?? "", expiresAt: nil)
                    output(token.text)
                    errorOutput("created platform-admin key \(token.prefix); it is not shown again")
                    return ExitCode.success
                case ["keys", "rotate"]:
                    let tenant = try await liveTenant(invocation.value("tenant") ?? "", on: pool)
                    let (version, resealed) = try await DataKeyRotation(keyring: keyring).rotate(
                        tenant, actor: "operator", on: pool)
                    output("tenant \(tenant.slug): data key version \(version), \(resealed) values re-encrypted")
                    return ExitCode.success
                case ["keys", "rewrap"]:
                    let count = try await pool.withTransaction { try await keyring.rewrapAll(in: $0) }
                    output("re-wrapped \(count) data keys with master key \(keyring.masterKeyIdentifier)")
                    return ExitCode.success
                case ["audit", "seal"]:
                    let sealed = try await sealing.sealAll(on: pool)
                    output(
                        "sealed \(sealed) audit trails into \(sealing.log.path) (key \(sealing.publicKey.thumbprint))")
                    return ExitCode.success
                case ["audit", "purge"]:
                    let (records, trails) = try await AuditRetention(
                        retentionDays: configuration.auditRetentionDays, keyring: keyring, logger: logger
                    ).purgeAll(on: pool)
                    output(
                        "purged \(records) audit records older than \(configuration.auditRetentionDays) days from \(trails) trails"
                    )
                    return ExitCode.success
                default:
                    let schema: SQLIdentifier
                    if let slug = invocation.value("tenant") {
                        schema = try await liveTenant(slug, on: pool).schema
                    } else {
                        schema = PlatformSchema.name
                    }
                    let verification = try await pool.withTransaction { transaction in
                        try await sealing.verify(schema, checkpointKey: keyring.auditCheckpointKey, in: transaction)
                    }
                    return report(verification, name: schema.name)
                }
            } catch let error as ServiceError {
                errorOutput("scryptex: \(error.message)")
                return error.code == .invalidInput ? ExitCode.usage : ExitCode.failure
            }
        }
    }

    private func liveTenant(_ slug: String, on pool: PostgresConnectionPool) async throws -> Tenant {
        let slug = try TenantSlug(slug)
        guard var tenant = try await TenantRegistry().tenant(slug, statuses: [.active, .suspended], from: pool) else {
            throw ServiceError(.notFound, "no live tenant has the slug '\(slug)'")
        }
        // The operator reaches a suspended tenant's data too.
        tenant.status = .active
        return tenant
    }

    private func report(_ verification: AuditChain.Verification, name: String) -> Int32 {
        if let broken = verification.firstBrokenLink {
            output("audit trail \(name): BROKEN at \(broken)")
            return ExitCode.failure
        }
        let range = verification.firstPosition.map { "\($0)...\(verification.lastPosition ?? $0)" } ?? "empty"
        let sealed = verification.sealedThrough.map { ", signed seal through \($0)" } ?? ", not yet sealed"
        output(
            "audit trail \(name): intact, \(verification.recordsChecked) records (\(range)), head \(verification.headHash ?? "-")\(sealed)"
        )
        return ExitCode.success
    }
}
