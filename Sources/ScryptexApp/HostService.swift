import Dispatch
import Foundation
import Glibc
import ScryptexCompliance
import ScryptexCore
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTemplates
import ScryptexTenancy
import Synchronization

/// The running host: database ready and migrated, connection pool open, serving until a
/// termination signal, then shut down in order.
struct HostService: Sendable {
    let configuration: Configuration
    let logger: Logger

    func run() async throws -> Int32 {
        let directory = TenantDirectory()
        let keyring = try MasterKeySource.keyring(for: configuration, logger: logger)
        let sealing = try AuditSealing(configuration: configuration, logger: logger.child(label: "scryptex.audit"))
        var changeListener: PostgresNotificationListener?
        var credentialListener: PostgresNotificationListener?
        let credentials = CredentialCache()
        var database = try await DatabaseSetup.prepare(configuration, logger: logger)
        if database.configuration.statementTimeout == nil {
            database.configuration.statementTimeout = .seconds(configuration.databaseStatementTimeoutSeconds)
        }
        // A request that needs a new connection to a stalled server waits no longer than one
        // that has a connection.
        if let limit = database.configuration.statementTimeout {
            database.configuration.connectTimeoutSeconds = max(
                1, min(database.configuration.connectTimeoutSeconds, Int(limit.components.seconds)))
        }
        // The HTTPS server and the database connections share these loops: a request and its
        // statements run on one thread.
        let loops = try configuration.eventLoopCount.map { try EventLoopGroup(loopCount: $0) } ?? .shared
        let pool = PostgresConnectionPool(
            configuration: database.configuration,
            options: .init(maximumConnections: 20, acquireTimeout: .seconds(10)), eventLoops: loops,
            logger: logger.child(label: "scryptex.postgres.pool")
        )
        let sanctions = SanctionsRegistry(pool: pool, logger: logger.child(label: "scryptex.compliance"))
        do {
            // The database may still be starting (or restarting): wait for it, within bounds.
            let first = try await PostgresConnection.connect(
                configuration: database.configuration, retryingFor: .seconds(30), logger: logger
            )
            await first.close()
            let outcome = try await SchemaMigrations(logger: logger).migrateAll(on: pool)
            for line in outcome.lines { logger.info(line) }
            try await TenantIdentitySetUp.ensureDataKeys(keyring: keyring, on: pool)
            try await sanctions.load()
            try await syncTenants(pool: pool, keyring: keyring)
            try await directory.reload(from: pool)
            logger.info("tenant directory loaded", ["hosts": String(directory.count)])
            changeListener = try directory.follow(
                configuration: database.configuration, pool: pool, logger: logger.child(label: "scryptex.tenancy")
            )
            credentialListener = try credentials.follow(
                configuration: database.configuration, logger: logger.child(label: "scryptex.identity"))
        } catch {
            await pool.close()
            await database.finish(logger: logger)
            throw error
        }
        let servers: (https: HTTPServer, http: HTTPServer, certificates: CertificateStore)
        do {
            servers = try await startServers(
                pool: pool, directory: directory, keyring: keyring, sealing: sealing, sanctions: sanctions,
                credentials: credentials)
        } catch {
            await pool.close()
            await database.finish(logger: logger)
            throw error
        }
        // Metrics for Prometheus on their own listener (no authentication: bind it to an
        // internal address). A listener asked for and not available stops start-up, as the
        // others do.
        var metrics: HTTPServer?
        if let address = configuration.metricsListen {
            let figures = HostMetrics(
                listeners: [("https", servers.https), ("http", servers.http)], pool: pool, directory: directory,
                certificates: CertificateExpiries(folder: CertificateFolder(dataDirectory: configuration.dataDirectory))
            )
            var router = Router()
            router.get("/metrics") { _, _ in
                HTTPResponse(
                    status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                    body: Array(figures.render().utf8))
            }
            let server = HTTPServer(
                configuration: .init(host: address.host, port: address.port, eventLoopCount: 1),
                application: HTTPApplication(router: router), logger: logger.child(label: "scryptex.metrics"))
            do {
                try server.start()
                metrics = server
            } catch {
                await servers.https.shutdown(gracePeriod: .zero)
                await servers.http.shutdown(gracePeriod: .zero)
                await pool.close()
                await database.finish(logger: logger)
                throw error
            }
        }
        logger.info(
            "scryptex host ready",
            [
                "version": ScryptexCommands.version, "database": database.configuration.redactedDescription,
                "platform_domain": configuration.platformDomain, "https_port": String(servers.https.port),
                "http_port": String(servers.http.port), "metrics_port": metrics.map { String($0.port) } ?? "none",
            ]
        )
        let retention = Task {
            await AuditRetention(retentionDays: configuration.auditRetentionDays, keyring: keyring, logger: logger)
                .runPeriodically(on: pool)
        }
        let seals = Task {
            await sealing.runPeriodically(on: pool, every: .seconds(configuration.auditSealIntervalSeconds))
        }
        // Tenant jobs (report generation and more) run on this host as well.
        let worker = TenantJobWorker(
            pool: pool, handlers: Self.jobHandlers(logger: logger), owner: "host-\(getpid())",
            logger: logger.child(label: "scryptex.jobs"))
        let jobs = Task {
            while !Task.isCancelled {
                let ran = (try? await worker.runOnce()) ?? false
                if !ran { try? await Task.sleep(for: .milliseconds(500)) }
            }
        }
        // Spare tenant schemas, so that creating a tenant (here or on another host) renames one
        // instead of waiting for every tenant migration. Checked every second; building one takes
        // a tenant's worth of DDL, off every request path.
        let spares = Task {
            let keeper = TenantSpareSchemas(tenantSchema: SchemaPlans.tenant, logger: logger)
            let target = configuration.spareTenantSchemas
            while target > 0 && !Task.isCancelled {
                do {
                    if try await keeper.readyCount(on: pool) < target {
                        let built = try await keeper.replenish(to: target, on: pool)
                        logger.debug("spare tenant schemas built", ["count": String(built)])
                    }
                } catch {
                    logger.warning("could not build a spare tenant schema", ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // Certificates added, replaced or removed in the folder are served without a restart.
        let certificates = Task {
            let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
            var seen = folder.stamps()
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(2))
                folder.synchronize(
                    servers.certificates, defaultDomain: configuration.platformDomain, seen: &seen,
                    logger: logger.child(label: "scryptex.tls"))
            }
        }
        // With an ACME authority configured, every served domain gets a certificate from it,
        // renewed before it expires; the folder watcher above serves each one as it lands.
        let acme = Task {
            guard configuration.acmeDirectoryURL != nil else { return }
            await ACMECertificates(configuration: configuration, logger: logger.child(label: "scryptex.acme"))
                .keepCertificates(directory: directory)
        }
        let signal = await TerminationSignal.next()
        acme.cancel()
        certificates.cancel()
        spares.cancel()
        jobs.cancel()
        retention.cancel()
        seals.cancel()
        logger.info("shutting down", ["signal": signal == SIGINT ? "SIGINT" : "SIGTERM"])
        await metrics?.shutdown(gracePeriod: .seconds(1))
        await servers.http.shutdown(gracePeriod: .seconds(10))
        await servers.https.shutdown(gracePeriod: .seconds(10))
        await changeListener?.stop()
        await credentialListener?.stop()
        await spares.value
        await pool.close()
        await database.finish(logger: logger)
        logger.info("stopped")
        return 0
    }
}

extension HostService {
    /// Starts the HTTPS front (certificates by SNI) and the plain HTTP port that redirects to it.
    /// The slugs of the tenant files in `folder` (file names without `.json`).
    static func declaredTenantSlugs(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }
    }

    /// Applies `tenants/*.json`; a malformed file stops start-up, naming the file and field.
    func syncTenants(pool: PostgresConnectionPool, keyring: Keyring) async throws {
        guard FileManager.default.fileExists(atPath: configuration.tenantsDirectory) else { return }
        let outcome = try await TenantFiles.apply(configuration, keyring: keyring, logger: logger, on: pool)
        logger.info(
            "tenants synced",
            [
                "folder": configuration.tenantsDirectory, "created": outcome.report.created.joined(separator: ","),
                "updated": outcome.report.updated.joined(separator: ","),
                "not_in_folder": outcome.report.notInFolder.joined(separator: ","),
                "revenue_plans_changed": outcome.plansChanged.keys.sorted().joined(separator: ","),
            ]
        )
    }

    func startServers(
        pool: PostgresConnectionPool, directory: TenantDirectory, keyring: Keyring, sealing: AuditSealing,
        sanctions: SanctionsRegistry, credentials: CredentialCache
    ) async throws -> (https: HTTPServer, http: HTTPServer, certificates: CertificateStore) {
        let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
        // Development certificates only for the platform domain and the tenants declared in the
        // tenants folder (the demo set): never one per database tenant, which at thousands of
        // tenants would make start-up slow and hold an OpenSSL context per domain.
        let declared = Set(Self.declaredTenantSlugs(in: configuration.tenantsDirectory))
        let tenantHosts = try await TenantRegistry().hostNames(from: pool).filter { declared.contains($0.slug) }.map(
            \.hostName)
        let made = try folder.ensureDevelopmentCertificates(for: [configuration.platformDomain] + tenantHosts)
        for domain in made {
            logger.notice(
                "created a development certificate; replace it for production",
                ["domain": domain, "ca": folder.authorityCertificatePath]
            )
        }
        let store = try folder.loadStore(defaultDomain: configuration.platformDomain, logger: logger)
        let templates = try TemplateLibrary(directory: configuration.templatesDirectory)
        let application = HTTPApplication(
            router: Self.routes(
                pool: pool, keyring: keyring, sealing: sealing, configuration: configuration, logger: logger,
                templates: templates, sanctions: sanctions, credentials: credentials
            ).router,
            middleware: [
                AccessLogMiddleware(), TenantResolutionMiddleware(directory: directory),
                BrandedPageMiddleware(templates: templates, pool: pool, platformDomain: configuration.platformDomain),
            ]
        )
        let https = HTTPServer(
            configuration: .init(
                host: configuration.httpsListen.host, port: configuration.httpsListen.port,
                eventLoopGroup: pool.eventLoops, tls: store
            ),
            application: application,
            logger: logger.child(label: "scryptex.https")
        )
        try https.start()
        let redirect = HTTPApplication(
            router: Router(),
            middleware: [
                ACMEChallengeMiddleware(folder: configuration.dataDirectory + "/acme"),
                RedirectToHTTPSMiddleware(httpsPort: https.port),
            ])
        let http = HTTPServer(
            configuration: .init(
                host: configuration.httpListen.host, port: configuration.httpListen.port, eventLoopCount: 1),
            application: redirect,
            logger: logger.child(label: "scryptex.http")
        )
        do {
            try http.start()
        } catch {
            Task { await https.shutdown(gracePeriod: .zero) }
            throw error
        }
        return (https, http, store)
    }
}

extension HostService {
    /// Every route of the host, each with the access it needs.
    static func routes(
        pool: PostgresConnectionPool, keyring: Keyring, sealing: AuditSealing, configuration: Configuration,
        logger: Logger, templates: TemplateLibrary, sanctions: SanctionsRegistry? = nil,
        credentials: CredentialCache = CredentialCache()
    ) -> SecuredRouter {
        var router = Router()
        PlatformRoutes.add(to: &router, pool: pool)
        let services = RouteServices(
            identity: IdentityService(pool: pool, keyring: keyring, credentials: credentials), sealing: sealing,
            limiter: RateLimiter(),
            configuration: configuration, logger: logger, features: FeatureGate(pool: pool),
            sanctions: sanctions ?? SanctionsRegistry(pool: pool, logger: logger), templates: templates)
        var routes = SecuredRouter(router: router, services: services)
        TenantRoutes.add(to: &routes)
        IdentityRoutes.add(to: &routes)
        InstitutionalRoutes.add(to: &routes)
        ComplianceRoutes.add(to: &routes)
        ReportRoutes.add(to: &routes)
        AdminRoutes.add(to: &routes)
        WhiteLabelRoutes.add(to: &routes)
        return routes
    }
}

extension HostService {
    /// The handlers of every tenant job kind the host runs.
    static func jobHandlers(logger: Logger) -> [String: TenantJobQueue.Handler] {
        [ReportRoutes.jobKind: ReportRoutes.jobHandler(logger: logger)]
    }
}

/// Waits for SIGINT or SIGTERM.
enum TerminationSignal {
    /// Dispatch sources are thread-safe (they may be resumed and cancelled from any thread), and
    /// this box only keeps them alive until the first signal arrives.
    private final class Sources: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
    }

    /// Returns the number of the first termination signal received.
    static func next() async -> Int32 {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let box = Sources()
        let delivered = Atomic<Bool>(false)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            for number in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    guard
                        delivered.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
                            .exchanged
                    else { return }
                    box.sources.forEach { $0.cancel() }
                    continuation.resume(returning: number)
                }
                box.sources.append(source)
                source.resume()
            }
        }
    }
}
