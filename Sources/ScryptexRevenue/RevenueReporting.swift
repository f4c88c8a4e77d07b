public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// What a partner earned and the platform kept, by period, product and tier, with payouts and
/// performance analytics. Closed periods come from their statements; open ones from the fee
/// events booked in them so far (no share is computed before a close).
public struct PartnerRevenue: Sendable, Codable, Equatable {
    public struct Period: Sendable, Codable, Equatable {
        public var period: String
        /// `closed` or `open`.
        public var status: String
        public var events: Int
        public var revenue: String
        public var revenueByProduct: [String: String]
        public var volume: String
        public var partnerShare: String?
        public var platformShare: String?
        public var adjustments: String?
        public var tiers: [RevenueStatement.TierLine]?
    }

    public struct ProductRevenue: Sendable, Codable, Equatable {
        public var product: String
        public var revenue: String
    }

    public struct PeriodRevenue: Sendable, Codable, Equatable {
        public var period: String
        public var revenue: String
    }

    public struct Analytics: Sendable, Codable, Equatable {
        public var tradingVolume: String
        /// Revenue per period, oldest first.
        public var revenueTrend: [PeriodRevenue]
        /// Change of the last closed period's revenue against the one before, in percent.
        public var lastPeriodGrowthPercent: Double?
        public var topProducts: [ProductRevenue]
        /// Principals seen in the last 30 days (signed-in users and used API keys), when known.
        public var activeUsers: Int?
    }

    public var partner: UUID
    public var currency: String
    public var periods: [Period]
    /// Revenue of closed periods and the partner's and platform's parts of it.
    public var closedRevenue: String
    public var partnerShare: String
    public var platformShare: String
    /// Owed and not yet sent, on its way, and settled.
    public var pending: String
    public var inTransit: String
    public var paid: String
    public var analytics: Analytics
}

/// The platform-wide view for platform admins: every partner's totals and their sum.
public struct PlatformRevenue: Sendable, Codable, Equatable {
    public struct Partner: Sendable, Codable, Equatable {
        public var partner: UUID
        public var slug: String
        public var currency: String
        public var revenue: String
        public var partnerShare: String
        public var platformShare: String
        public var pending: String
        public var paid: String
    }

    public struct Summary: Sendable, Codable, Equatable {
        public var currency: String
        public var partners: Int
        public var revenue: String
        public var partnerShare: String
        public var platformShare: String
        public var pending: String
        public var paid: String
    }

    public var partners: [Partner]
    /// One line per currency.
    public var summary: [Summary]
}

public struct RevenueReporting: Sendable {
    public init() {}

