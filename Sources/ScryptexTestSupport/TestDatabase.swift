import Foundation
public import ScryptexCore
import ScryptexCrypto
public import ScryptexEmbeddedPostgres
public import ScryptexPostgres

/// A real PostgreSQL for tests: `TEST_DATABASE_URL` when set, otherwise an embedded test
/// cluster that the first test starts (once per test process) in `SCRYPTEX_TEST_DATA_DIR`
/// (default `/tmp/scryptex-test-cluster`). Every test gets a database of its own, so tests run
/// in parallel without seeing each other's data.
public enum TestDatabase {
    /// Logs warnings and errors (or `TEST_LOG_LEVEL`) to standard error.
    public static let logger = Logger(
        label: "scryptex.tests",
        minimumLevel: ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(LogLevel.init(name:)) ?? .warning
    )

    private static let server = SharedServer()

    /// The server's configuration, pointing at its maintenance database.
    public static func serverConfiguration() async throws -> PostgresConfiguration {
        try await server.configuration()
    }

    /// Creates an empty database, hands its configuration to `body`, and drops it afterwards.
    public static func withFreshDatabase<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConfiguration) async throws -> Result
    ) async throws -> Result {
        let server = try await serverConfiguration()
        let name = "test_" + SecureRandom.hexToken(byteCount: 8)
        let admin = try await PostgresConnection.connect(configuration: server, logger: logger)
        try await admin.executeScript("CREATE DATABASE \(name)")
        var configuration = server
        configuration.database = name
        do {
            let result = try await body(configuration)
            await drop(database: name, using: admin)
            return result
        } catch {
            await drop(database: name, using: admin)
            throw error
        }
    }

    /// Drops a test database and the tenant roles made for it (roles are cluster-wide, named
    /// `tr_<first 8 hex of SHA-256(database)>_<slug>` by the tenancy module).
    private static func drop(database name: String, using admin: PostgresConnection) async {
        _ = try? await admin.executeScript("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        let prefix = "tr_" + String(SHA256.hexDigest(name).prefix(8)) + "_"
        if let roles = try? await admin.query("SELECT rolname FROM pg_roles WHERE starts_with(rolname, \(prefix))") {
            for row in roles {
                if let role = try? row.decode("rolname", as: String.self), let identifier = try? SQLIdentifier(role) {
                    _ = try? await admin.executeScript("DROP ROLE IF EXISTS \(identifier.quoted)")
                }
            }
        }
        await admin.close()
    }

    /// Runs `body` with a connection to a fresh database.
    public static func withFreshConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await withFreshDatabase { configuration in
            try await PostgresConnection.withConnection(configuration: configuration, logger: logger, body)
        }
    }

    /// A new, private cluster in a fresh folder under `/tmp`, for tests that stop, restart or
    /// crash the server. Call `removeScratchCluster` when done.
    /// - Parameter durable: Keep fsync and synchronous commit on, for crash-recovery tests.
    public static func makeScratchCluster(durable: Bool = false) -> EmbeddedPostgres {
        let root = "/tmp/scryptex-scratch-" + SecureRandom.hexToken(byteCount: 6)
        return EmbeddedPostgres(options: .init(rootDirectory: root, isDurable: durable), logger: logger)
    }

    /// Stops a scratch cluster and deletes its folder.
    public static func removeScratchCluster(_ cluster: EmbeddedPostgres) async {
        _ = try? await cluster.stop()
        try? FileManager.default.removeItem(atPath: cluster.rootDirectory)
        if !cluster.dataDirectory.hasPrefix(cluster.rootDirectory + "/") {
            // A cluster kept where PostgreSQL's user can reach it: its own folder goes too.
            try? FileManager.default.removeItem(atPath: (cluster.dataDirectory as NSString).deletingLastPathComponent)
        }
        if cluster.socketDirectory != cluster.dataDirectory {
            try? FileManager.default.removeItem(atPath: cluster.socketDirectory)
        }
    }
}

/// Starts the shared test server once per process.
private actor SharedServer {
    private var starting: Task<PostgresConfiguration, any Error>?

    func configuration() async throws -> PostgresConfiguration {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    private static func start() async throws -> PostgresConfiguration {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["TEST_DATABASE_URL"], !url.isEmpty {
            var configuration = try PostgresConfiguration(url: url)
            configuration.database = configuration.database ?? "postgres"
            return configuration
        }
        let root = environment["SCRYPTEX_TEST_DATA_DIR"] ?? "/tmp/scryptex-test-cluster"
        let cluster = EmbeddedPostgres(
            options: .init(
                rootDirectory: root, isDurable: false, databaseName: "scryptex_tests", maximumConnections: 600),
            logger: TestDatabase.logger
        )
        try await cluster.start()
        var configuration = cluster.configuration
        configuration.database = "postgres"
        return configuration
    }
}
