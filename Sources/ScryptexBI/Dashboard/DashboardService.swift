public import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexInstitutional
import ScryptexMarketMaking
public import ScryptexPostgres
import ScryptexQuant

/// Builds executive dashboards from the trading facts (`TradingFacts`, synced first), the
/// account records, the compliance status, and the panels other services provide. Every figure
/// carries its definition, as-of time and source (docs/BI.md). An account with no activity gets
/// zeros and a note, never an error.
public struct DashboardService: Sendable {
    /// Active users of the tenant (sessions and API keys seen in 30 days), from identity.
    public typealias ActiveUserCount = @Sendable (PostgresTransaction) async throws -> Int

    let sources: [any DashboardPanelSource]
    let activeUsers: ActiveUserCount?
    /// The panels other services provide, in the order shown; a missing source is a panel that
    /// says its service is not available.
    static let sourcedPanels: [(name: String, title: String)] = [
        ("quant", "Quant strategies"), ("ml", "Machine learning"), ("marketMaking", "Market making"),
        ("platform", "Platform"),
    ]

    public init(sources: [any DashboardPanelSource] = [], activeUsers: ActiveUserCount? = nil) {
        self.sources = sources
        self.activeUsers = activeUsers
    }

    /// The accounts a scope covers (an unknown account is `.notFound`).
    public func accounts(in scope: DashboardScope, in transaction: PostgresTransaction) async throws -> [UUID] {
        switch scope {
        case .account(let id):
            _ = try await AccountService().account(id, in: transaction)
            return try await AccountService().familyIDs(of: id, in: transaction)
        case .tenant:
            return try await AccountService().allIDs(in: transaction)
        }
    }

    /// Computes the dashboard (the facts must be synced already).
    public func dashboard(
        _ scope: DashboardScope, now: Date = Date(), refreshSeconds: Int, in transaction: PostgresTransaction
    ) async throws -> Dashboard {
        let accounts = try await accounts(in: scope, in: transaction)
        let facts = try await FactTotals.load(accounts: accounts, now: now, in: transaction)
        let positions = try await TradeHistory().valuedPositions(of: accounts, in: transaction)
        var declared = ExactDecimal.zero
        var primary: InstitutionalAccount?
        switch scope {
        case .account(let id):
            let account = try await AccountService().account(id, in: transaction)
            primary = account
            declared = account.totalAUM
        case .tenant:
            declared = try await AccountService().declaredAUMOfTopLevelAccounts(in: transaction)
        }
        let assets = try Self.assetsPanel(positions: positions, declared: declared, now: now)
        let valuedAUM = try positions.compactMap(\.valueUSD).sum(figure: "the valued AUM")
        var panels = [assets]
        var sourced: [DashboardPanel] = []
        for (name, title) in Self.sourcedPanels {
            if let source = sources.first(where: { $0.panelName == name }) {
                sourced.append(try await source.panel(accounts: accounts, now: now, in: transaction))
            } else {
                sourced.append(
                    .unavailable(name, title: title, note: "the \(title.lowercased()) service is not available here"))
            }
        }
        let unrealised = try await Self.unrealised(accounts: accounts, now: now, in: transaction)
        panels.append(try Self.pnlPanel(facts: facts, unrealised: unrealised, sourced: sourced, now: now))
        panels.append(
            Self.riskPanel(facts: facts, capital: valuedAUM > .zero ? valuedAUM : declared, now: now))
        // Each account's compliance status once, for both the compliance and the deadlines panels.
        var statuses: [ComplianceStatus] = []
        for id in accounts.prefix(500) {
            statuses.append(try await ComplianceStatusService().status(of: id, in: transaction))
        }
        panels.append(Self.compliancePanel(scope: scope, accounts: accounts, statuses: statuses, now: now))
        panels.append(try await activityPanel(facts: facts, now: now, in: transaction))
        panels.append(
            Self.deadlinesPanel(primary: primary, statuses: statuses, now: now))
        panels += sourced
        let quiet = facts.tradesAllTime == 0 && positions.isEmpty
        var accountID: UUID?
        if case .account(let id) = scope { accountID = id }
        return Dashboard(
            scope: accountID == nil ? "tenant" : "account", accountId: accountID, accounts: accounts.count, asOf: now,
            cached: false, refreshSeconds: refreshSeconds,
            note: quiet
                ? "no trading activity yet: the figures are zero until trades are booked" : nil,
            panels: panels)
    }

