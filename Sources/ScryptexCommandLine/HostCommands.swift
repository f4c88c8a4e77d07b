import Foundation
import Glibc
import ScryptexACME
import ScryptexAPI
import ScryptexApp
import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy

/// `scryptex serve`.
struct ServeCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "serve",
        summary: "Run the host: database (embedded when DATABASE_URL is unset), migrations, services.",
        discussion: """
            Stops cleanly on SIGINT or SIGTERM; an embedded cluster started by 'serve' is stopped with it.
            Configuration comes from the environment: see 'scryptex config'.
            """
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        for fallback in context.configuration.fallbacks { context.logger.notice(fallback) }
        // Lines leave in batches while the host runs (no lock or system call per line).
        LogOutput.standardError.startBuffering()
        defer { LogOutput.standardError.stopBuffering() }
        return try await HostService(configuration: context.configuration, logger: context.logger).run()
    }
}

/// `scryptex config`.
struct ConfigCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "config", summary: "Print the effective configuration (secrets masked).")

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let settings = context.configuration.effectiveSettings
        let width = settings.map(\.name.count).max() ?? 0
        for setting in settings {
            let padding = String(repeating: " ", count: width - setting.name.count + 2)
            context.output("\(setting.name)\(padding)\(setting.value)  (\(setting.source.rawValue))")
        }
        for fallback in context.configuration.fallbacks { context.output("note: \(fallback)") }
        return ScryptexProgram.ExitCode.success
    }
}

/// `scryptex version`.
struct VersionCommand: ScryptexCommand {
    static let definition = CommandDefinition(name: "version", summary: "Print the version.")
    static let readsConfiguration = false

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        context.output("scryptex \(ScryptexProgram.version)")
        return ScryptexProgram.ExitCode.success
    }
}

/// `scryptex migrate [--status | --check-drift]`.
struct MigrateCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "migrate",
        summary: "Apply pending migrations to the platform schema and every tenant schema.",
        options: [
            .flag("status", "List every migration and whether it is applied; change nothing."),
            .flag("check-drift", "Compare every tenant's schema with what its migrations produce; change nothing."),
        ]
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let (configuration, logger, output) = (context.configuration, context.logger, context.output)
        if invocation.hasFlag("check-drift") {
            return try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
                let slugs = try await TenantRegistry().tenants(from: pool).filter { $0.status != .deleted }.map(\.slug)
                let drift = try await TenantSchemaDrift(plan: SchemaPlans.tenant, logger: logger).check(slugs, on: pool)
                for slug in drift.keys.sorted() {
                    for line in drift[slug] ?? [] { output("tenant \(slug): \(line)") }
                }
                output("schema drift: \(drift.count) of \(slugs.count) tenants differ from their migrations")
                return drift.isEmpty ? ScryptexProgram.ExitCode.success : ScryptexProgram.ExitCode.failure
            }
        }
        if invocation.hasFlag("status") {
            return try await DatabaseSetup.withConnection(configuration, logger: logger) { connection in
                for line in try await SchemaMigrations(logger: logger).statusLines(on: connection) { output(line) }
                return ScryptexProgram.ExitCode.success
            }
        }
        return try await DatabaseSetup.withPool(configuration, logger: logger, migratingPlatform: false) { pool in
            // A bar on a terminal, one JSON object per tenant otherwise (for logs and scripts).
            let interactive = isatty(1) == 1
            let outcome = try await SchemaMigrations(logger: logger).migrateAll(on: pool) { progress in
                if interactive {
                    let width = 30
                    let filled = progress.total == 0 ? width : width * progress.done / progress.total
                    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                    output(
                        "[\(bar)] \(progress.done)/\(progress.total) \(progress.tenant)\(progress.succeeded ? "" : " FAILED")"
                    )
                } else {
                    var line =
                        "{\"tenant\":\(JSONString.quoted(progress.tenant)),\"status\":\(progress.succeeded ? "\"migrated\"" : "\"failed\"")"
                    if let error = progress.error { line += ",\"error\":" + JSONString.quoted(error) }
                    output(line + ",\"done\":\(progress.done),\"total\":\(progress.total)}")
                }
            }
            for line in outcome.lines { output(line) }
            return outcome.failures.isEmpty ? ScryptexProgram.ExitCode.success : ScryptexProgram.ExitCode.failure
        }
    }
}

/// `scryptex db start|stop|status|url`: the embedded cluster, unless `DATABASE_URL` names another.
protocol EmbeddedClusterCommand: ScryptexCommand {
    static func run(_ cluster: EmbeddedPostgres, in context: CommandContext) async throws -> Int32
}

