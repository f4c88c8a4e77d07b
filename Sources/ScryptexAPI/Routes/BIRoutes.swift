public import Foundation
public import ScryptexBI
import ScryptexCore
import ScryptexCrypto
public import ScryptexHTTP
public import ScryptexIdentity
public import ScryptexPostgres
public import ScryptexTenancy

/// Business intelligence (feature `bi`, `BI_REPORTS_ENABLED`): executive dashboards for an
/// account and for the whole firm, custom reports generated as tenant jobs and served as JSON,
/// CSV, HTML and PDF (docs/BI.md).
public struct BIRoutes: RouteCollection {
    /// The tenant job that generates a report run.
    public static let jobKind = "bi_report"
    /// The tenant job that delivers a completed run's webhook (retried with back-off).
    public static let webhookJobKind = "bi_report_webhook"
    /// Attempts of a webhook: waits of 2, 4, 8, 16 and 32 s between them.
    public static let webhookAttempts = 6

    let enabled: Bool
    let cache: DashboardCache
    let generationTimeout: Duration
    let marketMakingEnabled: Bool
    let traffic: TenantTraffic

    /// - Parameters:
    ///   - enabled: `BI_REPORTS_ENABLED`; off, every BI route is 403 naming it.
    ///   - refreshSeconds: `EXECUTIVE_DASHBOARD_REFRESH`: how long a computed dashboard is kept.
    ///   - generationTimeout: `REPORT_GENERATION_TIMEOUT`: a run past it is stopped and failed.
    ///   - marketMakingEnabled: `MARKET_MAKING_ENABLED` (its panel says so when off).
    ///   - traffic: The host's per-tenant request figures (the platform panel).
    public init(
        enabled: Bool, refreshSeconds: Int, generationTimeout: Duration, marketMakingEnabled: Bool = true,
        traffic: TenantTraffic = TenantTraffic()
    ) {
        self.enabled = enabled
        self.cache = DashboardCache(refreshSeconds: refreshSeconds)
        self.generationTimeout = generationTimeout
        self.marketMakingEnabled = marketMakingEnabled
        self.traffic = traffic
    }

    public func add(to routes: inout SecuredRoutes) {
        let host = HostSwitch(
            isOn: enabled, detail: "business intelligence is disabled on this host (BI_REPORTS_ENABLED=false)")
        routes.group(
            "/api/enterprise/accounts/:id", as: TenantCall.self, permission: .intelligenceRead, feature: .bi,
            enabledBy: host
        ) { account in
            account.get("dashboard", use: dashboard)
            account.get("reports", use: list)
            account.get("reports/catalogue", use: catalogue)
            account.get("reports/:reportId", use: show)
            account.get("reports/:reportId/runs/:runId", use: showRun)
        }
        routes.group(
            "/api/enterprise/accounts/:id", as: TenantCall.self, permission: .intelligenceReports, feature: .bi,
            enabledBy: host
        ) { account in
            account.post("reports", use: create)
            account.post("reports/:reportId/runs", use: runAgain)
        }
        routes.group(
            "/api/enterprise", as: TenantCall.self, permission: .intelligenceRead, feature: .bi, enabledBy: host
        ) { firm in
            firm.get("dashboard", use: firmDashboard)
        }
    }

    // MARK: Dashboards

    @Sendable func dashboard(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await answer(.account(try call.accountID()), request, call)
    }

    @Sendable func firmDashboard(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        try await answer(.tenant, request, call)
    }

    func answer(_ scope: DashboardScope, _ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let refresh = QueryParameters(request)["refresh"]
        guard refresh == nil || refresh == "true" || refresh == "false" else {
            throw ServiceError(.invalidInput, "query 'refresh': true or false")
        }
        return HTTPResponse(
            status: .ok, contentType: "application/json",
            body: try await dashboard(scope, refresh: refresh == "true", for: call))
    }

