import Dispatch
import Foundation
import Glibc
import ScryptexACME
import ScryptexAPI
import ScryptexBI
import ScryptexCompliance
package import ScryptexCore
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexIdentity
import ScryptexInstitutional
import ScryptexKYC
import ScryptexML
import ScryptexMarketData
import ScryptexPortal
import ScryptexPostgres
import ScryptexQuant
import ScryptexTemplates
import ScryptexTenancy
import ScryptexTradFi
import ScryptexWhiteLabel
import Synchronization

/// The running host: database ready and migrated, connection pool open, serving until a
/// termination signal, then shut down in order.
package struct HostService: Sendable {
    let configuration: Configuration
    let logger: Logger
    /// Each tenant's requests on this host (for `/metrics` and the dashboards).
    let traffic = TenantTraffic()
    /// What this host's job attempts took, by kind.
    let jobMetrics = TenantJobMetrics()
    /// False from the first termination signal: `/readyz` answers 503 while the host drains.
    let readiness = HostReadiness()
    /// The request rate limits, shared with the other hosts (`RateLimitExchange`).
    let limiter: RateLimiter

    package init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        limiter = RateLimiter(sharesUsage: configuration.rateLimitShareMilliseconds > 0)
    }

    package func run() async throws -> Int32 {
        var teardown = TeardownSteps()
        let services: [any LifecycleService]
        do {
            services = try await start(&teardown)
        } catch {
            await teardown.unwind()
            throw error
        }
        let logger = logger
        let (readiness, drain) = (readiness, configuration.shutdownDrainSeconds)
        let servers = services.compactMap { ($0 as? ServerService)?.server }
        let failure = await ServiceGroup(services, logger: logger).run {
            guard let signal = await TerminationSignal.next() else { return }
            logger.info("shutting down", ["signal": signal == SIGINT ? "SIGINT" : "SIGTERM"])
            guard drain > 0 else { return }
            // The drain: /readyz answers 503 so a load balancer stops sending new work, and each
            // connection closes after its response, while everything in flight finishes. A
            // second signal ends it at once.
            readiness.beginDraining()
            for server in servers { server.beginDraining() }
            logger.notice("draining before stopping", ["seconds": String(drain)])
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await Task.sleep(for: .seconds(drain)) }
                group.addTask { _ = await TerminationSignal.next() }
                await group.next()
                group.cancelAll()
            }
        }
        await teardown.unwind()
        logger.info("stopped")
        if let failure { throw failure }
        return 0
    }

    /// Opens everything the host needs, pushing a teardown step for each resource as it opens;
    /// returns the long-running parts, servers first (they stop last).
    private func start(_ teardown: inout TeardownSteps) async throws -> [any LifecycleService] {
        let directory = TenantDirectory()
        let keyring = try MasterKeySource.keyring(for: configuration, logger: logger)
        let sealing = try AuditSealing(configuration: configuration, logger: logger.child(label: "scryptex.audit"))
        let credentials = CredentialCache()
        var database = try await DatabaseSetup.prepare(configuration, logger: logger)
        teardown.push("database") { [database, logger] in await database.finish(logger: logger) }
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
        teardown.push("pool") { await pool.close() }
        // Tenants on other clusters: a pool each, on the same loops; the control plane's pool
        // routes every tenant transaction by placement.
        let clusters = TenantClusters(
            clusters: configuration.tenantClusters,
            options: .init(maximumConnections: 20, acquireTimeout: .seconds(10)), eventLoops: loops,
            logger: logger)
        teardown.push("tenant clusters") { await clusters.close() }
        pool.route(through: clusters)
        let sanctions = SanctionsRegistry(pool: pool, logger: logger.child(label: "scryptex.compliance"))
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
        logger.info(
            "tenant directory loaded",
            ["hosts": String(directory.count), "clusters": clusters.names.joined(separator: ",")])

        let https = try await startHTTPS(
            pool: pool, directory: directory, keyring: keyring, sealing: sealing, sanctions: sanctions,
            credentials: credentials)
        teardown.push("https (if not yet stopped)") { await https.server.shutdown(gracePeriod: .zero) }
        let http = try startRedirect(httpsPort: https.server.port, pool: pool)
        teardown.push("http (if not yet stopped)") { await http.shutdown(gracePeriod: .zero) }
        // The followers stop after the listeners (last in, first out).
        let databaseConfiguration = database.configuration
        let logger = logger
        var services: [any LifecycleService] = [
            BackgroundService(name: "tenant directory follower") {
                try await directory.follow(
                    configuration: databaseConfiguration, pool: pool, clusters: clusters,
                    logger: logger.child(label: "scryptex.tenancy"))
            },
            BackgroundService(name: "sanctions lists") {
                await sanctions.follow {
                    await Self.screenEveryAccount(
                        pool: pool, keyring: keyring, registry: sanctions,
                        logger: logger.child(label: "scryptex.compliance"))
                }
            },
            BackgroundService(name: "credential revocations") {
                try await credentials.follow(
                    configuration: databaseConfiguration, logger: logger.child(label: "scryptex.identity"))
            },
            ServerService(name: "https", server: https.server, gracePeriod: .seconds(10)),
            ServerService(name: "http", server: http, gracePeriod: .seconds(10)),
        ]
        if configuration.rateLimitShareMilliseconds > 0 {
            let exchange = RateLimitExchange(
                limiter: limiter, pool: pool, configuration: databaseConfiguration,
                interval: .milliseconds(configuration.rateLimitShareMilliseconds),
                host: "\(Self.machineName())-\(getpid())", logger: logger.child(label: "scryptex.ratelimit"))
            services.insert(BackgroundService(name: "rate limit exchange") { try await exchange.run() }, at: 0)
        }
        // Metrics for Prometheus on their own listener (no authentication: bind it to an
        // internal address). A listener asked for and not available stops start-up, as the
        // others do.
        var metricsPort: Int?
        if let address = configuration.metricsListen {
            let metrics = try startMetrics(
                address: address, https: https.server, http: http, pool: pool, directory: directory)
            teardown.push("metrics (if not yet stopped)") { await metrics.shutdown(gracePeriod: .zero) }
            services.append(ServerService(name: "metrics", server: metrics, gracePeriod: .seconds(1)))
            metricsPort = metrics.port
        }
        services += periodicServices(
            pool: pool, keyring: keyring, sealing: sealing, directory: directory, certificates: https.certificates)
        logger.info(
            "scryptex host ready",
            [
                "version": ScryptexVersion.current, "database": database.configuration.redactedDescription,
                "platform_domain": configuration.platformDomain, "https_port": String(https.server.port),
                "http_port": String(http.port),
                "metrics_port": metricsPort.map(String.init) ?? "none",
            ]
        )
        return services
    }

    /// Screens every account's legal name and beneficial owners against the active lists (after
    /// another list version became active), tenant by tenant; new matches raise alerts.
    static func screenEveryAccount(
        pool: PostgresConnectionPool, keyring: Keyring, registry: SanctionsRegistry, logger: Logger
    ) async {
        let screening = KYCSanctionsScreening(registry: registry, monitoring: MonitoringService())
        let accounts = AccountService()
        do {
            for tenant in try await TenantRegistry().tenants(statuses: [.active, .suspended], from: pool) {
                let keys = try await keyring.keys(for: tenant.id, on: pool)
                let audit = TenantAuditSink(schema: tenant.schema, actor: "system:sanctions", requestID: nil)
                try await TenantScope(tenant: tenant, pool: pool).withTransaction { transaction in
                    var cursor: UUID?
                    repeat {
                        let page = try await accounts.accounts(
                            after: cursor, limit: AccountService.largestPage, in: transaction)
                        for account in page.accounts {
                            try await screening.screen(
                                account,
                                beneficialOwners: try await accounts.beneficialOwners(
                                    of: account.id, sealer: keys, in: transaction), audit: audit, in: transaction)
                        }
                        cursor = page.next
                    } while cursor != nil
                }
            }
            logger.info("accounts screened against the new sanctions lists")
        } catch {
            logger.warning("screening accounts against the new lists failed", ["error": "\(error)"])
        }
    }

    /// What the host does in the background while it serves.
    private func periodicServices(
        pool: PostgresConnectionPool, keyring: Keyring, sealing: AuditSealing, directory: TenantDirectory,
        certificates: CertificateStore
    ) -> [any LifecycleService] {
        let configuration = configuration
        let logger = logger
        let vault = DatabaseCertificateVault(
            pool: pool, keyring: keyring, folder: CertificateFolder(dataDirectory: configuration.dataDirectory),
            logger: logger.child(label: "scryptex.tls"))
        // Tenant jobs (report generation and more) run on this host as well.
        let worker = TenantJobWorker(
            pool: pool,
            handlers: Self.jobHandlers(
                logger: logger, marketData: configuration.marketDataSource,
                training: configuration.trainingRunner, dataKeys: { try await keyring.keys(for: $0, on: pool) },
                webhookClient: configuration.biWebhookClient),
            owner: "host-\(getpid())", metrics: jobMetrics,
            logger: logger.child(label: "scryptex.jobs"))
        // Spare tenant schemas, so that creating a tenant (here or on another host) renames one
        // instead of waiting for every tenant migration. Checked every second; building one takes
        // a tenant's worth of DDL, off every request path.
        let keeper = TenantSpareSchemas(tenantSchema: SchemaPlans.tenant, logger: logger)
        let folder = CertificateFolder(dataDirectory: configuration.dataDirectory)
        let seen = Mutex(folder.stamps())
        /// The directory's host names at the last look (nil before the first).
        let known = Mutex<Set<String>?>(nil)
        var services: [any LifecycleService] = [
            BackgroundService(name: "audit retention") {
                await AuditRetention(retentionDays: configuration.auditRetentionDays, keyring: keyring, logger: logger)
                    .runPeriodically(on: pool)
            },
            BackgroundService(name: "audit seals") {
                await sealing.runPeriodically(on: pool, every: .seconds(configuration.auditSealIntervalSeconds))
            },
            BackgroundService(name: "tenant jobs") {
                while !Task.isCancelled {
                    var ran = false
                    do {
                        ran = try await worker.runOnce()
                    } catch {
                        // The database may be away for a while: tried again after the pause.
                        logger.warning("could not claim a tenant job", ["error": String(describing: error)])
                    }
                    if !ran { try? await Task.sleep(for: .milliseconds(500)) }
                }
            },
            PeriodicService(name: "spare tenant schemas", interval: .seconds(1)) {
                let target = configuration.spareTenantSchemas
                guard target > 0 else { return }
                do {
                    if try await keeper.readyCount(on: pool) < target {
                        let built = try await keeper.replenish(to: target, on: pool)
                        logger.debug("spare tenant schemas built", ["count": String(built)])
                    }
                } catch {
                    logger.warning("could not build a spare tenant schema", ["error": "\(error)"])
                }
            },
            // Custom domains: pending ones are served once their TXT record proves ownership,
            // verified ones are checked again and stop being served when it is gone.
            PeriodicService(
                name: "domain verification", interval: .seconds(configuration.domainVerificationIntervalSeconds)
            ) {
                do {
                    let outcomes = try await DomainVerification(
                        lookup: DNSResolver.system(configuration.dnsResolver)
                    ).checkAll(on: pool)
                    for outcome in outcomes where outcome.error != nil {
                        logger.info(
                            "custom domain not verified",
                            [
                                "domain": outcome.hostname, "state": outcome.state.rawValue,
                                "reason": outcome.error ?? "",
                            ])
                    }
                } catch {
                    logger.warning("could not check custom domains", ["error": "\(error)"])
                }
            },
            // Models are scored on the bars that arrived since they were trained, once a day each,
            // so drift shows in their history without anyone asking.
            PeriodicService(name: "model monitoring", interval: .seconds(3_600)) {
                let serving = ModelServing(store: ModelStore.at(configuration.mlModelStoragePath))
                do {
                    for tenant in try await TenantRegistry().tenants(statuses: [.active], from: pool) {
                        guard try await TenantRegistry().featureFlags(of: tenant.id, from: pool)["ml"] == true else {
                            continue
                        }
                        let outcome = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
                            try await serving.monitorDue(in: $0)
                        }
                        if outcome.recorded > 0 || !outcome.problems.isEmpty {
                            logger.info(
                                "models monitored",
                                [
                                    "tenant": tenant.slug.value, "evaluations": String(outcome.recorded),
                                    "problems": outcome.problems.joined(separator: "; "),
                                ])
                        }
                    }
                } catch {
                    logger.warning("could not monitor models", ["error": "\(error)"])
                }
            },
            // Trading facts follow the trade book in the background, so a dashboard or report only
            // catches up the last seconds (a sync already running elsewhere is left to finish).
            PeriodicService(name: "trading facts", interval: .seconds(30)) {
                guard configuration.biReportsEnabled else { return }
                do {
                    for tenant in try await TenantRegistry().tenants(statuses: [.active], from: pool) {
                        guard try await TenantRegistry().featureFlags(of: tenant.id, from: pool)["bi"] != false else {
                            continue
                        }
                        let scope = TenantScope(tenant: tenant, pool: pool)
                        _ = try await TradingFacts().sync { body in
                            try await scope.withTransaction(isolationLevel: .repeatableRead) { try await body($0) }
                        }
                    }
                } catch {
                    logger.warning("could not bring the trading facts up to date", ["error": "\(error)"])
                }
            },
            // Scheduled reports: every minute, each due report of a tenant with BI gets its run
            // queued (a report due on another host is skipped: the rows are locked).
            PeriodicService(name: "report schedules", interval: .seconds(60)) {
                guard configuration.biReportsEnabled else { return }
                do {
                    for tenant in try await TenantRegistry().tenants(statuses: [.active], from: pool) {
                        guard try await TenantRegistry().featureFlags(of: tenant.id, from: pool)["bi"] != false else {
                            continue
                        }
                        let queued = try await BIRoutes.queueScheduledRuns(
                            tenant: tenant, pool: pool, timeout: .seconds(configuration.reportGenerationTimeoutSeconds))
                        if queued > 0 {
                            logger.info(
                                "scheduled reports queued", ["tenant": tenant.slug.value, "runs": String(queued)])
                        }
                    }
                } catch {
                    logger.warning("could not queue scheduled reports", ["error": "\(error)"])
                }
            },
            // Day orders past their day read as expired at once; this stores them so.
            PeriodicService(name: "order expiry", interval: .seconds(60)) {
                do {
                    for tenant in try await TenantRegistry().tenants(statuses: [.active, .suspended], from: pool) {
                        let expired = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
                            try await OrderService().storeExpired(in: $0)
                        }
                        if expired > 0 {
                            logger.info("day orders expired", ["tenant": tenant.slug.value, "orders": String(expired)])
                        }
                    }
                } catch {
                    logger.warning("could not store expired orders", ["error": "\(error)"])
                }
            },
            // Without an ACME authority, a domain that appears while the host runs (a tenant or
            // instance created, a custom domain added) gets a development certificate from the
            // local authority, as the declared tenants' do at start; the folder watcher below
            // serves it. Domains present at start are left alone (thousands would not each get one).
            PeriodicService(name: "development certificates", interval: .seconds(2)) {
                guard configuration.acmeDirectoryURL == nil else { return }
                let current = Set(directory.hosts.map(\.name))
                let added = known.withLock { known -> [String] in
                    guard let seen = known else {
                        known = current
                        return []
                    }
                    known = current
                    return current.subtracting(seen).sorted()
                }
                guard !added.isEmpty else { return }
                do {
                    for domain in try folder.ensureDevelopmentCertificates(for: added) {
                        logger.notice(
                            "created a development certificate for a new domain; replace it for production",
                            ["domain": domain, "ca": folder.authorityCertificatePath])
                    }
                } catch {
                    logger.warning("could not create a development certificate", ["error": "\(error)"])
                }
            },
            // Certificates another host obtained are written into the folder; certificates added,
            // replaced or removed in the folder are served without a restart.
            PeriodicService(name: "certificate folder", interval: .seconds(2)) {
                await vault.synchronize()
                seen.withLock { seen in
                    folder.synchronize(
                        certificates, defaultDomain: configuration.platformDomain, seen: &seen,
                        logger: logger.child(label: "scryptex.tls"))
                }
            },
        ]
        // Prime-broker FIX sessions of tenants with `tradfi`: each held by one host at a time.
        let brokers = BrokerSessionSupervisor(
            pool: pool, connector: OutboundBrokerConnector(loops: pool.eventLoops),
            owner: "\(Self.machineName())-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())",
            monitoring: MonitoringService(enabled: configuration.complianceMonitoringEnabled),
            logger: logger.child(label: "scryptex.tradfi")
        ) { tenant in
            TenantAuditSink(schema: tenant.schema, actor: "system:tradfi", requestID: nil)
        }
        services.append(BackgroundService(name: "broker sessions") { await brokers.run() })
        // With an ACME authority configured, every served domain gets a certificate from it,
        // renewed before it expires; the folder watcher serves each one as it lands.
        if configuration.acmeDirectoryURL != nil {
            services.append(
                BackgroundService(name: "acme") {
                    let platformDomain = configuration.platformDomain
                    await ACMECertificates(configuration: configuration, logger: logger.child(label: "scryptex.acme"))
                        // Verified domains (the directory holds no others) of active tenants.
                        .keepCertificates(
                            of: {
                                [platformDomain] + directory.hosts.filter { $0.tenant.status == .active }.map(\.name)
                            },
                            log: RecordedCertificateAttempts(
                                pool: pool, host: "\(Self.machineName())-\(getpid())",
                                logger: logger.child(label: "scryptex.acme")),
                            challenges: DatabaseChallengePublisher(pool: pool), vault: vault)
                })
        }
        return services
    }

    private func startMetrics(
        address: ListenAddress, https: HTTPServer, http: HTTPServer, pool: PostgresConnectionPool,
        directory: TenantDirectory
    ) throws -> HTTPServer {
        let figures = HostMetrics(
            listeners: [("https", https), ("http", http)], pool: pool, directory: directory,
            certificates: CertificateExpiries(folder: CertificateFolder(dataDirectory: configuration.dataDirectory)),
            traffic: traffic, jobs: jobMetrics
        )
        var router = Router()
        router.get("/metrics") { _, _ in
            HTTPResponse(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: Array(await figures.render().utf8))
        }
        let server = HTTPServer(
            configuration: .init(host: address.host, port: address.port, eventLoopCount: 1),
            application: HTTPApplication(router: router), logger: logger.child(label: "scryptex.metrics"))
        try server.start()
        return server
    }
}