    // MARK: Panels

    static func assetsPanel(positions: [ValuedPosition], declared: ExactDecimal, now: Date) throws -> DashboardPanel {
        let unvalued = positions.filter { $0.valueUSD == nil }
        let valued = try positions.compactMap(\.valueUSD).sum(figure: "the valued AUM")
        let asOf = positions.compactMap(\.priceAsOf).min() ?? now
        var note: String?
        if !unvalued.isEmpty {
            note =
                "not valued (no reference price or no USD rate for the quote currency): "
                + unvalued.map(\.symbol).joined(separator: ", ")
        }
        return DashboardPanel(
            name: "assets", title: "Assets under management", note: note,
            metrics: [
                DashboardMetric(
                    "aum", .amount(valued.normalized), unit: "USD",
                    definition:
                        "Σ over the open positions of the account and its sub-accounts: quantity × reference price (contract size included) × the quote currency's USD rate",
                    asOf: asOf, source: "positions, reference_prices, fx_rates / market_prices"),
                DashboardMetric(
                    "declaredAUM", .amount(declared.normalized), unit: "USD",
                    definition: "the assets under management the account declared (totalAUM)", asOf: now,
                    source: "institutional_accounts"),
                DashboardMetric(
                    "positions", .count(positions.count), definition: "open positions (quantity not zero)", asOf: now,
                    source: "positions"),
            ],
            rows: positions.map { position in
                [
                    "accountId": position.accountId.uuidString.lowercased(), "symbol": position.symbol,
                    "quantity": position.quantity.description,
                    "valueUSD": position.valueUSD?.normalized.description ?? "",
                ]
            })
    }

    static let realisedDefinition =
        "realised P&L of booked trades at average cost (per account and symbol), valued in USD at the closing trade's rate"

    static func pnlPanel(
        facts: FactTotals, unrealised: (ExactDecimal, [String]), sourced: [DashboardPanel], now: Date
    ) throws -> DashboardPanel {
        let strategies = try sourced.compactMap(\.pnlUSD).sum(figure: "the strategies' P&L")
        let net = try [facts.realisedAllTime, unrealised.0, strategies].sum(figure: "net P&L")
        let source = "bi_daily_facts (from trades)"
        return DashboardPanel(
            name: "pnl", title: "Net P&L",
            note: unrealised.1.isEmpty
                ? nil
                : "unrealised P&L leaves out (no reference price or USD rate): "
                    + unrealised.1.joined(separator: ", "),
            metrics: [
                DashboardMetric(
                    "realisedToday", .amount(facts.realisedToday.normalized), unit: "USD",
                    definition: realisedDefinition + ", trades executed today (UTC)", asOf: now, source: source),
                DashboardMetric(
                    "realisedMonthToDate", .amount(facts.realisedMonth.normalized), unit: "USD",
                    definition: realisedDefinition + ", since the first of this month (UTC)", asOf: now, source: source),
                DashboardMetric(
                    "realisedYearToDate", .amount(facts.realisedYear.normalized), unit: "USD",
                    definition: realisedDefinition + ", since 1 January (UTC)", asOf: now, source: source),
                DashboardMetric(
                    "unrealised", .amount(unrealised.0.normalized), unit: "USD",
                    definition:
                        "Σ (quantity × reference price − cost basis at average cost) × the quote currency's USD rate, open positions",
                    asOf: now, source: "bi_books, reference_prices"),
                DashboardMetric(
                    "strategies", .amount(strategies.normalized), unit: "USD",
                    definition: "realised plus unrealised P&L of the strategies the services below report",
                    asOf: now, source: sourced.filter { $0.pnlUSD != nil }.map(\.name).joined(separator: ", ")),
                DashboardMetric(
                    "net", .amount(net.normalized), unit: "USD",
                    definition: "all realised trading P&L + unrealised + strategies", asOf: now,
                    source: "the figures above"),
            ])
    }