    /// The dashboard of `scope` as JSON: the cached one while it is fresh (unless `refresh`),
    /// else computed and kept. The partner portal's dashboard page renders the same document.
    public func dashboard(_ scope: DashboardScope, refresh: Bool, for call: TenantCall) async throws -> [UInt8] {
        guard enabled else {
            throw HTTPProblem(
                .forbidden, type: .featureDisabled,
                detail: "business intelligence is disabled on this host (BI_REPORTS_ENABLED=false)")
        }
        let key: String
        switch scope {
        case .account(let id): key = call.tenant.schema.name + ":" + id.uuidString.lowercased()
        case .tenant: key = call.tenant.schema.name + ":*"
        }
        if !refresh, let cached = cache.body(key) { return cached }
        let identity = call.services.identity
        let service = DashboardService(
            sources: try await panelSources(call), activeUsers: { try await identity.activeUserCount(in: $0) })
        // Unknown accounts are refused before any work.
        if case .account = scope {
            _ = try await call.scope.withTransaction(readOnly: true) { try await service.accounts(in: scope, in: $0) }
        }
        _ = try await TradingFacts().sync { body in
            try await call.scope.withTransaction(isolationLevel: .repeatableRead) { try await body($0) }
        }
        let dashboard = try await call.scope.withTransaction(readOnly: true) {
            try await service.dashboard(scope, refreshSeconds: cache.refreshSeconds, in: $0)
        }
        try cache.keep(dashboard, under: key) { try SortedJSONEncoder().encode($0) }
        return try SortedJSONEncoder().encode(dashboard)
    }

    func panelSources(_ call: TenantCall) async throws -> [any DashboardPanelSource] {
        let features = call.services.features
        let tenant = call.tenant.id
        return DashboardPanels.sources(
            enabled: [
                "quant": try await features.isEnabled(.quant, for: tenant),
                "ml": try await features.isEnabled(.ml, for: tenant),
                "marketMaking": try await features.isEnabled(.marketMaking, for: tenant) && marketMakingEnabled,
            ], jobs: TenantJobQueue(pool: call.services.pool), tenant: call.tenant, traffic: traffic)
    }

    // MARK: Reports

    @Sendable func catalogue(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        struct Catalogue: Encodable {
            var metrics: [ReportCatalogue.Entry]
            var dimensions: [ReportCatalogue.Entry]
            var sections: [ReportCatalogue.Entry]
            var formats: [String]
            var frequencies: [String]
        }
        _ = try call.accountID()
        return try .json(
            encoding: Catalogue(
                metrics: ReportCatalogue.metrics, dimensions: ReportCatalogue.dimensions,
                sections: ReportCatalogue.sections, formats: ReportCatalogue.formats,
                frequencies: ["daily", "weekly", "monthly"]))
    }

    @Sendable func create(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let definition = try ReportDefinition.decode(request.body)
        // A webhook's secret is shown once, here, and kept sealed with the tenant's data key.
        let secret: String? = definition.webhook == nil ? nil : "whsec_" + SecureRandom.hexToken(byteCount: 32)
        var sealed: [UInt8]?
        if let secret {
            let keys = try await call.services.identity.keyring.keys(for: call.tenant.id, on: call.services.pool)
            let box: [UInt8] = keys.seal(secret as String, field: "bi_reports.webhook_secret")
            sealed = box
        }
        let (record, run) = try await call.scope.withTransaction { transaction -> (ReportRecord, ReportRun) in
            try await ReportService().create(
                definition, account: account, actor: call.principal.actor, audit: call.audit, webhookSecret: sealed,
                in: transaction)
        }
        let job = try await Self.enqueue(
            run: run.id, tenant: call.tenant, pool: call.services.pool, timeout: generationTimeout)
        struct Accepted: Encodable {
            var id: UUID
            var runId: UUID
            var status: String
            var jobId: UUID
            var nextRunAt: Date?
            /// Shown once: the key of each delivery's `Scryptex-Signature`.
            var webhookSecret: String?
        }
        return try .json(
            encoding: Accepted(
                id: record.id, runId: run.id, status: run.status, jobId: job, nextRunAt: record.nextRunAt,
                webhookSecret: secret),
            status: .accepted)
    }

