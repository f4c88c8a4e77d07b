import Foundation
import ScryptexApp
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// A command that works on the control plane: run with a pool on a migrated database, and a
/// service's error reported as the context reports it.
protocol DatabaseCommand: ScryptexCommand {
    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32
}

extension DatabaseCommand {
    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        try await DatabaseSetup.withPool(context.configuration, logger: context.logger) { pool in
            do {
                return try await run(invocation, in: context, pool: pool)
            } catch let error as ServiceError {
                return context.report(error)
            }
        }
    }
}

extension CommandContext {
    /// Provisions tenants as the host does, recording lifecycle events as the operator.
    func provisioner() throws -> TenantProvisioner {
        TenantIdentitySetUp.provisioner(
            configuration, keyring: try MasterKeySource.keyring(for: configuration, logger: logger), logger: logger)
    }

    /// Archives carry the tenant's data keys (wrapped), so sealed values survive an import.
    func archive() throws -> TenantArchive {
        TenantArchive(
            provisioner: try provisioner(),
            participants: [
                DataKeyArchive(
                    keyring: try MasterKeySource.keyring(for: configuration, logger: logger),
                    columns: SchemaPlans.tenant.sealedColumns)
            ], logger: logger)
    }
}

struct TenantCreateCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "create",
        summary: "Create a tenant: schema, role, migrations, branding and flags, atomically.",
        options: [
            .value("name", "NAME", "The display name.", required: true),
            .value("legal-name", "NAME", "The legal name."),
            .value("domain", "HOST", "A custom domain, besides <slug>.PLATFORM_DOMAIN.", repeatable: true),
            .value(
                "placement", "CLUSTER", "The cluster (primary or a name in TENANT_CLUSTERS); else TENANT_PLACEMENT."),
        ],
        arguments: [.required("slug", TenantSlugRule.text)]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let tenant = try await context.provisioner().create(
            .init(
                slug: invocation.arguments[0], displayName: invocation.value("name") ?? "",
                legalName: invocation.value("legal-name"), domains: invocation.allValues("domain"),
                placement: invocation.value("placement")),
            on: pool)
        context.output("created tenant \(tenant.slug) (\(tenant.id)) in schema \(tenant.schema.name)")
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantListCommand: DatabaseCommand {
    static let definition = CommandDefinition(name: "list", summary: "List tenants with their status and domains.")

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let tenants = try await TenantRegistry().summaries(from: pool)
        if tenants.isEmpty { context.output("no tenants") }
        for tenant in tenants {
            context.output(
                "\(tenant.slug)  \(tenant.status)  v\(tenant.schemaVersion)  \(tenant.placement)  \(tenant.displayName)  "
                    + "[\(tenant.domains.joined(separator: " "))]")
        }
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantSyncCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "sync",
        summary:
            "Apply $SCRYPTEX_TENANTS_DIR/*.json: create missing tenants, apply changes, report (never delete) the rest."
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let configuration = context.configuration
        let keyring = try MasterKeySource.keyring(for: configuration, logger: context.logger)
        do {
            let outcome = try await TenantFiles.apply(configuration, keyring: keyring, logger: context.logger, on: pool)
            let report = outcome.report
            context.output("created: \(report.created.isEmpty ? "none" : report.created.joined(separator: ", "))")
            context.output("updated: \(report.updated.isEmpty ? "none" : report.updated.joined(separator: ", "))")
            for (slug, month) in outcome.plansChanged.sorted(by: { $0.key < $1.key }) {
                context.output("revenue plan: \(slug) from \(month)")
            }
            if !report.notInFolder.isEmpty {
                context.output(
                    "not in \(configuration.tenantsDirectory) (left unchanged, never deleted): \(report.notInFolder.joined(separator: ", "))"
                )
            }
            return ScryptexProgram.ExitCode.success
        } catch let error as ServiceError {
            context.errorOutput("scryptex: \(error.message); nothing of that file was applied")
            return ScryptexProgram.ExitCode.failure
        }
    }
}

/// `tenant suspend` and `tenant resume`: the status they set, and the word for it.
protocol TenantStatusCommand: DatabaseCommand {
    static var status: Tenant.Status { get }
    static var done: String { get }
}

extension TenantStatusCommand {
    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let slug = invocation.arguments[0]
        try await TenantLifecycle(record: TenantIdentitySetUp.lifecycleRecorder(actor: "operator"))
            .setStatus(status, of: slug, on: pool)
        context.output("tenant \(slug) \(done)")
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantSuspendCommand: TenantStatusCommand {
    static let definition = CommandDefinition(
        name: "suspend", summary: "Suspend a tenant: its domains answer 503, its data is kept.",
        arguments: [.required("slug", "The tenant's slug.")])
    static let status = Tenant.Status.suspended
    static let done = "suspended"
}

struct TenantResumeCommand: TenantStatusCommand {
    static let definition = CommandDefinition(
        name: "resume", summary: "Resume a suspended tenant.", arguments: [.required("slug", "The tenant's slug.")])
    static let status = Tenant.Status.active
    static let done = "resumed"
}

struct TenantDeleteCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "delete",
        summary: "Delete a suspended tenant after writing a final export; type the slug again with --confirm.",
        options: [.value("confirm", "SLUG", "The slug again.", required: true)],
        arguments: [.required("slug", "The tenant's slug.")]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let slug = invocation.arguments[0]
        let path = TenantExportFile.finalExportPath(for: slug, dataDirectory: context.configuration.dataDirectory)
        try await TenantDeletion(
            archive: try context.archive(), record: TenantIdentitySetUp.lifecycleRecorder(actor: "operator")
        ).delete(slug, confirmation: invocation.value("confirm") ?? "", on: pool) { lines in
            try TenantExportFile.write(lines, to: path)
        }
        context.output("deleted tenant \(slug); final export: \(path)")
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantExportCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "export",
        summary: "Write one tenant's data and control-plane rows to an archive (JSON lines).",
        options: [
            .value("output", "FILE", "Where to write (default: $SCRYPTEX_DATA_DIR/exports/<slug>-<time>.jsonl).")
        ],
        arguments: [.required("slug", "The tenant's slug.")]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        let slug = invocation.arguments[0]
        let lines = try await context.archive().export(slug, on: pool)
        let path: String
        if let output = invocation.value("output") {
            path = output
        } else {
            let folder = context.configuration.dataDirectory + "/exports"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            path = folder + "/\(slug)-\(Int(Date().timeIntervalSince1970)).jsonl"
        }
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
        else {
            context.errorOutput("scryptex: cannot write \(path)")
            return ScryptexProgram.ExitCode.failure
        }
        context.output("exported tenant \(slug) to \(path) (\(lines.count) lines)")
        return ScryptexProgram.ExitCode.success
    }
}

struct TenantImportCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "import", summary: "Restore an archive as a new tenant.",
        options: [.value("slug", "SLUG", "The new tenant's slug.", required: true)],
        arguments: [.required("archive", "The archive file.")]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        guard let text = try? String(contentsOfFile: invocation.arguments[0], encoding: .utf8) else {
            context.errorOutput("scryptex: cannot read \(invocation.arguments[0])")
            return ScryptexProgram.ExitCode.failure
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let tenant = try await context.archive().import(lines, as: invocation.value("slug") ?? "", on: pool)
        context.output("imported tenant \(tenant.slug) (\(tenant.id)) in schema \(tenant.schema.name)")
        return ScryptexProgram.ExitCode.success
    }
}