    static func riskPanel(facts: FactTotals, capital: ExactDecimal, now: Date) -> DashboardPanel {
        let definition =
            "daily returns = each UTC day's realised P&L ÷ capital (valued AUM, else declared AUM), every day from the first trade of the last 365 days to today (no trade: 0); statistics as the quant suite defines them (docs/QUANT.md), 365 periods a year, 95 %"
        let capitalValue = capital.doubleValue
        guard facts.dailySeries.count >= 2, capitalValue > 0 else {
            return DashboardPanel(
                name: "risk", title: "Risk",
                note: capitalValue > 0
                    ? "not enough history: risk needs at least two days of trading"
                    : "no capital to measure returns against (no valued or declared AUM)",
                metrics: [
                    "historicalVaR", "historicalExpectedShortfall", "parametricVaR",
                    "parametricExpectedShortfall", "sharpeRatio", "annualVolatility", "maxDrawdown",
                ].map {
                    DashboardMetric(
                        $0, .number(0), unit: "ratio", definition: definition, asOf: now, source: "bi_daily_facts")
                })
        }
        let returns = facts.dailySeries.map { $0.doubleValue / capitalValue }
        let statistics = ReturnStatistics(returns: returns, periodsPerYear: 365)
        func metric(_ name: String, _ value: Double?) -> DashboardMetric {
            DashboardMetric(
                name, value.map { .number($0) } ?? .unknown, unit: "ratio", definition: definition, asOf: now,
                source: "bi_daily_facts", note: value == nil ? "undefined for this series (no variation)" : nil)
        }
        return DashboardPanel(
            name: "risk", title: "Risk",
            metrics: [
                metric("historicalVaR", statistics.historicalVaR),
                metric("historicalExpectedShortfall", statistics.historicalExpectedShortfall),
                metric("parametricVaR", statistics.parametricVaR),
                metric("parametricExpectedShortfall", statistics.parametricExpectedShortfall),
                metric("sharpeRatio", statistics.sharpeRatio),
                metric("annualVolatility", statistics.annualVolatility),
                metric("maxDrawdown", statistics.maxDrawdown),
                DashboardMetric(
                    "days", .count(returns.count), definition: "days in the return series", asOf: now,
                    source: "bi_daily_facts"),
            ])
    }

    static func compliancePanel(
        scope: DashboardScope, accounts: [UUID], statuses: [ComplianceStatus], now: Date
    ) -> DashboardPanel {
        let own: ComplianceStatus?
        if case .account(let id) = scope { own = statuses.first { $0.accountId == id } } else { own = nil }
        let score: DashboardMetric.Value
        let scoreDefinition: String
        if let own {
            score = .count(own.score)
            scoreDefinition = ComplianceStatusService.formula
        } else if statuses.isEmpty {
            score = .count(100)
            scoreDefinition = "no accounts yet: 100"
        } else {
            score = .count(statuses.map(\.score).min() ?? 100)
            scoreDefinition = "the lowest score of the firm's accounts; each: " + ComplianceStatusService.formula
        }
        return DashboardPanel(
            name: "compliance", title: "Compliance",
            note: accounts.count > 500 ? "the first 500 accounts are counted" : nil,
            metrics: [
                DashboardMetric("score", score, definition: scoreDefinition, asOf: now, source: "compliance status"),
                DashboardMetric(
                    "openAlerts", .count(statuses.map(\.openAlerts).reduce(0, +)),
                    definition: "compliance alerts not closed, the account and its sub-accounts", asOf: now,
                    source: "compliance_alerts"),
                DashboardMetric(
                    "openHighSeverityAlerts", .count(statuses.map(\.openHighSeverityAlerts).reduce(0, +)),
                    definition: "of which high severity", asOf: now, source: "compliance_alerts"),
                DashboardMetric(
                    "rejectedChecksLast30Days", .count(statuses.map(\.rejectedChecksLast30Days).reduce(0, +)),
                    definition: "pre-trade checks rejected in the last 30 days", asOf: now,
                    source: "compliance_records"),
            ])
    }

