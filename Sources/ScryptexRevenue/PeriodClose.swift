public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// A partner's statement for a closed month: what was owed at the start, the payouts since the
/// previous statement, the month's revenue by product and tier, the share, the true-ups of
/// earlier months (late events), and what is owed at the end. Amounts are exact decimal text.
/// `openingPayable + payouts + share + adjustments = closingPayable`, and the closing payable is
/// the ledger's balance after the close.
public struct RevenueStatement: Sendable, Codable, Equatable {
    public struct TierLine: Sendable, Codable, Equatable {
        public var tier: Int
        public var from: String
        public var upTo: String?
        public var percent: String
        public var base: String
        public var share: String
    }

    public struct Adjustment: Sendable, Codable, Equatable {
        /// The closed month the late events occurred in.
        public var period: String
        public var events: Int
        public var revenue: String
        /// The late events' revenue by product and their volume (nil in statements closed before
        /// these were kept).
        public var revenueByProduct: [String: String]?
        public var volume: String?
        /// The change of that month's exact share, and its rounded payable part.
        public var exactShare: String
        public var share: String
    }

    /// A payout's effect on the payable since the previous statement (negative when sent,
    /// positive when a sent payout failed and the money is owed again).
    public struct PayoutMovement: Sendable, Codable, Equatable {
        public var payout: UUID
        public var status: String
        public var amount: String
    }

    public var partner: UUID
    public var period: String
    public var currency: String
    public var openingPayable: String
    public var payouts: [PayoutMovement]
    public var payoutTotal: String
    public var eventCount: Int
    public var revenueByProduct: [String: String]
    public var revenueTotal: String
    public var volume: String
    public var tiers: [TierLine]
    public var exactShare: String
    public var share: String
    public var roundingRemainder: String
    public var adjustedBy: String?
    public var adjustments: [Adjustment]
    public var adjustmentTotal: String
    public var closingPayable: String
}

/// Closes a partner's month: the fees booked in it by product (and their volume), the plan in
/// force, the share posted to the ledger (rounded share payable, remainder booked), true-ups of
/// earlier closed months for late events booked in it, a statement stored, and the month
/// marked closed — all in one transaction, at most once per month, months in order.
public struct PeriodClose: Sendable {
    public init() {}

