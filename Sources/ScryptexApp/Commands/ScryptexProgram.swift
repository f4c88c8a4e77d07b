import Foundation
import Glibc
import ScryptexAPI
import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy

/// Runs the `scryptex` command line. The executable only calls `run`.
public struct ScryptexProgram: Sendable {
    let environment: [String: String]
    let output: @Sendable (String) -> Void
    let errorOutput: @Sendable (String) -> Void

    /// - Parameters:
    ///   - environment: The process environment.
    ///   - output: Where command results go (standard output).
    ///   - errorOutput: Where usage and errors go (standard error).
    public init(
        environment: [String: String],
        output: (@Sendable (String) -> Void)? = nil,
        errorOutput: (@Sendable (String) -> Void)? = nil
    ) {
        self.environment = environment
        self.output = output ?? { print($0) }
        self.errorOutput = errorOutput ?? { StandardErrorLogSink().write(line: $0) }
    }

    /// Exit codes.
    public enum ExitCode {
        public static let success: Int32 = 0
        public static let failure: Int32 = 1
        public static let usage: Int32 = 2
        public static let notRunning: Int32 = 3
    }

    /// Parses `arguments` (without the program name) and runs the command.
    /// - Returns: The process exit code.
    public func run(arguments: [String]) async -> Int32 {
        let parser = CommandLineParser(root: ScryptexCommands.definition)
        let invocation: CommandLineParser.Invocation
        do {
            switch try parser.parse(arguments) {
            case .help(let path):
                output(parser.help(for: path))
                return ExitCode.success
            case .run(let parsed):
                invocation = parsed
            }
        } catch {
            errorOutput("scryptex: \(error.message)\n")
            errorOutput(parser.help(for: error.path))
            return ExitCode.usage
        }

        if invocation.path == ["version"] {
            output("scryptex \(ScryptexCommands.version)")
            return ExitCode.success
        }

        let configuration: Configuration
        do {
            configuration = try Configuration(
                environment: environment, hasGPU: FileManager.default.fileExists(atPath: "/dev/nvidia0"))
        } catch {
            errorOutput("scryptex: the configuration is not valid:\n\(error.description)")
            return ExitCode.failure
        }
        let logger = Logger(label: "scryptex", minimumLevel: configuration.logLevel)

        do {
            switch invocation.path {
            case ["config"]:
                printConfiguration(configuration)
                return ExitCode.success
            case ["serve"]:
                for fallback in configuration.fallbacks { logger.notice(fallback) }
                // Lines leave in batches while the host runs (no lock or system call per line).
                LogOutput.standardError.startBuffering()
                defer { LogOutput.standardError.stopBuffering() }
                return try await HostService(configuration: configuration, logger: logger).run()
            case ["migrate"]:
                if invocation.hasFlag("check-drift") {
                    return try await checkDrift(configuration, logger: logger)
                }
                return try await migrate(configuration, status: invocation.hasFlag("status"), logger: logger)
            case ["tenant", "export"], ["tenant", "import"], ["tenant", "delete"]:
                return try await tenantArchive(invocation, configuration, logger: logger)
            case ["tenant", "create"], ["tenant", "list"], ["tenant", "suspend"], ["tenant", "resume"],
                ["tenant", "sync"]:
                return try await tenants(invocation, configuration, logger: logger)
            case ["apikey", "create"], ["admin-key", "create"], ["audit", "verify"], ["audit", "purge"],
                ["audit", "seal"],
                ["keys", "rotate"], ["keys", "rewrap"]:
                return try await identity(invocation, configuration, logger: logger)
            case ["sanctions", "load"], ["sanctions", "status"]:
                return try await sanctions(invocation, configuration, logger: logger)
            case ["revenue", "ingest"], ["revenue", "close"], ["revenue", "statement"], ["revenue", "reconcile"]:
                return try await revenue(invocation, configuration, logger: logger)
            case ["cert", "dev"]:
                return try developmentCertificates(configuration, extraDomains: invocation.allValues("domain"))
            case ["cert", "issue"]:
                return try await issueCertificates(
                    configuration, domains: invocation.allValues("domain"), logger: logger)
            case ["db", "start"], ["db", "stop"], ["db", "status"], ["db", "url"]:
                return try await database(command: invocation.path[1], configuration, logger: logger)
            default:
                errorOutput(parser.help(for: []))
                return ExitCode.usage
            }
        } catch {
            logger.error(
                "command failed",
                ["command": invocation.path.joined(separator: " "), "error": String(describing: error)])
            errorOutput("scryptex: \(error)")
            return ExitCode.failure
        }
    }

    private func developmentCertificates(_ configuration: Configuration, extraDomains: [String]) throws -> Int32 {
        for domain in extraDomains where HostName(domain) == nil {
            errorOutput("scryptex: '\(domain)' is not a valid host name")
            return ExitCode.usage
        }
        let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
        let domains = [configuration.platformDomain] + extraDomains.map { $0.lowercased() }
        let made = try folder.ensureDevelopmentCertificates(for: domains)
        for domain in domains {
            output(
                "\(domain): \(folder.certificatePath(for: domain))\(made.contains(domain) ? " (created)" : " (kept)")")
        }
        output("CA: \(folder.authorityCertificatePath)")
        let example = extraDomains.first ?? configuration.platformDomain
        output(
            "try: curl --cacert \(folder.authorityCertificatePath) https://\(example):\(configuration.httpsListen.port)/healthz"
        )
        return ExitCode.success
    }

