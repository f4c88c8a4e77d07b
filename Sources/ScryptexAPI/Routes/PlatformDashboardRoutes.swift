import Foundation
import ScryptexBI
import ScryptexCore
import ScryptexHTTP
import ScryptexPostgres
import ScryptexRevenue
import ScryptexTenancy

/// The platform admins' dashboard (`GET /admin/api/dashboard` on the platform domain): every
/// tenant by state, revenue across partners, and usage — each tenant's requests on this host in
/// the last five minutes and the job queue — in the same panels and metrics as a tenant's.
public struct PlatformDashboardRoutes: RouteCollection {
    let services: APIServices
    let traffic: TenantTraffic
    let cache: DashboardCache
    let enabled: Bool

    /// - Parameters:
    ///   - enabled: `BI_REPORTS_ENABLED`.
    ///   - refreshSeconds: `EXECUTIVE_DASHBOARD_REFRESH`.
    public init(services: APIServices, traffic: TenantTraffic, refreshSeconds: Int, enabled: Bool) {
        self.services = services
        self.traffic = traffic
        self.cache = DashboardCache(refreshSeconds: refreshSeconds)
        self.enabled = enabled
    }

    public func add(to routes: inout SecuredRoutes) {
        let host = HostSwitch(
            isOn: enabled, detail: "business intelligence is disabled on this host (BI_REPORTS_ENABLED=false)")
        routes.group("/admin/api", as: AdminCall.self, enabledBy: host) { admin in
            admin.get("dashboard", use: dashboard)
        }
    }

    @Sendable func dashboard(_ request: HTTPRequest, _ call: AdminCall) async throws -> HTTPResponse {
        let refresh = QueryParameters(request)["refresh"]
        guard refresh == nil || refresh == "true" || refresh == "false" else {
            throw ServiceError(.invalidInput, "query 'refresh': true or false")
        }
        if refresh != "true", let cached = cache.body("platform") {
            return HTTPResponse(status: .ok, contentType: "application/json", body: cached)
        }
        let now = Date()
        let pool = services.pool
        let tenants = try await TenantRegistry().tenants(from: pool)
        var byStatus: [String: Int] = [:]
        for tenant in tenants { byStatus[tenant.status.rawValue, default: 0] += 1 }
        let tenantPanel = DashboardPanel(
            name: "tenants", title: "Tenants",
            metrics: [
                DashboardMetric(
                    "tenants", .count(tenants.count), definition: "tenants in the control plane, every state",
                    asOf: now, source: "platform.tenants")
            ]
                + byStatus.sorted { $0.key < $1.key }.map {
                    DashboardMetric(
                        $0.key, .count($0.value), definition: "tenants \($0.key)", asOf: now, source: "platform.tenants"
                    )
                })
        let revenue = try await pool.withTransaction(readOnly: true) { try await RevenueReporting().platform(in: $0) }
        let revenuePanel = DashboardPanel(
            name: "revenue", title: "Revenue across partners",
            note: revenue.summary.isEmpty ? "no closed revenue periods yet" : nil,
            metrics: revenue.summary.flatMap { line in
                [
                    DashboardMetric(
                        "revenue" + line.currency,
                        ExactDecimal(line.revenue).map { .amount($0) } ?? .text(line.revenue),
                        unit: line.currency, definition: "revenue of the closed months, all partners in this currency",
                        asOf: now, source: "platform.revenue_periods"),
                    DashboardMetric(
                        "platformShare" + line.currency,
                        ExactDecimal(line.platformShare).map { .amount($0) } ?? .text(line.platformShare),
                        unit: line.currency, definition: "the platform's share of it", asOf: now,
                        source: "platform.revenue_periods"),
                ]
            },
            rows: revenue.partners.map {
                ["partner": $0.slug, "currency": $0.currency, "revenue": $0.revenue, "platformShare": $0.platformShare]
            })
        var usageRows: [[String: String]] = []
        var total = 0
        for tenant in tenants where tenant.status == .active {
            let recent = traffic.recent(tenant.slug.value, now: now)
            total += recent.requests
            usageRows.append([
                "tenant": tenant.slug.value, "requestsLast5Minutes": String(recent.requests),
                "errorRate": recent.errorRate.map { String(format: "%.4f", $0) } ?? "",
                "latencyP99Seconds": recent.latency.quantile(0.99).map { String(format: "%.4f", $0) } ?? "",
            ])
        }
        let depth = try await TenantJobQueue(pool: pool).depthByKind()
        let usagePanel = DashboardPanel(
            name: "usage", title: "Usage",
            note: "requests as served by this host; /metrics on each host has its own",
            metrics: [
                DashboardMetric(
                    "requestRate", .number(Double(total) / 300), unit: "requests per second",
                    definition: "requests to every tenant in the last 5 minutes ÷ 300 s", asOf: now,
                    source: "this host's request figures"),
                DashboardMetric(
                    "jobsQueued", .count(depth.filter { $0.status == "queued" }.map(\.count).reduce(0, +)),
                    definition: "tenant jobs waiting, every tenant", asOf: now, source: "platform.tenant_jobs"),
                DashboardMetric(
                    "jobsRunning", .count(depth.filter { $0.status == "running" }.map(\.count).reduce(0, +)),
                    definition: "tenant jobs running, every tenant", asOf: now, source: "platform.tenant_jobs"),
            ],
            rows: usageRows.sorted {
                Int($0["requestsLast5Minutes"] ?? "") ?? 0 > Int($1["requestsLast5Minutes"] ?? "") ?? 0
            })
        let dashboard = Dashboard(
            scope: "platform", accountId: nil, accounts: 0, asOf: now, cached: false,
            refreshSeconds: cache.refreshSeconds, note: nil, panels: [tenantPanel, revenuePanel, usagePanel])
        try cache.keep(dashboard, under: "platform") { try SortedJSONEncoder().encode($0) }
        return try .json(encoding: dashboard)
    }
}