extension HostService {
    /// The machine's name as the kernel has it (no DNS lookup, which may stall start-up), for
    /// naming this host in shared records.
    static func machineName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "host" : name
    }

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

    /// Starts the HTTPS front: every route, certificates chosen by SNI.
    func startHTTPS(
        pool: PostgresConnectionPool, directory: TenantDirectory, keyring: Keyring, sealing: AuditSealing,
        sanctions: SanctionsRegistry, credentials: CredentialCache
    ) async throws -> (server: HTTPServer, certificates: CertificateStore) {
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
                templates: templates, sanctions: sanctions, credentials: credentials, traffic: traffic,
                readiness: readiness, limiter: limiter
            ).router,
            filters: (configuration.enterpriseFeaturesEnabled ? [] : [EnterpriseSwitchFilter()])
                + [TenantResolutionFilter(directory: directory)],
            middleware: Self.pageMiddleware(
                templates: templates, pool: pool, platformDomain: configuration.platformDomain),
            accessLog: AccessLog(), observers: [traffic]
        )
        var serverConfiguration = HTTPServer.Configuration(
            host: configuration.httpsListen.host, port: configuration.httpsListen.port,
            eventLoopGroup: pool.eventLoops, tls: store)
        serverConfiguration.proxyProtocolSources = configuration.proxyProtocolSources
        let https = HTTPServer(
            configuration: serverConfiguration,
            application: application,
            logger: logger.child(label: "scryptex.https")
        )
        try https.start()
        return (https, store)
    }

    /// Starts the plain HTTP port: ACME challenges, and a redirect to HTTPS for everything else.
    func startRedirect(httpsPort: Int, pool: PostgresConnectionPool) throws -> HTTPServer {
        let http = HTTPServer(
            configuration: .init(
                host: configuration.httpListen.host, port: configuration.httpListen.port, eventLoopCount: 1),
            application: PlainHTTP.application(
                httpsPort: httpsPort, challengeFolder: configuration.dataDirectory + "/acme",
                // Challenges another host published (it may be ordering while the authority asks here).
                publishedChallenge: { token in
                    try? await pool.withTransaction(readOnly: true) {
                        try await ACMEChallenges().keyAuthorization(for: token, in: $0)
                    }
                }),
            logger: logger.child(label: "scryptex.http")
        )
        try http.start()
        return http
    }
}

