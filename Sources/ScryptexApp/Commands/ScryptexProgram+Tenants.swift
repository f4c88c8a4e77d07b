import Foundation
import ScryptexCore
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy

/// `scryptex tenant …`: provisioning, lifecycle, export and import.
extension ScryptexProgram {
    func tenants(
        _ invocation: CommandLineParser.Invocation, _ configuration: Configuration, logger: Logger
    )
        async throws -> Int32
    {
        return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
            let keyring = try MasterKeySource.keyring(for: configuration, logger: logger)
            let provisioner = TenantIdentitySetUp.provisioner(configuration, keyring: keyring, logger: logger)
            if invocation.path == ["tenant", "sync"] {
                do {
                    let outcome = try await TenantFiles.apply(configuration, keyring: keyring, logger: logger, on: pool)
                    let report = outcome.report
                    output("created: \(report.created.isEmpty ? "none" : report.created.joined(separator: ", "))")
                    output("updated: \(report.updated.isEmpty ? "none" : report.updated.joined(separator: ", "))")
                    for (slug, month) in outcome.plansChanged.sorted(by: { $0.key < $1.key }) {
                        output("revenue plan: \(slug) from \(month)")
                    }
                    if !report.notInFolder.isEmpty {
                        output(
                            "not in \(configuration.tenantsDirectory) (left unchanged, never deleted): \(report.notInFolder.joined(separator: ", "))"
                        )
                    }
                    return ExitCode.success
                } catch let error as ServiceError {
                    errorOutput("scryptex: \(error.message); nothing of that file was applied")
                    return ExitCode.failure
                }
            }
            if invocation.path == ["tenant", "suspend"] || invocation.path == ["tenant", "resume"] {
                let suspend = invocation.path[1] == "suspend"
                do {
                    try await TenantLifecycle(record: TenantIdentitySetUp.lifecycleRecorder(actor: "operator"))
                        .setStatus(
                            suspend ? .suspended : .active, of: invocation.arguments[0], on: pool)
                } catch let error as ServiceError {
                    return report(error)
                }
                output("tenant \(invocation.arguments[0]) \(suspend ? "suspended" : "resumed")")
                return ExitCode.success
            }
            if invocation.path == ["tenant", "list"] {
                let tenants = try await TenantRegistry().summaries(from: pool)
                if tenants.isEmpty { output("no tenants") }
                for tenant in tenants {
                    output(
                        "\(tenant.slug)  \(tenant.status)  v\(tenant.schemaVersion)  \(tenant.displayName)  "
                            + "[\(tenant.domains.joined(separator: " "))]")
                }
                return ExitCode.success
            }
            do {
                let tenant = try await provisioner.create(
                    .init(
                        slug: invocation.arguments[0], displayName: invocation.value("name") ?? "",
                        legalName: invocation.value("legal-name"), domains: invocation.allValues("domain")
                    ),
                    on: pool
                )
                output("created tenant \(tenant.slug) (\(tenant.id)) in schema \(tenant.schema.name)")
                return ExitCode.success
            } catch let error as ServiceError {
                return report(error)
            }
        }
    }

    func tenantArchive(
        _ invocation: CommandLineParser.Invocation, _ configuration: Configuration, logger: Logger
    )
        async throws -> Int32
    {
        return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
            let archive = TenantArchive(
                provisioner: TenantIdentitySetUp.provisioner(
                    configuration, keyring: try MasterKeySource.keyring(for: configuration, logger: logger),
                    logger: logger),
                logger: logger
            )
            do {
                if invocation.path == ["tenant", "delete"] {
                    let slug = invocation.arguments[0]
                    let path = TenantExportFile.finalExportPath(for: slug, dataDirectory: configuration.dataDirectory)
                    try await TenantDeletion(
                        archive: archive, record: TenantIdentitySetUp.lifecycleRecorder(actor: "operator")
                    ).delete(slug, confirmation: invocation.value("confirm") ?? "", on: pool) { lines in
                        try TenantExportFile.write(lines, to: path)
                    }
                    output("deleted tenant \(slug); final export: \(path)")
                    return ExitCode.success
                }
                if invocation.path == ["tenant", "export"] {
                    let slug = invocation.arguments[0]
                    let lines = try await archive.export(slug, on: pool)
                    let path: String
                    if let output = invocation.value("output") {
                        path = output
                    } else {
                        let folder = configuration.dataDirectory + "/exports"
                        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                        path = folder + "/\(slug)-\(Int(Date().timeIntervalSince1970)).jsonl"
                    }
                    guard
                        FileManager.default.createFile(
                            atPath: path, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                            attributes: [.posixPermissions: 0o600])
                    else {
                        errorOutput("scryptex: cannot write \(path)")
                        return ExitCode.failure
                    }
                    output("exported tenant \(slug) to \(path) (\(lines.count) lines)")
                } else {
                    guard let text = try? String(contentsOfFile: invocation.arguments[0], encoding: .utf8) else {
                        errorOutput("scryptex: cannot read \(invocation.arguments[0])")
                        return ExitCode.failure
                    }
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                    let tenant = try await archive.import(lines, as: invocation.value("slug")!, on: pool)
                    output("imported tenant \(tenant.slug) (\(tenant.id)) in schema \(tenant.schema.name)")
                }
                return ExitCode.success
            } catch let error as ServiceError {
                return report(error)
            }
        }
    }

    /// Prints a tenancy error; bad input exits 2 (like a usage error), anything else 1.
    private func report(_ error: ServiceError) -> Int32 {
        errorOutput("scryptex: \(error.message)")
        return error.code == .invalidInput ? ExitCode.usage : ExitCode.failure
    }
}