extension EmbeddedClusterCommand {
    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        if let external = context.configuration.database {
            if definition.name == "url" {
                context.output(external.url())
                return ScryptexProgram.ExitCode.success
            }
            context.errorOutput(
                "scryptex: DATABASE_URL is set (\(external.redactedDescription)), so the embedded cluster is not used; unset it to manage the embedded cluster"
            )
            return ScryptexProgram.ExitCode.failure
        }
        return try await run(
            DatabaseSetup.embeddedCluster(for: context.configuration, logger: context.logger), in: context)
    }
}

struct DatabaseStartCommand: EmbeddedClusterCommand {
    static let definition = CommandDefinition(name: "start", summary: "Create the cluster if needed and start it.")

    static func run(_ cluster: EmbeddedPostgres, in context: CommandContext) async throws -> Int32 {
        switch try await cluster.start() {
        case .alreadyRunning: context.output("embedded PostgreSQL is already running in \(cluster.dataDirectory)")
        case .started(let initialized):
            context.output(
                "embedded PostgreSQL \(initialized ? "created and started" : "started") in \(cluster.dataDirectory)")
        }
        context.output(cluster.configuration.url())
        return ScryptexProgram.ExitCode.success
    }
}

struct DatabaseStopCommand: EmbeddedClusterCommand {
    static let definition = CommandDefinition(name: "stop", summary: "Stop the cluster (fast shutdown).")

    static func run(_ cluster: EmbeddedPostgres, in context: CommandContext) async throws -> Int32 {
        context.output(try await cluster.stop() ? "embedded PostgreSQL stopped" : "embedded PostgreSQL was not running")
        return ScryptexProgram.ExitCode.success
    }
}

struct DatabaseStatusCommand: EmbeddedClusterCommand {
    static let definition = CommandDefinition(
        name: "status", summary: "Print whether the cluster is running; exit 3 when it is not.")

    static func run(_ cluster: EmbeddedPostgres, in context: CommandContext) async throws -> Int32 {
        let status = cluster.status()
        context.output("embedded PostgreSQL: \(status)")
        context.output("data: \(cluster.dataDirectory)")
        context.output("socket: \(cluster.socketDirectory)")
        if case .running = status { return ScryptexProgram.ExitCode.success }
        return ScryptexProgram.ExitCode.notRunning
    }
}

struct DatabaseURLCommand: EmbeddedClusterCommand {
    static let definition = CommandDefinition(name: "url", summary: "Print a connection URL for psql and DATABASE_URL.")

    static func run(_ cluster: EmbeddedPostgres, in context: CommandContext) async throws -> Int32 {
        if case .notInitialized = cluster.status() {
            context.errorOutput("scryptex: the embedded cluster does not exist yet; run 'scryptex db start' first")
            return ScryptexProgram.ExitCode.failure
        }
        context.output(cluster.configuration.url())
        return ScryptexProgram.ExitCode.success
    }
}

/// `scryptex cert dev`.
struct DevelopmentCertificateCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "dev",
        summary: "Make a local CA and ECDSA certificates for PLATFORM_DOMAIN and the given domains.",
        options: [.value("domain", "HOST", "Also make a certificate for this domain.", repeatable: true)],
        discussion: "Existing certificates are kept. Trust the CA with: curl --cacert $SCRYPTEX_DATA_DIR/tls/ca.pem ..."
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let extraDomains = invocation.allValues("domain")
        for domain in extraDomains where HostName(domain) == nil {
            context.errorOutput("scryptex: '\(domain)' is not a valid host name")
            return ScryptexProgram.ExitCode.usage
        }
        let configuration = context.configuration
        let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
        let domains = [configuration.platformDomain] + extraDomains.map { $0.lowercased() }
        let made = try folder.ensureDevelopmentCertificates(for: domains)
        for domain in domains {
            context.output(
                "\(domain): \(folder.certificatePath(for: domain))\(made.contains(domain) ? " (created)" : " (kept)")")
        }
        context.output("CA: \(folder.authorityCertificatePath)")
        let example = extraDomains.first ?? configuration.platformDomain
        context.output(
            "try: curl --cacert \(folder.authorityCertificatePath) https://\(example):\(configuration.httpsListen.port)/healthz"
        )
        return ScryptexProgram.ExitCode.success
    }
}