extension HostService {
    /// What answers browsers with pages: the branded error pages (outermost), then the
    /// portal's (sign-in redirects, its error pages).
    static func pageMiddleware(
        templates: TemplateLibrary, pool: PostgresConnectionPool, platformDomain: String
    ) -> [any HTTPMiddleware] {
        [
            BrandedPageMiddleware(templates: templates, pool: pool, platformDomain: platformDomain),
            PortalPageMiddleware(templates: templates, pool: pool, platformDomain: platformDomain),
        ]
    }

    /// Every route of the host, each service's collection given its part of the configuration.
    static func routes(
        pool: PostgresConnectionPool, keyring: Keyring, sealing: AuditSealing, configuration: Configuration,
        logger: Logger, templates: TemplateLibrary, sanctions: SanctionsRegistry? = nil,
        credentials: CredentialCache = CredentialCache(), traffic: TenantTraffic = TenantTraffic(),
        readiness: HostReadiness = HostReadiness(), limiter: RateLimiter = RateLimiter()
    ) -> SecuredRoutes {
        let identity = IdentityService(pool: pool, keyring: keyring, credentials: credentials)
        let services = APIServices(
            identity: identity,
            options: configuration.apiOptions, logger: logger, limiter: limiter)
        let instances = WhiteLabelInstances(
            pool: pool, identity: identity,
            options: configuration.whiteLabelOptions, logger: logger
        ) { tenant, actor, requestID, transaction in
            try await TenantIdentitySetUp.setUp(
                tenant, keyring: keyring, actor: actor, requestID: requestID, in: transaction)
        }
        let registry = sanctions ?? SanctionsRegistry(pool: pool, logger: logger)
        var router = Router()
        HealthRoutes.add(to: &router, pool: pool, readiness: readiness)
        var routes = SecuredRoutes(router: router, services: services)
        routes.add(TenantRoutes(services: services))
        routes.add(IdentityRoutes(services: services))
        routes.add(AuditRoutes(sealing: sealing, services: services))
        let institutional = InstitutionalRoutes(
            defaultJurisdiction: configuration.defaultJurisdiction, services: services,
            screening: KYCSanctionsScreening(registry: registry, monitoring: MonitoringService()),
            kycProvider: configuration.kyc?.makeProvider() ?? ManualKYCProvider())
        routes.add(institutional)
        let compliance = ComplianceRoutes(
            monitoringEnabled: configuration.complianceMonitoringEnabled, rules: configuration.tradeCheckRules,
            sanctions: registry)
        routes.add(compliance)
        let orders = OrderRoutes(
            monitoringEnabled: configuration.complianceMonitoringEnabled, rules: configuration.tradeCheckRules,
            sanctions: registry)
        routes.add(orders)
        let reports = ReportRoutes(
            reportingEnabled: configuration.regulatoryReportingEnabled,
            generationTimeout: .seconds(configuration.reportGenerationTimeoutSeconds))
        routes.add(reports)
        let admin = AdminRoutes(options: configuration.adminOptions, sealing: sealing, services: services)
        routes.add(admin)
        routes.add(WhiteLabelRoutes(instances: instances, enabled: configuration.whiteLabelEnabled))
        let quant = QuantRoutes(source: configuration.marketDataSource)
        routes.add(quant)
        let marketMaking = MarketMakingRoutes(enabled: configuration.marketMakingEnabled)
        routes.add(marketMaking)
        routes.add(TradFiRoutes(rules: configuration.tradeCheckRules, sanctions: registry))
        routes.add(
            MLRoutes(
                store: ModelStore.at(configuration.mlModelStoragePath), trainingEnabled: configuration.mlTrainingEnabled
            ))
        let intelligence = BIRoutes(
            enabled: configuration.biReportsEnabled, refreshSeconds: configuration.executiveDashboardRefreshSeconds,
            generationTimeout: .seconds(configuration.reportGenerationTimeoutSeconds),
            marketMakingEnabled: configuration.marketMakingEnabled, traffic: traffic)
        routes.add(intelligence)
        routes.add(
            PlatformDashboardRoutes(
                services: services, traffic: traffic, refreshSeconds: configuration.executiveDashboardRefreshSeconds,
                enabled: configuration.biReportsEnabled))
        routes.add(MarketDataAdminRoutes(services: services))
        let revenue = RevenueRoutes(
            instances: instances, templates: templates, enabled: configuration.whiteLabelEnabled, services: services)
        routes.add(revenue)
        routes.add(
            ConsoleRoutes(
                services: services, templates: templates, admin: admin, revenue: revenue,
                certificates: HostCertificateInventory(
                    folder: CertificateFolder(dataDirectory: configuration.dataDirectory), pool: pool)))
        routes.add(
            PortalRoutes(
                services: services, templates: templates,
                operations: PortalRoutes.Operations(
                    institutional: institutional, compliance: compliance, orders: orders, reports: reports,
                    intelligence: intelligence, revenue: revenue, quant: quant, marketMaking: marketMaking),
                defaultJurisdiction: configuration.defaultJurisdiction,
                mail: mailTransport(configuration)))
        return routes
    }