    /// `POST …/reports/:reportId/runs` (optionally `{"period":{"from","to"}}`): generates the
    /// report again, for its own period or another.
    @Sendable func runAgain(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let id = try reportID(call)
        struct Body: Decodable { var period: ReportDefinition.Period? }
        let body = request.body.isEmpty ? Body(period: nil) : try request.decodeJSON(Body.self)
        let run = try await call.scope.withTransaction { transaction in
            let record = try await ReportService().report(id, of: account, in: transaction)
            var definition = record.definition
            if let period = body.period {
                definition.period = period
                try definition.validate()
            }
            return try await ReportService().queueRun(
                of: id, period: definition.period, actor: call.principal.actor, in: transaction)
        }
        let job = try await Self.enqueue(
            run: run.id, tenant: call.tenant, pool: call.services.pool, timeout: generationTimeout)
        var accepted = run
        accepted.jobId = job
        return try .json(encoding: accepted, status: .accepted)
    }

    /// Queues the job that generates `run`, with the tenant's branding as it is now.
    static func enqueue(
        run: UUID, tenant: Tenant, pool: PostgresConnectionPool, timeout: Duration
    ) async throws -> UUID {
        let branding = try await TenantBranding.load(for: tenant.id, from: pool)
        let payload = ReportJobPayload(
            runId: run, productName: branding?.productName ?? tenant.displayName,
            primary: branding?.colors?["primary"], accent: branding?.colors?["accent"], footer: branding?.legalFooter,
            supportEmail: branding?.supportEmail, timeoutSeconds: Int(timeout.secondsValue))
        // The job's own timeout is a margin above the run's, so the run is failed with its reason
        // by the handler before the queue gives up on the job.
        let job = try await TenantJobQueue(pool: pool).enqueue(
            Self.jobKind, for: tenant, payload: try PostgresJSON(encoding: payload), maxAttempts: 1,
            timeout: timeout + .seconds(60))
        try await TenantScope(tenant: tenant, pool: pool).withTransaction {
            try await ReportService().attach(job: job, to: run, in: $0)
        }
        return job
    }

    /// Queues the runs of every scheduled report of `tenant` that is due, each with its job
    /// (the host calls this every minute).
    public static func queueScheduledRuns(
        tenant: Tenant, pool: PostgresConnectionPool, timeout: Duration, now: Date = Date()
    ) async throws -> Int {
        let runs = try await TenantScope(tenant: tenant, pool: pool).withTransaction {
            try await ReportService().queueDueRuns(now: now, in: $0)
        }
        for run in runs { _ = try await enqueue(run: run.id, tenant: tenant, pool: pool, timeout: timeout) }
        return runs.count
    }

    @Sendable func list(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        return try .json(
            encoding: [
                "reports": try await call.scope.withTransaction(readOnly: true) {
                    try await ReportService().reports(of: account, in: $0)
                }
            ])
    }

    func reportID(_ call: TenantCall) throws -> UUID {
        try call.context.identifier("reportId", notFound: "no report with this id for this account")
    }

    /// `GET …/reports/:reportId`: the definition and its runs; with `?format=` the latest
    /// completed run's file.
    @Sendable func show(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let id = try reportID(call)
        let format = try Self.format(request)
        var record = try await call.scope.withTransaction(readOnly: true) {
            try await ReportService().report(id, of: account, in: $0)
        }
        try await reconcile(&record, call: call)
        guard let format else { return try .json(encoding: record) }
        guard let run = record.runs?.first(where: { $0.status == "completed" }) else {
            let latest = record.latestRun
            throw HTTPProblem(
                .conflict, type: .conflict,
                detail: latest?.status == "failed"
                    ? "the report has no completed run: its latest failed (\(latest?.error ?? "no reason given"))"
                    : "the report has no completed run yet (latest: \(latest?.status ?? "none")); try again shortly")
        }
        return try await file(of: run, format: format, name: record.name, call: call)
    }

