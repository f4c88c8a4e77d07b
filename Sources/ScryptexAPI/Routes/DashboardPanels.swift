import Foundation
import ScryptexBI
import ScryptexCompliance
import ScryptexCore
import ScryptexML
import ScryptexMarketMaking
import ScryptexPostgres
import ScryptexQuant
import ScryptexTenancy

/// The dashboard panels the other services provide, adapted here (the BI module depends on
/// none of them). A panel whose service is switched off for the tenant or the host says so.
enum DashboardPanels {
    /// The sources for one request: each service's panel, or its "not available" when `enabled`
    /// says it is off.
    static func sources(
        enabled: [String: Bool], jobs: TenantJobQueue, tenant: Tenant, traffic: TenantTraffic
    ) -> [any DashboardPanelSource] {
        var sources: [any DashboardPanelSource] = []
        if enabled["quant"] == true { sources.append(QuantPanel()) }
        if enabled["ml"] == true { sources.append(MLPanel()) }
        if enabled["marketMaking"] == true { sources.append(MarketMakingPanel()) }
        sources.append(PlatformPanel(jobs: jobs, tenant: tenant, traffic: traffic))
        return sources
    }
}

/// Quant: strategies and their backtests.
struct QuantPanel: DashboardPanelSource {
    let panelName = "quant"

    func panel(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> DashboardPanel {
        let service = QuantStrategyService()
        var strategies: [QuantStrategy] = []
        var backtests: [QuantBacktest] = []
        for account in accounts.prefix(200) {
            let owned = try await service.strategies(of: account, in: transaction)
            strategies += owned
            for strategy in owned.prefix(50) {
                backtests += try await service.backtests(of: strategy.id, in: transaction)
            }
        }
        let completed = backtests.filter { $0.result != nil }.sorted {
            ($0.completedAt ?? .distantPast) > ($1.completedAt ?? .distantPast)
        }
        var metrics = [
            DashboardMetric(
                "strategies", .count(strategies.count), definition: "quant strategies of the accounts", asOf: now,
                source: "quant_strategies"),
            DashboardMetric(
                "backtestsCompleted", .count(completed.count), definition: "backtests with a result", asOf: now,
                source: "quant_backtests"),
        ]
        if let latest = completed.first, let result = latest.result {
            let name =
                strategies.first { $0.id == latest.strategyId }?.name ?? latest.strategyId.uuidString.lowercased()
            metrics += [
                DashboardMetric(
                    "latestBacktestTotalReturn", .number(result.metrics.returns.totalReturn), unit: "ratio",
                    definition: "total return of the latest completed backtest (\(name))",
                    asOf: latest.completedAt ?? now, source: "quant_backtests"),
                DashboardMetric(
                    "latestBacktestSharpeRatio", result.metrics.returns.sharpeRatio.map { .number($0) } ?? .unknown,
                    unit: "ratio", definition: "its Sharpe ratio (docs/QUANT.md)", asOf: latest.completedAt ?? now,
                    source: "quant_backtests"),
            ]
        }
        return DashboardPanel(
            name: panelName, title: "Quant strategies",
            note: strategies.isEmpty ? "no quant strategies yet" : nil, metrics: metrics)
    }
}

/// Machine learning: models and their state.
struct MLPanel: DashboardPanelSource {
    let panelName = "ml"

    func panel(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> DashboardPanel {
        var models: [MLModel] = []
        for account in accounts.prefix(200) {
            models += try await MLModelService().models(of: account, in: transaction)
        }
        func count(_ status: String) -> Int { models.filter { $0.status == status }.count }
        return DashboardPanel(
            name: panelName, title: "Machine learning", note: models.isEmpty ? "no models yet" : nil,
            metrics: [
                DashboardMetric(
                    "models", .count(models.count), definition: "models of the accounts", asOf: now, source: "ml_models"
                ),
                DashboardMetric(
                    "ready", .count(count("ready")), definition: "trained models that serve predictions", asOf: now,
                    source: "ml_models"),
                DashboardMetric(
                    "training", .count(count("training")), definition: "models training now", asOf: now,
                    source: "ml_models"),
                DashboardMetric(
                    "failed", .count(count("failed")), definition: "models whose training failed", asOf: now,
                    source: "ml_models"),
            ])
    }
}

/// Market making: strategies and their P&L, which adds to net P&L (in USD at the quote
/// currency's rate; a market whose quote currency has none is left out, and said).
struct MarketMakingPanel: DashboardPanelSource {
    let panelName = "marketMaking"