    public func close(
        partner: UUID, month: String, now: Date = Date(), in transaction: PostgresTransaction
    ) async throws -> RevenueStatement {
        guard RevenueMonth.isValid(month) else {
            throw ServiceError(.invalidInput, "field 'period': a month such as 2026-10")
        }
        guard month < RevenueMonth.of(now) else {
            throw ServiceError(.invalidInput, "field 'period': \(month) is not over yet")
        }
        // Ingestion holds this lock shared: the month's events are all committed and none can
        // be booked into it while it closes.
        try await RevenueLocks.exclusive(partner, in: transaction)
        let last = try await transaction.query(
            """
            SELECT period, ledger_position, statement ->> 'closingPayable' AS closing FROM platform.revenue_periods
            WHERE tenant_id = \(partner) AND status = 'closed' ORDER BY period DESC LIMIT 1
            """
        ).first
        let lastClosed = try last?.decode("period", as: String.self)
        if let lastClosed, month <= lastClosed {
            throw ServiceError(
                .conflict,
                month == lastClosed
                    ? "period \(month) is already closed"
                    : "period \(month) is before the last closed month \(lastClosed)"
            )
        }
        if let earlier = try await transaction.query(
            """
            SELECT min(booked_period) AS earlier FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period < \(month) AND booked_period > \(lastClosed ?? "")
            """
        ).first?.decode("earlier", as: String?.self) {
            throw ServiceError(.conflict, "months close in order: close \(earlier) first (fee events are booked in it)")
        }
        let plans = RevenuePlanStore()
        guard let plan = try await plans.plan(for: partner, in: month, transaction: transaction) else {
            throw ServiceError(.notFound, "the partner has no revenue plan in force for \(month)")
        }
        let currency = plan.currency
        // Every fee of a month is in its plan's currency (ingestion and plan changes see to it);
        // a month that still mixes them, from before that rule, is not closed as if it did not.
        if let other = try await transaction.query(
            """
            SELECT currency, count(*) AS events FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period = \(month) AND currency <> \(currency.code)
            GROUP BY currency LIMIT 1
            """
        ).first {
            throw ServiceError(
                .conflict,
                "\(month) holds \(try other.decode("events", as: Int.self)) fee events in \(try other.decode("currency", as: String.self)), not the plan's \(currency.code): they cannot be closed into its statement"
            )
        }
        /// Money in the statement: at the currency's precision (these amounts are whole minor units).
        func money(_ value: ExactDecimal) -> String { value.rounded(toScale: currency.precision).description }

        // The month's own events.
        let own = try await Revenue.occurred(in: month, bookedIn: month, partner: partner, in: transaction)
        let calculation = try plan.share(of: own.byProduct, volume: own.volume)
        var entries = [
            LedgerStore.Entry(
                posting: try Posting.periodShare(calculation, memo: "revenue share \(month)"), partner: partner,
                source: nil, period: month)
        ]

        // Late events booked in this month: each earlier month's share recomputed with them,
        // under that month's plan, less what was recognised before.
        let lateMonths = try await transaction.query(
            """
            SELECT DISTINCT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') AS occurred FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period = \(month)
              AND to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') < \(month)
            ORDER BY occurred
            """
        ).map { try $0.decode("occurred", as: String.self) }
        var adjustments: [RevenueStatement.Adjustment] = []
        var adjustmentTotal = ExactDecimal.zero
        for occurred in lateMonths {
            let earlierPlan = try await plans.plan(for: partner, in: occurred, transaction: transaction) ?? plan
            let before = try await Revenue.occurred(
                in: occurred, bookedBefore: month, partner: partner, in: transaction)
            let late = try await Revenue.occurred(in: occurred, bookedIn: month, partner: partner, in: transaction)
            // The month is restated with its late events and trued up to the restated share as
            // rounded, so what it paid in all equals an exact recomputation of the month.
            let restated = try earlierPlan.share(
                of: before.adding(late).byProduct, volume: before.volume + late.volume)
            let recognised = try earlierPlan.share(of: before.byProduct, volume: before.volume)
            let exact = restated.exactShare - recognised.exactShare
            let rounded = restated.share.amount - recognised.share.amount
            let posting = try Posting.adjustment(
                exact: exact, rounded: rounded, currency: currency,
                memo: "adjustment for \(occurred): \(late.events) late events booked in \(month)")
            entries.append(LedgerStore.Entry(posting: posting, partner: partner, source: nil, period: month))
            adjustmentTotal += rounded
            adjustments.append(
                .init(
                    period: occurred, events: late.events, revenue: money(late.total),
                    revenueByProduct: Dictionary(
                        uniqueKeysWithValues: late.byProduct.map { ($0.key.rawValue, money($0.value)) }),
                    volume: late.volume.description,
                    exactShare: exact.normalized.description, share: money(rounded)))
        }

        // Payouts that moved the payable since the previous statement.
        let previousPosition = try last?.decode("ledger_position", as: Int64?.self) ?? 0
        var payouts: [RevenueStatement.PayoutMovement] = []
        var payoutTotal = ExactDecimal.zero
        for row in try await transaction.query(
            """
            SELECT l.source_id, (-l.amount)::text AS amount,
                   -- What happened then, not the payout's status now: a payout's moves that reach
                   -- the payable are its sending (debit) and its failure (credit).
                   CASE WHEN l.amount > 0 THEN 'sent' ELSE 'failed' END AS status
            FROM platform.ledger_entries l
            JOIN platform.revenue_payouts p ON p.id = l.source_id
            WHERE l.tenant_id = \(partner) AND l.account = 'partner_payable' AND l.currency = \(currency.code)
              AND l.id > \(previousPosition)
            ORDER BY l.id
            """
        ) {
            let amount = try ExactDecimal(parsing: try row.decode("amount", as: String.self)).normalized
            payoutTotal += amount
            payouts.append(
                .init(
                    payout: try row.decode("source_id", as: UUID.self),
                    status: try row.decode("status", as: String.self),
                    amount: money(amount)))
        }

        try await LedgerStore.record(entries, in: transaction)
        let closing =
            -(try await LedgerStore.balance(
                of: .partnerPayable, currency: currency, partner: partner, in: transaction))
        let opening = try last?.decode("closing", as: String?.self).map { try ExactDecimal(parsing: $0) } ?? .zero
        let statement = RevenueStatement(
            partner: partner, period: month, currency: currency.code, openingPayable: money(opening),
            payouts: payouts, payoutTotal: money(payoutTotal), eventCount: own.events,
            revenueByProduct: Dictionary(
                uniqueKeysWithValues: own.byProduct.map { ($0.key.rawValue, money($0.value)) }),
            revenueTotal: money(own.total), volume: own.volume.description,
            tiers: calculation.tierParts.map { part in
                let tier = plan.tiers![part.tier]
                return .init(
                    tier: part.tier, from: tier.from.description, upTo: tier.upTo?.description,
                    percent: tier.percent.description, base: part.base.normalized.description,
                    share: part.share.normalized.description)
            },
            exactShare: calculation.exactShare.normalized.description, share: money(calculation.share.amount),
            roundingRemainder: calculation.roundingRemainder.normalized.description, adjustedBy: calculation.adjustedBy,
            adjustments: adjustments, adjustmentTotal: money(adjustmentTotal),
            closingPayable: money(closing))
        try await transaction.execute(
            """
            INSERT INTO platform.revenue_periods (tenant_id, period, status, closed_at, statement, ledger_position)
            VALUES (\(partner), \(month), 'closed', now(), \(try PostgresJSON(encoding: statement))::jsonb,
                    (SELECT max(id) FROM platform.ledger_entries WHERE tenant_id = \(partner)))
            ON CONFLICT (tenant_id, period) DO UPDATE
                SET status = 'closed', closed_at = now(), statement = EXCLUDED.statement,
                    ledger_position = EXCLUDED.ledger_position
            """
        )
        return statement
    }