    @Sendable func showRun(_ request: HTTPRequest, _ call: TenantCall) async throws -> HTTPResponse {
        let account = try call.accountID()
        let id = try reportID(call)
        let runID = try call.context.identifier("runId", notFound: "no run with this id for this report")
        let format = try Self.format(request)
        var record = try await call.scope.withTransaction(readOnly: true) {
            try await ReportService().report(id, of: account, in: $0)
        }
        try await reconcile(&record, call: call)
        guard let run = record.runs?.first(where: { $0.id == runID }) else {
            throw HTTPProblem.notFound("no run with this id for this report")
        }
        guard let format else { return try .json(encoding: run) }
        guard run.status == "completed" else {
            throw HTTPProblem(
                .conflict, type: .conflict,
                detail: run.status == "failed"
                    ? "the run failed: \(run.error ?? "no reason given")"
                    : "the run is \(run.status); try again shortly")
        }
        return try await file(of: run, format: format, name: record.name, call: call)
    }

    static func format(_ request: HTTPRequest) throws -> String? {
        guard let format = QueryParameters(request)["format"] else { return nil }
        guard ReportCatalogue.formats.contains(format) else {
            throw ServiceError(.invalidInput, "query 'format': json, csv, html or pdf")
        }
        return format
    }

    func file(of run: ReportRun, format: String, name: String, call: TenantCall) async throws -> HTTPResponse {
        guard
            let content = try await call.scope.withTransaction(
                readOnly: true,
                {
                    try await ReportService().file(of: run.id, format: format, in: $0)
                })
        else { throw HTTPProblem.notFound("the run has no \(format) file") }
        let types = [
            "json": "application/json", "csv": "text/csv; charset=utf-8; header=present",
            "html": "text/html; charset=utf-8", "pdf": "application/pdf",
        ]
        var response = HTTPResponse(
            status: .ok, contentType: types[format] ?? "application/octet-stream", body: content)
        let safeName = String(name.map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(80))
        response.headers.replaceOrAdd(
            name: "Content-Disposition",
            value:
                "\(format == "html" ? "inline" : "attachment"); filename=\"\(safeName)-\(run.period.from)-\(run.period.to).\(format)\""
        )
        response.headers.replaceOrAdd(name: "Cache-Control", value: "private, no-store")
        return response
    }

    /// A run its job left behind (the job failed, timed out, was cancelled, or its host stopped)
    /// is marked failed with the job's reason, so no run claims to be in progress forever.
    func reconcile(_ record: inout ReportRecord, call: TenantCall) async throws {
        let queue = TenantJobQueue(pool: call.services.pool)
        var changed = false
        for run in record.runs ?? [] where run.status == "queued" || run.status == "running" {
            guard let jobID = run.jobId, let job = try await queue.job(jobID) else { continue }
            switch job.status {
            case .failed, .cancelled, .quarantined:
                let reason = job.status == .cancelled ? "cancelled" : (job.error ?? "its job \(job.status.rawValue)")
                try await call.scope.withTransaction {
                    try await ReportService().fail(run: run.id, reason: reason, in: $0)
                }
                changed = true
            default:
                continue
            }
        }
        if changed {
            let id = record.id
            let account = record.accountId
            record = try await call.scope.withTransaction(readOnly: true) {
                try await ReportService().report(id, of: account, in: $0)
            }
        }
    }

    // MARK: The job

    struct ReportJobPayload: Codable {
        var runId: UUID
        var productName: String
        var primary: String?
        var accent: String?
        var footer: String?
        var supportEmail: String?
        var timeoutSeconds: Int
    }