    func panel(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> DashboardPanel {
        let service = MarketMakingService()
        var strategies: [MarketMakingStrategy] = []
        var positions: [MarketPosition] = []
        for account in accounts.prefix(200) {
            let owned = try await service.strategies(of: account, in: transaction)
            strategies += owned
            for strategy in owned.prefix(100) {
                positions += try await service.positions(of: strategy.id, in: transaction)
            }
        }
        let symbols = positions.map { String($0.market.prefix { $0 != "@" }) }
        let valuations = try await TradeHistory().valuations(of: symbols, in: transaction)
        var total = ExactDecimal.zero
        var unvalued: Set<String> = []
        for (index, position) in positions.enumerated() {
            let pnl = try position.realisedPnL.adding(position.unrealisedPnL ?? .zero, figure: "market-making P&L")
            guard let rate = valuations[symbols[index]]?.usdPerQuoteUnit else {
                if !pnl.isZero { unvalued.insert(position.market) }
                continue
            }
            let (usd, overflow) = pnl.multipliedReportingOverflow(by: rate)
            if overflow {
                unvalued.insert(position.market)
            } else {
                total = try total.adding(usd, figure: "market-making P&L")
            }
        }
        return DashboardPanel(
            name: panelName, title: "Market making",
            note: unvalued.isEmpty
                ? (strategies.isEmpty ? "no market-making strategies yet" : nil)
                : "P&L left out (no USD rate for the quote currency): " + unvalued.sorted().joined(separator: ", "),
            metrics: [
                DashboardMetric(
                    "strategies", .count(strategies.count), definition: "market-making strategies", asOf: now,
                    source: "market_making_strategies"),
                DashboardMetric(
                    "active", .count(strategies.filter { $0.status == "active" }.count),
                    definition: "strategies quoting now", asOf: now, source: "market_making_strategies"),
                DashboardMetric(
                    "pnl", .amount(total.normalized), unit: "USD",
                    definition:
                        "realised (average cost, fees included) plus unrealised (marked to the last mid) P&L of every market, in USD at the quote currency's rate",
                    asOf: now, source: "market_making_markets"),
                DashboardMetric(
                    "fills", .count(positions.map(\.fills).reduce(0, +)), definition: "fills booked", asOf: now,
                    source: "market_making_fills"),
            ], pnlUSD: total)
    }
}

/// The platform's figures for the tenant on this host: its requests over the last five
/// minutes (rate, errors, latency percentiles) and its job queue.
struct PlatformPanel: DashboardPanelSource {
    let panelName = "platform"
    let jobs: TenantJobQueue
    let tenant: Tenant
    let traffic: TenantTraffic

    func panel(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> DashboardPanel {
        let depth = try await jobs.depth(for: tenant.id)
        let recent = traffic.recent(tenant.slug.value, minutes: 5, now: now)
        let recent15 = traffic.recent(tenant.slug.value, minutes: 15, now: now)
        let source = "this host's request figures (TenantTraffic)"
        func latency(_ name: String, _ quantile: Double) -> DashboardMetric {
            DashboardMetric(
                name, recent.latency.quantile(quantile).map { .number($0) } ?? .unknown, unit: "seconds",
                definition:
                    "the \(Int(quantile * 100))th percentile of the time from a request read to its answer, last 5 minutes (interpolated within histogram buckets)",
                asOf: now, source: source, note: recent.requests == 0 ? "no requests in the last 5 minutes" : nil)
        }
        return DashboardPanel(
            name: panelName, title: "Platform",
            note: "requests as served by this host (each host of a deployment keeps its own; /metrics has them all)",
            metrics: [
                DashboardMetric(
                    "requestRate", .number(recent.requestsPerSecond), unit: "requests per second",
                    definition: "the tenant's requests in the last 5 minutes ÷ 300 s", asOf: now, source: source),
                DashboardMetric(
                    "errorRate", recent.errorRate.map { .number($0) } ?? .unknown, unit: "ratio",
                    definition: "the share of those answered 5xx", asOf: now, source: source,
                    note: recent.requests == 0 ? "no requests in the last 5 minutes" : nil),
                latency("latencyP50", 0.5), latency("latencyP95", 0.95), latency("latencyP99", 0.99),
                DashboardMetric(
                    "availability", recent15.errorRate.map { .number(1 - $0) } ?? .unknown, unit: "ratio",
                    definition: "the share of the tenant's requests answered without a server error, last 15 minutes",
                    asOf: now, source: source, note: recent15.requests == 0 ? "no requests in the last 15 minutes" : nil
                ),
                DashboardMetric(
                    "hostUptimeSeconds", .number(now.timeIntervalSince(traffic.since).rounded()), unit: "seconds",
                    definition: "how long this host has been serving", asOf: now, source: source),
                DashboardMetric(
                    "jobsQueued", .count(depth.queued), definition: "the tenant's background jobs waiting", asOf: now,
                    source: "platform.tenant_jobs"),
                DashboardMetric(
                    "jobsRunning", .count(depth.running), definition: "the tenant's background jobs running", asOf: now,
                    source: "platform.tenant_jobs"),
                DashboardMetric(
                    "jobsFinishedLastDay", .count(depth.finishedLastDay),
                    definition: "jobs that ended in the last 24 hours",
                    asOf: now, source: "platform.tenant_jobs"),
                DashboardMetric(
                    "jobsFailedLastDay", .count(depth.failedLastDay), definition: "of which failed", asOf: now,
                    source: "platform.tenant_jobs"),
                DashboardMetric(
                    "jobMeanSecondsLastDay", depth.meanSecondsLastDay.map { .number($0) } ?? .unknown, unit: "seconds",
                    definition: "mean run time of the jobs that ended in the last 24 hours", asOf: now,
                    source: "platform.tenant_jobs"),
            ])
    }
}
