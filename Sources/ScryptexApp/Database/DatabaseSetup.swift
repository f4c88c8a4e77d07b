package import ScryptexCore
package import ScryptexEmbeddedPostgres
package import ScryptexPostgres
package import ScryptexTenancy

/// The database a command works with: `DATABASE_URL`, or the embedded cluster, started if
/// needed (and stopped again by `finish` when this command started it).
package struct DatabaseSetup: Sendable {
    var configuration: PostgresConfiguration
    var cluster: EmbeddedPostgres?
    var startedHere: Bool

    package static func embeddedCluster(for configuration: Configuration, logger: Logger) -> EmbeddedPostgres {
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
        let setup = DatabaseSetup(
            configuration: cluster.configuration, cluster: cluster, startedHere: outcome != .alreadyRunning)
        do {
            var prepared = setup
            prepared.configuration = try await hostRoleConfiguration(of: cluster, logger: logger)
            return prepared
        } catch {
            await setup.finish(logger: logger)
            throw error
        }
    }

    /// The role the host uses in its embedded cluster: not a superuser, only `LOGIN CREATEROLE`
    /// and the ownership of its database (docs/DATABASE.md lists the same grants for an
    /// external database). The cluster's superuser makes it once; a database created before
    /// this role existed (its `platform` schema belongs to the superuser) keeps the superuser.
    static func hostRoleConfiguration(
        of cluster: EmbeddedPostgres, logger: Logger
    ) async throws
        -> PostgresConfiguration
    {
        let admin = try await PostgresConnection.connect(
            configuration: cluster.configuration, retryingFor: .seconds(30), logger: logger)
        do {
            let configuration = try await createHostRole(of: cluster, as: admin, logger: logger)
            await admin.close()
            return configuration
        } catch {
            await admin.close()
            throw error
        }
    }

    private static func createHostRole(
        of cluster: EmbeddedPostgres, as admin: PostgresConnection, logger: Logger
    ) async throws -> PostgresConfiguration {
        let owner = try await admin.query(
            """
            SELECT r.rolname AS owner FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
            WHERE n.nspname = 'platform'
            """
        ).first.map { try $0.decode("owner", as: String.self) }
        if let owner, owner != hostRole.name {
            logger.notice(
                "this embedded database predates the host's own role; the host goes on as the cluster's superuser",
                ["owner": owner])
            return cluster.configuration
        }
        let database = try SQLIdentifier(cluster.databaseName)
        try await admin.executeScript(
            """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(hostRole.name)') THEN
                    CREATE ROLE \(hostRole.quoted) LOGIN NOSUPERUSER CREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS;
                END IF;
            END
            $$;
            ALTER DATABASE \(database.quoted) OWNER TO \(hostRole.quoted);
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            """
        )
        return cluster.socketConfiguration(user: hostRole.name)
    }

    /// The embedded cluster's login role for the host.
    static let hostRole = SQLIdentifier(static: "scryptex_host")

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
    package static func withConnection<Result>(
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

    /// Sends each tenant's work from the control plane's `pool` to its cluster (`TENANT_CLUSTERS`),
    /// with the placements as the control plane has them now.
    package static func routeTenants(
        of pool: PostgresConnectionPool, through clusters: TenantClusters, migratedPlatform: Bool = true
    ) async throws {
        pool.route(through: clusters)
        // (A command that leaves the platform schema alone may run before it exists.)
        if migratedPlatform { try await clusters.reload(from: pool) }
    }

    /// Like `withConnection`, with a small pool, and (unless told otherwise) the platform schema
    /// migrated first.
    package static func withPool<Result>(
        _ configuration: Configuration,
        logger: Logger,
        migratingPlatform: Bool = true,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnectionPool) async throws -> Result
    ) async throws -> Result {
        try await withConnection(configuration, logger: logger) { connection in
            if migratingPlatform {
                try await Migrator(plan: SchemaPlans.platform, logger: logger)
                    .migrate(schema: PlatformSchema.name, on: connection)
            }
            let pool = PostgresConnectionPool(
                configuration: connection.configuration, options: .init(maximumConnections: 4), logger: logger
            )
            let clusters = TenantClusters(
                clusters: configuration.tenantClusters, options: .init(maximumConnections: 4), logger: logger)
            do {
                try await routeTenants(of: pool, through: clusters, migratedPlatform: migratingPlatform)
                let result = try await body(pool)
                await clusters.close()
                await pool.close()
                return result
            } catch {
                await clusters.close()
                await pool.close()
                throw error
            }
        }
    }
}