    /// Generates one run: its facts synced, its files written, or failed with the reason; a
    /// report with a webhook then gets its delivery queued.
    public static func jobHandler() -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode(ReportJobPayload.self)
            let branding = ReportBranding(
                productName: payload.productName, primaryHex: payload.primary, accentHex: payload.accent,
                footer: payload.footer, supportEmail: payload.supportEmail)
            try await ReportService().generate(
                run: payload.runId, branding: branding, timeout: .seconds(payload.timeoutSeconds),
                withTransaction: { body in try await context.withTenantTransaction(body) },
                snapshotTransaction: { body in
                    try await context.withTenantTransaction(isolationLevel: .repeatableRead, body)
                },
                progress: { try await context.report(progress: $0) })
            let deliver = try await context.withTenantTransaction {
                try await ReportService().prepareDelivery(of: payload.runId, in: $0)
            }
            if deliver {
                try await context.queue.enqueue(
                    webhookJobKind, for: context.tenant,
                    payload: try PostgresJSON(encoding: ["runId": payload.runId.uuidString.lowercased()]),
                    maxAttempts: webhookAttempts, timeout: .seconds(60))
            }
            return try PostgresJSON(encoding: ["runId": payload.runId.uuidString.lowercased()])
        }
    }

    /// Delivers a completed run's webhook: a signed POST of the run's summary (its files' paths
    /// and SHA-256); anything but a 2xx answer is an attempt that failed, retried by the queue
    /// with back-off until `webhookAttempts`.
    /// - Parameters:
    ///   - keys: A tenant's data keys (they open the report's sealed secret).
    ///   - client: How the tenant's URL is called (`BI_WEBHOOK_CA_FILE`, and public addresses
    ///     only unless `BI_WEBHOOK_PRIVATE_ADDRESSES=allow`).
    public static func webhookJobHandler(
        keys: @escaping @Sendable (UUID) async throws -> Keyring.TenantKeys, client: HTTPSClient
    ) -> TenantJobQueue.Handler {
        { context in
            let payload = try context.payload.decode([String: String].self)
            guard let run = payload["runId"].flatMap(UUID.init(uuidString:)) else {
                throw ServiceError(.invalidInput, "the job has no run id")
            }
            let prepared = try await context.withTenantTransaction {
                try await ReportService().delivery(of: run, in: $0)
            }
            guard let delivery = prepared else {
                return try PostgresJSON(encoding: ["runId": run.uuidString.lowercased(), "delivery": "already done"])
            }
            let secret = try await keys(context.tenant.id).open(
                delivery.sealedSecret, field: "bi_reports.webhook_secret")
            let lastAttempt = context.attempt >= webhookAttempts
            var status: Int?
            var failure: String?
            do {
                let response = try await client.send(
                    .post, delivery.url,
                    headers: [
                        ("Content-Type", "application/json"), ("Scryptex-Event", "report.completed"),
                        ("Scryptex-Delivery", run.uuidString.lowercased()),
                        (
                            "Scryptex-Signature",
                            WebhookSignature.header(
                                secret: secret, timestamp: Int(Date().timeIntervalSince1970), body: delivery.body)
                        ),
                    ], body: delivery.body)
                status = response.status
                if !(200..<300).contains(response.status) { failure = "the receiver answered \(response.status)" }
            } catch {
                failure = String(describing: error)
            }
            try await context.withTenantTransaction {
                try await ReportService().recordAttempt(
                    of: run, status: status, error: failure, lastAttempt: lastAttempt, in: $0)
            }
            if let failure {
                throw ServiceError(.upstreamFailed, "webhook delivery to \(delivery.url) failed: \(failure)")
            }
            return try PostgresJSON(encoding: ["runId": run.uuidString.lowercased(), "status": String(status ?? 0)])
        }
    }
}
