import ScryptexCore
import ScryptexEmbeddedPostgres
import ScryptexPostgres

/// The database a command works with: `DATABASE_URL`, or the embedded cluster, started if
/// needed (and stopped again by `finish` when this command started it).
struct DatabaseSetup: Sendable {
    var configuration: PostgresConfiguration
    var cluster: EmbeddedPostgres?
    var startedHere: Bool

    static func embeddedCluster(for configuration: Configuration, logger: Logger) -> EmbeddedPostgres {
        EmbeddedPostgres(
            options: .init(rootDirectory: configuration.dataDirectory, tcpPort: configuration.embeddedPostgresPort),
            logger: logger.child(label: "scryptex.embedded-postgres")
        )
    }

    static func prepare(_ configuration: Configuration, logger: Logger) async throws -> DatabaseSetup {
        if let external = configuration.database {
            logger.info("using the database from DATABASE_URL", ["database": external.redactedDescription])
            return DatabaseSetup(configuration: external, cluster: nil, startedHere: false)
        }
        let cluster = embeddedCluster(for: configuration, logger: logger)
        logger.info("DATABASE_URL is unset; using the embedded PostgreSQL cluster", ["data_dir": cluster.dataDirectory])
        let outcome = try await cluster.start()
        return DatabaseSetup(
            configuration: cluster.configuration, cluster: cluster, startedHere: outcome != .alreadyRunning)
    }

    /// Stops the embedded cluster if this command started it.
    func finish(logger: Logger) async {
        guard startedHere, let cluster else { return }
        do {
            try await cluster.stop()
        } catch {
            logger.error("could not stop the embedded cluster", ["error": String(describing: error)])
        }
    }

    /// Prepares the database, lends `body` one connection, then closes it and stops an embedded
    /// cluster this call started, whether `body` succeeded or not.
    static func withConnection<Result>(
        _ configuration: Configuration,
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let database = try await prepare(configuration, logger: logger)
        do {
            let connection = try await PostgresConnection.connect(
                configuration: database.configuration, retryingFor: .seconds(30), logger: logger
            )
            do {
                let result = try await body(connection)
                await connection.close()
                await database.finish(logger: logger)
                return result
            } catch {
                await connection.close()
                throw error
            }
        } catch {
            await database.finish(logger: logger)
            throw error
        }
    }

    /// Like `withConnection`, with a small pool, and (unless told otherwise) the platform schema
    /// migrated first.
    static func withPool<Result>(
        _ configuration: Configuration,
        logger: Logger,
        migratingPlatform: Bool = true,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnectionPool) async throws -> Result
    ) async throws -> Result {
        try await withConnection(configuration, logger: logger) { connection in
            if migratingPlatform {
                try await Migrator(set: PlatformMigrations.set, logger: logger)
                    .migrate(schema: PlatformMigrations.schema, on: connection)
            }
            let pool = PostgresConnectionPool(
                configuration: connection.configuration, options: .init(maximumConnections: 4), logger: logger
            )
            do {
                let result = try await body(pool)
                await pool.close()
                return result
            } catch {
                await pool.close()
                throw error
            }
        }
    }
}