    func activityPanel(
        facts: FactTotals, now: Date, in transaction: PostgresTransaction
    ) async throws
        -> DashboardPanel
    {
        var metrics: [DashboardMetric] = []
        if let activeUsers {
            metrics.append(
                DashboardMetric(
                    "activeUsers", .count(try await activeUsers(transaction)),
                    definition: "people with a session and API keys used in the last 30 days (the whole firm)",
                    asOf: now, source: "sessions, api_keys"))
        }
        let source = "bi_daily_facts (from trades)"
        metrics += [
            DashboardMetric(
                "tradesToday", .count(facts.tradesToday), definition: "trades executed today (UTC), not cancelled",
                asOf: now, source: source),
            DashboardMetric(
                "volumeToday", .amount(facts.volumeToday.normalized), unit: "USD",
                definition: "Σ notional in USD (face value without a rate) of today's trades", asOf: now,
                source: source),
            DashboardMetric(
                "trades30Days", .count(facts.trades30Days), definition: "trades executed in the last 30 days",
                asOf: now, source: source),
            DashboardMetric(
                "volume30Days", .amount(facts.volume30Days.normalized), unit: "USD",
                definition: "Σ notional in USD of the last 30 days' trades", asOf: now, source: source),
        ]
        return DashboardPanel(name: "activity", title: "Activity", metrics: metrics)
    }

    static func deadlinesPanel(
        primary: InstitutionalAccount?, statuses: [ComplianceStatus], now: Date
    ) -> DashboardPanel {
        var rows: [[String: String]] = []
        let today = PostgresDate(containing: now)
        // Form 13F: 45 days after each calendar quarter's end.
        let filing = Self.next13FDeadline(onOrAfter: today)
        rows.append([
            "kind": "form_13f", "dueDate": filing.due.description, "period": filing.quarterEnd.description,
            "rule": "45 days after the end of the calendar quarter (managers of 13(f) securities over $100 million)",
        ])
        // An account's own deadlines; the firm's, every account's.
        for status in statuses where primary == nil || status.accountId == primary?.id {
            for deadline in status.upcomingDeadlines {
                rows.append([
                    "kind": deadline.kind, "dueDate": deadline.dueDate, "overdue": String(deadline.overdue),
                    "accountId": status.accountId.uuidString.lowercased(),
                ])
            }
        }
        rows.sort { ($0["dueDate"] ?? "") < ($1["dueDate"] ?? "") }
        return DashboardPanel(
            name: "deadlines", title: "Regulatory deadlines",
            metrics: [
                DashboardMetric(
                    "upcoming", .count(rows.count), definition: "deadlines listed below", asOf: now,
                    source: "regulatory_reports, KYC reviews, the filing calendar")
            ], rows: rows)
    }

    /// The first Form 13F due date on or after `day`: quarter end + 45 days.
    public static func next13FDeadline(onOrAfter day: PostgresDate) -> (quarterEnd: PostgresDate, due: PostgresDate) {
        // Walk the quarters forward from last year's first until a due date is not before `day`.
        var candidateYear = day.year - 1
        var candidateQuarter = 0
        while true {
            let endMonth = candidateQuarter * 3 + 3
            let end = PostgresDate(
                year: candidateYear, month: endMonth,
                day: CivilCalendar.daysInMonth(year: candidateYear, month: endMonth))!
            let due = end.adding(days: 45)
            if !(due < day) { return (end, due) }
            candidateQuarter += 1
            if candidateQuarter == 4 {
                candidateQuarter = 0
                candidateYear += 1
            }
        }
    }

    /// Unrealised P&L in USD of the books of `accounts`, and the symbols it leaves out.
    static func unrealised(
        accounts: [UUID], now: Date, in transaction: PostgresTransaction
    ) async throws
        -> (ExactDecimal, [String])
    {
        let books = try await transaction.query(
            "SELECT symbol, book FROM bi_books WHERE account_id = ANY(\(accounts)::uuid[])"
        ).map {
            (
                try $0.decode("symbol", as: String.self),
                try $0.decode("book", as: PostgresJSON.self).decode(PositionBook.self)
            )
        }.filter { !$0.1.position.isZero }
        let valuations = try await TradeHistory().valuations(of: books.map(\.0), in: transaction)
        var total = ExactDecimal.zero
        var missing: Set<String> = []
        for (symbol, book) in books {
            guard let valuation = valuations[symbol], let price = valuation.unitPrice,
                let rate = valuation.usdPerQuoteUnit, let open = book.unrealised(at: price)
            else {
                missing.insert(symbol)
                continue
            }
            let (usd, overflow) = open.multipliedReportingOverflow(by: rate)
            guard !overflow else {
                missing.insert(symbol)
                continue
            }
            total = try total.adding(usd, figure: "unrealised P&L")
        }
        return (total, missing.sorted())
    }
}