    private func issueCertificates(
        _ configuration: Configuration, domains: [String], logger: Logger
    ) async throws -> Int32 {
        for domain in domains where HostName(domain) == nil {
            errorOutput("scryptex: '\(domain)' is not a valid host name")
            return ExitCode.usage
        }
        guard configuration.acmeDirectoryURL != nil else {
            errorOutput(
                "scryptex: set ACME_DIRECTORY_URL to the authority's directory, e.g. https://acme-v02.api.letsencrypt.org/directory"
            )
            return ExitCode.usage
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
            output("answering the authority's challenges on \(configuration.httpListen) (no host is running there)")
        }
        var failure: (any Error)?
        do {
            for domain in domains.map({ $0.lowercased() }) {
                let summary = try await certificates.obtain(domain)
                output(
                    "\(domain): \(folder.certificatePath(for: domain)) (issued by \(summary.issuerOrganization ?? "the authority"), expires \(ISO8601DateFormatter().string(from: summary.notAfter)))"
                )
            }
        } catch {
            failure = error
        }
        if answering { await standalone.shutdown(gracePeriod: .zero) }
        if let failure { throw failure }
        return ExitCode.success
    }

    private func printConfiguration(_ configuration: Configuration) {
        let settings = configuration.effectiveSettings
        let width = settings.map(\.name.count).max() ?? 0
        for setting in settings {
            let padding = String(repeating: " ", count: width - setting.name.count + 2)
            output("\(setting.name)\(padding)\(setting.value)  (\(setting.source.rawValue))")
        }
        for fallback in configuration.fallbacks {
            output("note: \(fallback)")
        }
    }

    private func database(command: String, _ configuration: Configuration, logger: Logger) async throws -> Int32 {
        if let external = configuration.database {
            switch command {
            case "url":
                output(external.url())
                return ExitCode.success
            default:
                errorOutput(
                    "scryptex: DATABASE_URL is set (\(external.redactedDescription)), so the embedded cluster is not used; unset it to manage the embedded cluster"
                )
                return ExitCode.failure
            }
        }
        let cluster = DatabaseSetup.embeddedCluster(for: configuration, logger: logger)
        switch command {
        case "start":
            switch try await cluster.start() {
            case .alreadyRunning: output("embedded PostgreSQL is already running in \(cluster.dataDirectory)")
            case .started(let initialized):
                output(
                    "embedded PostgreSQL \(initialized ? "created and started" : "started") in \(cluster.dataDirectory)"
                )
            }
            output(cluster.configuration.url())
        case "stop":
            output(try await cluster.stop() ? "embedded PostgreSQL stopped" : "embedded PostgreSQL was not running")
        case "status":
            let status = cluster.status()
            output("embedded PostgreSQL: \(status)")
            output("data: \(cluster.dataDirectory)")
            output("socket: \(cluster.socketDirectory)")
            if case .running = status { return ExitCode.success }
            return ExitCode.notRunning
        case "url":
            if case .notInitialized = cluster.status() {
                errorOutput("scryptex: the embedded cluster does not exist yet; run 'scryptex db start' first")
                return ExitCode.failure
            }
            output(cluster.configuration.url())
        default:
            return ExitCode.usage
        }
        return ExitCode.success
    }

    private func checkDrift(_ configuration: Configuration, logger: Logger) async throws -> Int32 {
        try await DatabaseSetup.withPool(configuration, logger: logger) { pool in
            let slugs = try await TenantRegistry().tenants(from: pool).filter { $0.status != .deleted }.map(\.slug)
            let drift = try await TenantSchemaDrift(plan: SchemaPlans.tenant, logger: logger).check(slugs, on: pool)
            for slug in drift.keys.sorted() {
                for line in drift[slug] ?? [] { output("tenant \(slug): \(line)") }
            }
            output("schema drift: \(drift.count) of \(slugs.count) tenants differ from their migrations")
            return drift.isEmpty ? ExitCode.success : ExitCode.failure
        }
    }

    private func migrate(_ configuration: Configuration, status: Bool, logger: Logger) async throws -> Int32 {
        if status {
            return try await DatabaseSetup.withConnection(configuration, logger: logger) { connection in
                for line in try await SchemaMigrations(logger: logger).statusLines(on: connection) { output(line) }
                return ExitCode.success
            }
        }
        return try await DatabaseSetup.withPool(configuration, logger: logger, migratingPlatform: false) { pool in
            // A bar on a terminal, one JSON object per tenant otherwise (for logs and scripts).
            let interactive = isatty(1) == 1
            let output = self.output
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
            return outcome.failures.isEmpty ? ExitCode.success : ExitCode.failure
        }
    }
}
