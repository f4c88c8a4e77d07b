import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

extension CommandContext {
    func keyring() throws -> Keyring { try MasterKeySource.keyring(for: configuration, logger: logger) }

    func sealing() throws -> AuditSealing { try AuditSealing(configuration: configuration, logger: logger) }

    /// A live tenant by slug, as the operator reaches it: a suspended one's data too.
    func liveTenant(_ slug: String, on pool: PostgresConnectionPool) async throws -> Tenant {
        let slug = try TenantSlug(slug)
        guard var tenant = try await TenantRegistry().tenant(slug, statuses: [.active, .suspended], from: pool) else {
            throw ServiceError(.notFound, "no live tenant has the slug '\(slug)'")
        }
        tenant.status = .active
        return tenant
    }

    /// Prints a verification; exit 1 when the chain is broken.
    func report(_ verification: AuditChain.Verification, name: String) -> Int32 {
        if let broken = verification.firstBrokenLink {
            output("audit trail \(name): BROKEN at \(broken)")
            return ScryptexProgram.ExitCode.failure
        }
        let range = verification.firstPosition.map { "\($0)...\(verification.lastPosition ?? $0)" } ?? "empty"
        let sealed = verification.sealedThrough.map { ", signed seal through \($0)" } ?? ", not yet sealed"
        output(
            "audit trail \(name): intact, \(verification.recordsChecked) records (\(range)), head \(verification.headHash ?? "-")\(sealed)"
        )
        return ScryptexProgram.ExitCode.success
    }
}

struct APIKeyCreateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "create",
        summary: "Create an API key for a tenant and print it once (only its hash is stored).",
        options: [
            .value("tenant", "SLUG", TenantSlugRule.text, required: true),
            .value(
                "role", "ROLE", "A role the key holds (owner, admin, trader, ...).", repeatable: true, required: true),
            .value("name", "NAME", "What the key is for (default: cli)."),
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let identity = IdentityService(pool: pool, keyring: try context.keyring())
        let tenant = try await context.liveTenant(invocation.value("tenant") ?? "", on: pool)
        let (token, key) = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            try await identity.createAPIKey(
                name: invocation.value("name") ?? "cli", roles: invocation.allValues("role"), expiresAt: nil,
                grantedBy: .host(actor: "operator"), requestID: nil, tenant: tenant, in: transaction)
        }
        context.output(token.text)
        context.errorOutput(
            "created API key \(key.prefix) for tenant \(tenant.slug) with roles \(key.roles.joined(separator: ", ")); it is not shown again"
        )
        return ScryptexProgram.ExitCode.success
    }
}

struct UserCreateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "create",
        summary:
            "Create a team member who signs in to the partner portal, with a new password printed once (only its hash is stored).",
        options: [
            .value("tenant", "SLUG", TenantSlugRule.text, required: true),
            .value("email", "ADDRESS", "The address the member signs in with.", required: true),
            .value(
                "role", "ROLE", "The member's role (owner, admin, compliance_officer, trader, ...).", required: true),
            .value("name", "NAME", "The member's name."),
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let keyring = try context.keyring()
        let identity = IdentityService(pool: pool, keyring: keyring)
        let tenant = try await context.liveTenant(invocation.value("tenant") ?? "", on: pool)
        let keys = try await keyring.keys(for: tenant.id, on: pool)
        let password = IdentityService.newPassword()
        let user = try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
            let user = try await identity.createUser(
                .init(
                    email: invocation.value("email") ?? "", name: invocation.value("name"), password: password,
                    role: invocation.value("role") ?? ""),
                keys: keys, grantedBy: .host(actor: "operator"), in: transaction)
            try await AuditTrail(schema: tenant.schema).append(
                AuditEvent(
                    actor: "operator", action: "user.created", objectType: "user",
                    objectID: user.id.uuidString.lowercased(), details: ["role": user.role, "via": "cli"]),
                in: transaction)
            return user
        }
        context.output(password)
        context.errorOutput(
            "created \(user.role) \(user.email) in tenant \(tenant.slug); sign in at https://<its domain>/portal with this password (not shown again) and add an authenticator"
        )
        return ScryptexProgram.ExitCode.success
    }
}