    public func partner(
        _ partner: UUID, activeUsers: Int? = nil, in transaction: PostgresTransaction
    ) async throws -> PartnerRevenue {
        let currencyCode =
            try await transaction.query(
                """
                SELECT plan ->> 'currency' AS currency FROM platform.revenue_plans WHERE tenant_id = \(partner)
                ORDER BY effective_month DESC LIMIT 1
                """
            ).first?.decode("currency", as: String.self) ?? "USD"
        let currency = try Currency(currencyCode)
        func money(_ value: ExactDecimal) -> String { value.rounded(toScale: currency.precision).description }
        func decimal(_ text: String?) throws -> ExactDecimal { try text.map { try ExactDecimal(parsing: $0) } ?? .zero }

        var periods: [PartnerRevenue.Period] = []
        var closedRevenue = ExactDecimal.zero
        var partnerShare = ExactDecimal.zero
        var products: [String: ExactDecimal] = [:]
        var volume = ExactDecimal.zero
        var closed = Set<String>()
        for row in try await transaction.query(
            """
            SELECT period, statement FROM platform.revenue_periods
            WHERE tenant_id = \(partner) AND status = 'closed' AND statement IS NOT NULL ORDER BY period
            """
        ) {
            let statement = try row.decode("statement", as: PostgresJSON.self).decode(RevenueStatement.self)
            let (revenue, share) = try Self.closedTotals(of: statement)
            closedRevenue += revenue
            partnerShare += share
            // Late events count where they were booked, as their revenue does: by product and
            // in volume too.
            var periodVolume = try decimal(statement.volume)
            var periodProducts: [String: ExactDecimal] = [:]
            for (product, amount) in statement.revenueByProduct { periodProducts[product] = try decimal(amount) }
            for adjustment in statement.adjustments {
                periodVolume += try decimal(adjustment.volume)
                for (product, amount) in adjustment.revenueByProduct ?? [:] {
                    periodProducts[product, default: .zero] += try decimal(amount)
                }
            }
            volume += periodVolume
            for (product, amount) in periodProducts { products[product, default: .zero] += amount }
            closed.insert(statement.period)
            periods.append(
                .init(
                    period: statement.period, status: "closed",
                    events: statement.eventCount + statement.adjustments.reduce(0) { $0 + $1.events },
                    revenue: money(revenue), revenueByProduct: periodProducts.mapValues(money),
                    volume: periodVolume.normalized.description, partnerShare: money(share),
                    platformShare: money(revenue - share), adjustments: statement.adjustmentTotal,
                    tiers: statement.tiers))
        }
        var open: [String: PartnerRevenue.Period] = [:]
        for row in try await transaction.query(
            """
            SELECT booked_period, product, count(*) AS events, sum(amount)::text AS amount, sum(volume)::text AS volume
            FROM platform.fee_events WHERE tenant_id = \(partner) AND currency = \(currency.code)
            GROUP BY booked_period, product ORDER BY booked_period, product
            """
        ) {
            let month = try row.decode("booked_period", as: String.self)
            guard !closed.contains(month) else { continue }
            let product = try row.decode("product", as: String.self)
            let amount = try decimal(try row.decode("amount", as: String.self))
            let events = try row.decode("events", as: Int.self)
            let periodVolume = try decimal(try row.decode("volume", as: String.self))
            var period =
                open[month]
                ?? .init(
                    period: month, status: "open", events: 0, revenue: "0", revenueByProduct: [:], volume: "0",
                    partnerShare: nil, platformShare: nil, adjustments: nil, tiers: nil)
            period.events += events
            period.revenue = money(try decimal(period.revenue) + amount)
            period.revenueByProduct[product] = money(amount)
            period.volume = (try decimal(period.volume) + periodVolume).normalized.description
            open[month] = period
            products[product, default: .zero] += amount
            volume += periodVolume
        }
        periods += open.values.sorted { $0.period < $1.period }

        let balances = try await LedgerStore.balances(of: partner, in: transaction)
        let closedPeriods = periods.filter { $0.status == "closed" }
        var growth: Double?
        if closedPeriods.count >= 2 {
            let last = Double(closedPeriods[closedPeriods.count - 1].revenue) ?? 0
            let before = Double(closedPeriods[closedPeriods.count - 2].revenue) ?? 0
            if before > 0 { growth = ((last - before) / before * 10_000).rounded() / 100 }
        }
        return PartnerRevenue(
            partner: partner, currency: currency.code, periods: periods, closedRevenue: money(closedRevenue),
            partnerShare: money(partnerShare), platformShare: money(closedRevenue - partnerShare),
            pending: money(-(balances["partner_payable:\(currency.code)"] ?? .zero)),
            inTransit: money(-(balances["payouts_in_transit:\(currency.code)"] ?? .zero)),
            paid: money(-(balances["partner_paid:\(currency.code)"] ?? .zero)),
            analytics: .init(
                tradingVolume: volume.normalized.description,
                revenueTrend: periods.map { .init(period: $0.period, revenue: $0.revenue) },
                lastPeriodGrowthPercent: growth,
                topProducts: products.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }
                    .map { .init(product: $0.key, revenue: money($0.value)) },
                activeUsers: activeUsers))
    }

    /// A closed period's revenue (with the adjustments for late events booked into it) and the
    /// partner's share of it.
    static func closedTotals(of statement: RevenueStatement) throws -> (revenue: ExactDecimal, share: ExactDecimal) {
        func decimal(_ text: String?) throws -> ExactDecimal { try text.map { try ExactDecimal(parsing: $0) } ?? .zero }
        let revenue =
            try decimal(statement.revenueTotal)
            + (try statement.adjustments.reduce(ExactDecimal.zero) { $0 + (try decimal($1.revenue)) })
        return (revenue, try decimal(statement.share) + (try decimal(statement.adjustmentTotal)))
    }

    /// Every partner with a plan, and the sums per currency: the totals of `partner(_:in:)` for
    /// each, from three grouped queries however many partners there are.
    /// A partner's statement for a closed month, with the time it was closed; nil while the month
    /// is open or unknown.
    public func closedStatement(
        of partner: UUID, for month: String, from database: some PostgresQuerying
    )
        async throws -> (statement: RevenueStatement, closedAt: Date?)?
    {
        let rows = try await database.query(
            """
            SELECT statement, closed_at FROM platform.revenue_periods
            WHERE tenant_id = \(partner) AND period = \(month) AND status = 'closed'
            """,
            timeout: nil)
        guard let row = rows.first else { return nil }
        return (
            try row.decode("statement", as: PostgresJSON.self).decode(RevenueStatement.self),
            try row.decode("closed_at", as: Date?.self)
        )
    }

    public func platform(in transaction: PostgresTransaction) async throws -> PlatformRevenue {
        struct Totals {
            var slug: String
            var currency: Currency
            var revenue = ExactDecimal.zero
            var share = ExactDecimal.zero
        }
        var totals: [UUID: Totals] = [:]
        // Each partner's currency is its latest plan's.
        for row in try await transaction.query(
            """
            SELECT DISTINCT ON (t.id) t.id, t.slug, r.plan ->> 'currency' AS currency
            FROM platform.tenants t JOIN platform.revenue_plans r ON r.tenant_id = t.id
            WHERE t.status <> 'deleted' ORDER BY t.id, r.effective_month DESC
            """
        ) {
            totals[try row.decode("id", as: UUID.self)] = Totals(
                slug: try row.decode("slug", as: String.self),
                currency: try Currency(try row.decode("currency", as: String?.self) ?? "USD"))
        }
        for row in try await transaction.query(
            """
            SELECT tenant_id, statement FROM platform.revenue_periods
            WHERE status = 'closed' AND statement IS NOT NULL
            """
        ) {
            let partner = try row.decode("tenant_id", as: UUID.self)
            guard totals[partner] != nil else { continue }
            let statement = try row.decode("statement", as: PostgresJSON.self).decode(RevenueStatement.self)
            let (revenue, share) = try Self.closedTotals(of: statement)
            totals[partner]?.revenue += revenue
            totals[partner]?.share += share
        }
        var balances: [UUID: [String: ExactDecimal]] = [:]
        for row in try await transaction.query(
            """
            SELECT tenant_id, account || ':' || currency AS key, sum(amount)::text AS total FROM platform.ledger_entries
            GROUP BY tenant_id, account, currency
            """
        ) {
            balances[try row.decode("tenant_id", as: UUID.self), default: [:]][try row.decode("key", as: String.self)] =
                try ExactDecimal(parsing: try row.decode("total", as: String.self))
        }
        let partners = totals.sorted { $0.value.slug < $1.value.slug }.map { id, partner in
            func money(_ value: ExactDecimal) -> String {
                value.rounded(toScale: partner.currency.precision).description
            }
            let code = partner.currency.code
            return PlatformRevenue.Partner(
                partner: id, slug: partner.slug, currency: code, revenue: money(partner.revenue),
                partnerShare: money(partner.share), platformShare: money(partner.revenue - partner.share),
                pending: money(-(balances[id]?["partner_payable:\(code)"] ?? .zero)),
                paid: money(-(balances[id]?["partner_paid:\(code)"] ?? .zero)))
        }
        var summary: [String: PlatformRevenue.Summary] = [:]
        for partner in partners {
            var line =
                summary[partner.currency]
                ?? .init(
                    currency: partner.currency, partners: 0, revenue: "0", partnerShare: "0", platformShare: "0",
                    pending: "0", paid: "0")
            func add(_ left: String, _ right: String) -> String {
                ((ExactDecimal(left) ?? .zero) + (ExactDecimal(right) ?? .zero)).description
            }
            line.partners += 1
            line.revenue = add(line.revenue, partner.revenue)
            line.partnerShare = add(line.partnerShare, partner.partnerShare)
            line.platformShare = add(line.platformShare, partner.platformShare)
            line.pending = add(line.pending, partner.pending)
            line.paid = add(line.paid, partner.paid)
            summary[partner.currency] = line
        }
        return PlatformRevenue(partners: partners, summary: summary.values.sorted { $0.currency < $1.currency })
    }
}