    /// The relay in `SMTP_URL`, or the development outbox.
    static func mailTransport(_ configuration: Configuration) -> any MailTransport {
        let sender = configuration.mailFrom ?? "no-reply@\(configuration.platformDomain)"
        if let url = configuration.smtpURL,
            let client = try? SMTPClient(
                url: url, trustedCertificatesFile: configuration.smtpTrustedCertificatesFile,
                clientName: configuration.platformDomain)
        {
            return SMTPMailTransport(client: client, sender: sender)
        }
        return OutboxMailTransport(folder: configuration.dataDirectory + "/outbox", sender: sender)
    }

    /// The handlers of every tenant job kind the host runs.
    /// - Parameters:
    ///   - marketData: Where backtests read bars (`BACKTESTING_DATA_SOURCE`).
    ///   - training: How models are trained and where they are saved (`ML_MODEL_STORAGE_PATH`).
    ///   - dataKeys: A tenant's data keys, which open report webhooks' secrets (without them,
    ///     webhook jobs are not run here).
    ///   - webhookClient: How report webhooks are sent (`BI_WEBHOOK_*`).
    static func jobHandlers(
        logger: Logger, marketData: any MarketDataSource = LocalMarketData(),
        training: TrainingRunner = TrainingRunner(store: ModelStore.at(NSTemporaryDirectory() + "scryptex-models")),
        dataKeys: (@Sendable (UUID) async throws -> Keyring.TenantKeys)? = nil,
        webhookClient: HTTPSClient = HTTPSClient(timeout: .seconds(10), addresses: .publicOnly)
    ) -> [String:
        TenantJobQueue.Handler]
    {
        var handlers = [
            MLRoutes.jobKind: MLRoutes.jobHandler(runner: training),
            MarketMakingRoutes.jobKind: MarketMakingRoutes.jobHandler(),
            BIRoutes.jobKind: BIRoutes.jobHandler(),
            ReportRoutes.jobKind: ReportRoutes.jobHandler(logger: logger),
            QuantRoutes.jobKind: QuantRoutes.jobHandler(
                source: marketData, signals: MLSignalProvider(store: training.store)),
            QuantRoutes.optimizationJobKind: QuantRoutes.optimizationJobHandler(source: marketData),
        ]
        if let dataKeys {
            handlers[BIRoutes.webhookJobKind] = BIRoutes.webhookJobHandler(keys: dataKeys, client: webhookClient)
        }
        return handlers
    }
}