struct AdminKeyCreateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "create", summary: "Create a platform-admin key and print it once.",
        options: [.value("name", "NAME", "Whose key this is.", required: true)])

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let identity = IdentityService(pool: pool, keyring: try context.keyring())
        let token = try await identity.createAdminKey(name: invocation.value("name") ?? "", expiresAt: nil)
        context.output(token.text)
        context.errorOutput("created platform-admin key \(token.prefix); it is not shown again")
        return ScryptexProgram.ExitCode.success
    }
}

struct AuditVerifyCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "verify",
        summary: "Verify a tenant's audit chain (or the platform's, or an export); exit 1 if broken.",
        options: [
            .value("tenant", "SLUG", "The tenant whose trail to verify."),
            .value("file", "FILE", "An exported trail (JSON lines) to verify offline."),
        ]
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let keyring = try context.keyring()
        let sealing = try context.sealing()
        guard let file = invocation.value("file") else {
            return try await DatabaseSetup.withPool(context.configuration, logger: context.logger) { pool in
                do {
                    var schema = PlatformSchema.name
                    var database = pool
                    if let slug = invocation.value("tenant") {
                        schema = try await context.liveTenant(slug, on: pool).schema
                        database = try pool.pool(for: slug)
                    }
                    let verification = try await database.withTransaction { transaction in
                        try await sealing.verify(schema, checkpointKey: keyring.auditCheckpointKey, in: transaction)
                    }
                    return context.report(verification, name: schema.name)
                } catch let error as ServiceError {
                    return context.report(error)
                }
            }
        }
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            context.errorOutput("scryptex: cannot read \(file): \(error.localizedDescription)")
            return ScryptexProgram.ExitCode.failure
        }
        do {
            let verification = try AuditExport.verify(
                text, checkpointKey: keyring.auditCheckpointKey, sealKey: sealing.publicKey)
            return context.report(verification, name: file)
        } catch let error as ServiceError {
            context.errorOutput("scryptex: \(file): \(error.message)")
            return ScryptexProgram.ExitCode.usage
        }
    }
}

struct AuditPurgeCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "purge",
        summary: "Delete records older than AUDIT_RETENTION_DAYS from every trail, behind signed checkpoints.")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let days = context.configuration.auditRetentionDays
        let (records, trails) = try await AuditRetention(
            retentionDays: days, keyring: try context.keyring(), logger: context.logger
        ).purgeAll(on: pool)
        context.output("purged \(records) audit records older than \(days) days from \(trails) trails")
        return ScryptexProgram.ExitCode.success
    }
}

struct AuditSealCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "seal",
        summary:
            "Sign the head of every trail that grew and append the seals to AUDIT_SEAL_LOG (the host does this every AUDIT_SEAL_INTERVAL)."
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let sealing = try context.sealing()
        let sealed = try await sealing.sealAll(on: pool)
        context.output("sealed \(sealed) audit trails into \(sealing.log.path) (key \(sealing.publicKey.thumbprint))")
        return ScryptexProgram.ExitCode.success
    }
}

struct KeyRotateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "rotate", summary: "Give a tenant a new data key and re-encrypt its personal data with it.",
        options: [.value("tenant", "SLUG", TenantSlugRule.text, required: true)])

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let tenant = try await context.liveTenant(invocation.value("tenant") ?? "", on: pool)
        let (version, resealed) = try await DataKeyRotation(
            keyring: try context.keyring(), columns: SchemaPlans.tenant.sealedColumns
        ).rotate(
            tenant, actor: "operator", on: pool)
        context.output("tenant \(tenant.slug): data key version \(version), \(resealed) values re-encrypted")
        return ScryptexProgram.ExitCode.success
    }
}

struct KeyRewrapCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "rewrap",
        summary: "Re-wrap every data key with SCRYPTEX_MASTER_KEY (set SCRYPTEX_MASTER_KEY_PREVIOUS to the old one).")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let keyring = try context.keyring()
        let count = try await pool.withTransaction { try await keyring.rewrapAll(in: $0) }
        context.output("re-wrapped \(count) data keys with master key \(keyring.masterKeyIdentifier)")
        return ScryptexProgram.ExitCode.success
    }
}