/// `scryptex cert status`.
struct CertificateStatusCommand: DatabaseCommand {
    static let definition = CommandDefinition(
        name: "status",
        summary: "Each served domain's certificate (issuer, expiry) and last ACME attempt, as the console shows them.",
        options: [
            .value("domain", "HOST", "Only this domain (default: the platform's and every tenant's).", repeatable: true)
        ]
    )

    static func run(
        _ invocation: CommandLineParser.Invocation, in context: CommandContext, pool: PostgresConnectionPool
    ) async throws -> Int32 {
        var domains = invocation.allValues("domain").map { $0.lowercased() }
        if domains.isEmpty {
            domains =
                [context.configuration.platformDomain]
                + (try await TenantRegistry().summaries(from: pool)).flatMap(\.domains)
        }
        let inventory = HostCertificateInventory(
            folder: CertificateFolder(dataDirectory: context.configuration.dataDirectory), pool: pool)
        let formatter = ISO8601DateFormatter()
        for certificate in try await inventory.certificates(for: domains) {
            var line = certificate.domain + ": "
            if let issuer = certificate.issuer, let expires = certificate.expiresAt {
                line +=
                    "issued by \(issuer)\(certificate.isDevelopment ? " (development CA)" : ""), expires \(formatter.string(from: expires))"
            } else {
                line += "no certificate"
            }
            if let attempted = certificate.lastAttemptAt {
                line += "; last ACME attempt \(formatter.string(from: attempted)): "
                if let error = certificate.lastError {
                    line += "failed (\(certificate.consecutiveFailures) in a row): \(error)"
                    if let retry = certificate.retryAt { line += "; next try \(formatter.string(from: retry))" }
                } else {
                    line += "obtained"
                }
            }
            context.output(line)
        }
        return ScryptexProgram.ExitCode.success
    }
}

/// `scryptex cert issue`.
struct IssueCertificateCommand: ScryptexCommand {
    static let definition = CommandDefinition(
        name: "issue",
        summary: "Obtain certificates from the ACME authority in ACME_DIRECTORY_URL (HTTP-01).",
        options: [
            .value("domain", "HOST", "A domain to obtain a certificate for.", repeatable: true, required: true)
        ],
        discussion:
            "The authority fetches http://HOST/.well-known/acme-challenge/TOKEN, which the host's HTTP port serves from $SCRYPTEX_DATA_DIR/acme; when no host is running, the command answers on HTTP_LISTEN itself (any web server with that folder as its webroot works too). Each certificate and its key go to $SCRYPTEX_DATA_DIR/tls/certificates; a running host serves them within 2 s. A running host with ACME_DIRECTORY_URL set also does this by itself for every domain it serves, and renews ACME_RENEW_DAYS before expiry."
    )

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32 {
        let (configuration, logger) = (context.configuration, context.logger)
        let domains = invocation.allValues("domain")
        for domain in domains where HostName(domain) == nil {
            context.errorOutput("scryptex: '\(domain)' is not a valid host name")
            return ScryptexProgram.ExitCode.usage
        }
        guard configuration.acmeDirectoryURL != nil else {
            context.errorOutput(
                "scryptex: set ACME_DIRECTORY_URL to the authority's directory, e.g. https://acme-v02.api.letsencrypt.org/directory"
            )
            return ScryptexProgram.ExitCode.usage
        }
        let certificates = ACMECertificates(configuration: configuration, logger: logger)
        let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
        // With no host running, the command answers the challenges itself on HTTP_LISTEN; a
        // running host (holding the port) answers them from the same folder.
        let standalone = HTTPServer(
            configuration: .init(
                host: configuration.httpListen.host, port: configuration.httpListen.port, eventLoopCount: 1),
            application: PlainHTTP.application(httpsPort: nil, challengeFolder: certificates.webroot),
            logger: logger.child(label: "scryptex.acme.challenges"))
        let answering = (try? standalone.start()) != nil
        if answering {
            context.output(
                "answering the authority's challenges on \(configuration.httpListen) (no host is running there)")
        }
        var failure: (any Error)?
        do {
            for domain in domains.map({ $0.lowercased() }) {
                let summary = try await certificates.obtain(domain)
                context.output(
                    "\(domain): \(folder.certificatePath(for: domain)) (issued by \(summary.issuerOrganization ?? "the authority"), expires \(ISO8601DateFormatter().string(from: summary.notAfter)))"
                )
            }
        } catch {
            failure = error
        }
        if answering { await standalone.shutdown(gracePeriod: .zero) }
        if let failure { throw failure }
        return ScryptexProgram.ExitCode.success
    }
}