    /// The outcome of closing one partner's month in `closeAll`.
    public struct PartnerResult: Sendable, Codable, Equatable {
        public var partner: UUID
        public var slug: String
        /// `closed`, or `failed` with the reason.
        public var outcome: String
        public var detail: String?
    }

    /// Closes `month` for every partner that has a plan in force and has not closed it yet, each
    /// in its own transaction, `concurrency` at a time. One partner's failure is reported without
    /// stopping the others.
    public func closeAll(
        month: String, now: Date = Date(), concurrency: Int = 4, on pool: PostgresConnectionPool
    ) async throws -> [PartnerResult] {
        guard RevenueMonth.isValid(month) else {
            throw ServiceError(.invalidInput, "field 'period': a month such as 2026-10")
        }
        let partners = try await pool.query(
            """
            SELECT t.id, t.slug FROM platform.tenants t
            WHERE t.status IN ('active', 'suspended')
              AND EXISTS (SELECT 1 FROM platform.revenue_plans r WHERE r.tenant_id = t.id AND r.effective_month <= \(month))
              AND NOT EXISTS (SELECT 1 FROM platform.revenue_periods p
                              WHERE p.tenant_id = t.id AND p.period = \(month) AND p.status = 'closed')
            ORDER BY t.slug
            """
        ).map { (try $0.decode("id", as: UUID.self), try $0.decode("slug", as: String.self)) }
        return try await withThrowingTaskGroup(of: [PartnerResult].self) { group in
            let lanes = max(1, concurrency)
            for lane in 0..<lanes {
                let share = stride(from: lane, to: partners.count, by: lanes).map { partners[$0] }
                group.addTask {
                    var results: [PartnerResult] = []
                    for (id, slug) in share {
                        do {
                            _ = try await pool.withTransaction {
                                try await close(partner: id, month: month, now: now, in: $0)
                            }
                            results.append(.init(partner: id, slug: slug, outcome: "closed", detail: nil))
                        } catch let error as ServiceError {
                            results.append(.init(partner: id, slug: slug, outcome: "failed", detail: error.message))
                        } catch {
                            results.append(.init(partner: id, slug: slug, outcome: "failed", detail: "\(error)"))
                        }
                    }
                    return results
                }
            }
            var all: [PartnerResult] = []
            for try await results in group { all += results }
            return all.sorted { $0.slug < $1.slug }
        }
    }
}

