import Foundation
import ScryptexApp
public import ScryptexCore

/// One command of the `scryptex` program: its definition (name, summary, options, arguments)
/// and what it does. The program's help and its dispatch come from the same command tree, so
/// a command that is listed is a command that runs.
protocol ScryptexCommand: Sendable {
    static var definition: CommandDefinition { get }
    /// Whether the command reads the configuration first (all but `version`): a configuration
    /// that is not valid then stops it, naming each variable at fault.
    static var readsConfiguration: Bool { get }

    static func run(_ invocation: CommandLineParser.Invocation, in context: CommandContext) async throws -> Int32
}

extension ScryptexCommand {
    static var readsConfiguration: Bool { true }
}

/// What a command runs with: the configuration, a logger and the program's outputs.
struct CommandContext: Sendable {
    let configuration: Configuration
    let logger: Logger
    /// Command results (standard output).
    let output: @Sendable (String) -> Void
    /// Usage and errors (standard error).
    let errorOutput: @Sendable (String) -> Void

    /// Prints a service's error; bad input exits 2 (like a usage error), anything else 1.
    func report(_ error: ServiceError) -> Int32 {
        errorOutput("scryptex: \(error.message)")
        return error.code == .invalidInput ? ScryptexProgram.ExitCode.usage : ScryptexProgram.ExitCode.failure
    }
}

/// The program's commands: groups of commands, each command a type.
indirect enum CommandTree: Sendable {
    case command(any ScryptexCommand.Type)
    case group(name: String, summary: String, [CommandTree])

    /// The definition the parser reads, help included.
    var definition: CommandDefinition {
        switch self {
        case .command(let command):
            command.definition
        case .group(let name, let summary, let members):
            CommandDefinition(name: name, summary: summary, subcommands: members.map(\.definition))
        }
    }

    /// The command at `path` (names from the root's children down).
    func command(at path: some Collection<String>) -> (any ScryptexCommand.Type)? {
        switch self {
        case .command(let command):
            return path.isEmpty ? command : nil
        case .group(_, _, let members):
            guard let first = path.first else { return nil }
            return members.first { $0.definition.name == first }?.command(at: path.dropFirst())
        }
    }
}

/// Runs the `scryptex` command line. The executable only calls `run`.
public struct ScryptexProgram: Sendable {
    public static let version = ScryptexVersion.current

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

    static let tree = CommandTree.group(
        name: "scryptex", summary: "Scryptex Host: a multi-tenant white-label host for institutional crypto trading.",
        [
            .command(ServeCommand.self),
            .group(
                name: "db", summary: "Manage the embedded PostgreSQL cluster in $SCRYPTEX_DATA_DIR/postgres.",
                [
                    .command(DatabaseStartCommand.self), .command(DatabaseStopCommand.self),
                    .command(DatabaseStatusCommand.self), .command(DatabaseURLCommand.self),
                ]),
            .command(MigrateCommand.self),
            .group(
                name: "tenant", summary: "Provision and list tenants (partner instances).",
                [
                    .command(TenantCreateCommand.self), .command(TenantListCommand.self),
                    .command(TenantSyncCommand.self), .command(TenantSuspendCommand.self),
                    .command(TenantResumeCommand.self), .command(TenantDeleteCommand.self),
                    .command(TenantExportCommand.self), .command(TenantImportCommand.self),
                    .command(TenantMoveCommand.self), .command(TenantClustersCommand.self),
                ]),
            .group(
                name: "cert", summary: "Manage TLS certificates in $SCRYPTEX_DATA_DIR/tls.",
                [
                    .command(DevelopmentCertificateCommand.self), .command(IssueCertificateCommand.self),
                    .command(CertificateStatusCommand.self),
                ]),
            .group(name: "apikey", summary: "Manage a tenant's API keys.", [.command(APIKeyCreateCommand.self)]),
            .group(
                name: "user", summary: "Manage a tenant's team members (who sign in to the portal).",
                [.command(UserCreateCommand.self)]),
            .group(
                name: "admin-key", summary: "Manage platform-admin keys (control plane only).",
                [.command(AdminKeyCreateCommand.self)]),
            .group(
                name: "audit", summary: "Check and maintain audit trails.",
                [.command(AuditVerifyCommand.self), .command(AuditPurgeCommand.self), .command(AuditSealCommand.self)]),
            .group(
                name: "keys", summary: "Rotate the keys of encryption at rest.",
                [.command(KeyRotateCommand.self), .command(KeyRewrapCommand.self)]),
            .group(
                name: "sanctions", summary: "Load and list sanctions lists (each load is kept as a version).",
                [.command(SanctionsLoadCommand.self), .command(SanctionsStatusCommand.self)]),
            .group(
                name: "revenue",
                summary: "The revenue-share ledger: ingest fee events, close a month, statements, reconciliation.",
                [
                    .command(RevenueIngestCommand.self), .command(RevenueCloseCommand.self),
                    .command(RevenueStatementCommand.self), .command(RevenueReconcileCommand.self),
                ]),
            .group(
                name: "market-data",
                summary: "The platform's market data: import CSV bars, generate a synthetic market, list.",
                [
                    .command(MarketDataImportCommand.self), .command(MarketDataGenerateCommand.self),
                    .command(MarketDataListCommand.self),
                ]),
            .command(ReconcileCommand.self),
            .command(ConfigCommand.self),
            .command(VersionCommand.self),
        ])

    /// The whole command tree as the parser reads it.
    public static var definition: CommandDefinition { tree.definition }

    /// Parses `arguments` (without the program name) and runs the command.
    /// - Returns: The process exit code.
    public func run(arguments: [String]) async -> Int32 {
        let parser = CommandLineParser(root: Self.definition)
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
        guard let command = Self.tree.command(at: invocation.path) else {
            errorOutput(parser.help(for: []))
            return ExitCode.usage
        }
        let configuration: Configuration
        do {
            configuration = try Configuration(
                environment: command.readsConfiguration ? environment : [:],
                hasGPU: FileManager.default.fileExists(atPath: "/dev/nvidia0"))
        } catch {
            errorOutput("scryptex: the configuration is not valid:\n\(error.description)")
            return ExitCode.failure
        }
        let logger = Logger(label: "scryptex", minimumLevel: configuration.logLevel)
        let context = CommandContext(
            configuration: configuration, logger: logger, output: output, errorOutput: errorOutput)
        do {
            return try await command.run(invocation, in: context)
        } catch {
            logger.error(
                "command failed",
                ["command": invocation.path.joined(separator: " "), "error": String(describing: error)])
            errorOutput("scryptex: \(error)")
            return ExitCode.failure
        }
    }
}

/// The slug rule, for help text.
enum TenantSlugRule {
    static let text = "The tenant's slug: a lowercase letter, then 1 to 39 lowercase letters, digits or underscores."
}