/// Revenue of a set of fee events by product, with volume and count.
struct Revenue {
    var byProduct: [RevenueProduct: ExactDecimal] = [:]
    var volume = ExactDecimal.zero
    var events = 0

    var total: ExactDecimal { byProduct.values.reduce(.zero, +) }

    func adding(_ other: Revenue) -> Revenue {
        var sum = self
        for (product, amount) in other.byProduct { sum.byProduct[product, default: .zero] += amount }
        sum.volume += other.volume
        sum.events += other.events
        return sum
    }

    /// The revenue of events that occurred in `occurred` and were booked in `booked`.
    static func occurred(
        in occurred: String, bookedIn booked: String, partner: UUID, in transaction: PostgresTransaction
    ) async throws -> Revenue {
        try await load(
            """
            SELECT product, sum(amount)::text AS amount, sum(volume)::text AS volume, count(*) AS events
            FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period = \(booked)
              AND to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') = \(occurred)
            GROUP BY product
            """,
            in: transaction)
    }

    /// The revenue of events that occurred in `occurred` and were booked before `month`.
    static func occurred(
        in occurred: String, bookedBefore month: String, partner: UUID, in transaction: PostgresTransaction
    ) async throws -> Revenue {
        try await load(
            """
            SELECT product, sum(amount)::text AS amount, sum(volume)::text AS volume, count(*) AS events
            FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period < \(month)
              AND to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') = \(occurred)
            GROUP BY product
            """,
            in: transaction)
    }

    /// Reads rows of `product, amount, volume, events`.
    static func load(_ query: PostgresQuery, in transaction: PostgresTransaction) async throws -> Revenue {
        var revenue = Revenue()
        for row in try await transaction.query(query) {
            guard let product = RevenueProduct(rawValue: try row.decode("product", as: String.self)) else { continue }
            revenue.byProduct[product] = try ExactDecimal(parsing: try row.decode("amount", as: String.self)).normalized
            revenue.volume += try ExactDecimal(parsing: try row.decode("volume", as: String.self)).normalized
            revenue.events += try row.decode("events", as: Int.self)
        }
        revenue.volume = revenue.volume.normalized
        return revenue
    }
}

extension RevenueStatement {
    /// The statement as CSV (RFC 4180): one `section,item,amount,detail` row per line of it.
    public var csv: String {
        var rows: [[String]] = [["section", "item", "amount", "detail"]]
        rows.append(["statement", "partner", "", partner.uuidString.lowercased()])
        rows.append(["statement", "period", "", period])
        rows.append(["statement", "currency", "", currency])
        rows.append(["balance", "opening payable", openingPayable, ""])
        for payout in payouts {
            rows.append([
                "balance", "payout", payout.amount, payout.payout.uuidString.lowercased() + " " + payout.status,
            ])
        }
        rows.append(["balance", "share", share, ""])
        for adjustment in adjustments {
            rows.append([
                "balance", "adjustment", adjustment.share,
                "\(adjustment.period): \(adjustment.events) late events, revenue \(adjustment.revenue)",
            ])
        }
        rows.append(["balance", "closing payable", closingPayable, ""])
        for (product, amount) in revenueByProduct.sorted(by: { $0.key < $1.key }) {
            rows.append(["revenue", product, amount, ""])
        }
        rows.append(["revenue", "total", revenueTotal, "\(eventCount) events, volume \(volume)"])
        for tier in tiers {
            rows.append([
                "tier", String(tier.tier), tier.share,
                "from \(tier.from) up to \(tier.upTo ?? "open") at \(tier.percent) % on \(tier.base)",
            ])
        }
        rows.append(["share", "exact", exactShare, adjustedBy ?? ""])
        rows.append(["share", "rounding remainder", roundingRemainder, "half-even to \(currency)'s minor unit"])
        return rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
