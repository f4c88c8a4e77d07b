public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Fee events against ledger postings against statements, per partner and currency, listing
/// every difference. A clean ledger has none; each check says what it compared.
public struct ReconciliationReport: Sendable, Codable, Equatable {
    public struct Check: Sendable, Codable, Equatable {
        public var partner: UUID
        public var slug: String
        public var check: String
        public var currency: String?
        public var period: String?
        public var expected: String
        public var actual: String
        public var difference: String
    }

    /// The period the report is limited to, if any.
    public var period: String?
    public var partners: Int
    public var checks: Int
    /// Only the checks whose two sides differ.
    public var differences: [Check]
}

public struct Reconciliation: Sendable {
    public init() {}

    /// Runs every check, for all partners (or one), for all periods (or one).
    public func report(
        period: String? = nil, partner: UUID? = nil, in transaction: PostgresTransaction
    ) async throws -> ReconciliationReport {
        if let period, !RevenueMonth.isValid(period) {
            throw ServiceError(.invalidInput, "field 'period': a month such as 2026-10")
        }
        var slugs: [UUID: String] = [:]
        for row in try await transaction.query(
            "SELECT id, slug FROM platform.tenants WHERE \(partner) IS NULL OR id = \(partner)")
        {
            slugs[try row.decode("id", as: UUID.self)] = try row.decode("slug", as: String.self)
        }
        var checks: [ReconciliationReport.Check] = []
        var differences: [ReconciliationReport.Check] = []
        func compare(
            _ name: String, _ tenant: UUID, currency: String?, period: String?, expected: ExactDecimal,
            actual: ExactDecimal
        ) {
            let check = ReconciliationReport.Check(
                partner: tenant, slug: slugs[tenant] ?? "?", check: name, currency: currency, period: period,
                expected: expected.normalized.description, actual: actual.normalized.description,
                difference: (actual - expected).normalized.description)
            checks.append(check)
            if actual != expected { differences.append(check) }
        }
        typealias Key = String
        func sums(_ query: PostgresQuery) async throws -> [Key: ExactDecimal] {
            var result: [Key: ExactDecimal] = [:]
            for row in try await transaction.query(query) {
                result[try row.decode("key", as: String.self)] = try ExactDecimal(
                    parsing: try row.decode("total", as: String.self))
            }
            return result
        }
        func split(_ key: Key) -> (UUID, String, String) {
            let parts = key.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return (UUID(uuidString: parts[0])!, parts[1], parts.count > 2 ? parts[2] : "")
        }

        // 1. Every fee event is in the ledger: events booked vs fees receivable posted, per
        //    partner, currency and booked period.
        let events = try await sums(
            """
            SELECT tenant_id::text || '|' || currency || '|' || booked_period AS key, sum(amount)::text AS total
            FROM platform.fee_events
            WHERE (\(partner) IS NULL OR tenant_id = \(partner)) AND (\(period)::text IS NULL OR booked_period = \(period))
            GROUP BY tenant_id, currency, booked_period
            """)
        let posted = try await sums(
            """
            WITH legacy AS (
                -- Postings made before ledger lines carried their period: the period of their events.
                SELECT DISTINCT e.posting_id, e.booked_period FROM platform.fee_events e
                WHERE e.posting_id IN (SELECT posting_id FROM platform.ledger_entries
                                       WHERE period IS NULL AND account = 'fees_receivable'))
            SELECT l.tenant_id::text || '|' || l.currency || '|' || coalesce(l.period, f.booked_period) AS key,
                sum(l.amount)::text AS total
            FROM platform.ledger_entries l
            LEFT JOIN legacy f ON f.posting_id = l.posting_id AND l.period IS NULL
            WHERE l.account = 'fees_receivable' AND (\(partner) IS NULL OR l.tenant_id = \(partner))
              AND (\(period)::text IS NULL OR coalesce(l.period, f.booked_period) = \(period))
            GROUP BY 1
            """)
        for key in Set(events.keys).union(posted.keys).sorted() {
            let (tenant, currency, booked) = split(key)
            compare(
                "fee events vs fees receivable", tenant, currency: currency, period: booked,
                expected: events[key] ?? .zero, actual: posted[key] ?? .zero)
        }

        // 2. Every posting balances (the database refuses others; this proves it held).
        for row in try await transaction.query(
            """
            SELECT tenant_id, count(*) AS postings FROM (
                SELECT tenant_id, posting_id FROM platform.ledger_entries
                WHERE \(partner) IS NULL OR tenant_id = \(partner)
                GROUP BY tenant_id, posting_id, currency HAVING sum(amount) <> 0) unbalanced
            GROUP BY tenant_id
            """
        ) {
            compare(
                "unbalanced postings", try row.decode("tenant_id", as: UUID.self), currency: nil, period: nil,
                expected: .zero, actual: ExactDecimal(try row.decode("postings", as: Int.self)))
        }

        // 3. Statements against events and postings, per closed period.
        let payable = try await sums(
            """
            SELECT tenant_id::text || '|' || currency || '|' || period AS key, (-sum(amount))::text AS total
            FROM platform.ledger_entries
            WHERE account = 'partner_payable' AND source_id IS NULL AND period IS NOT NULL
              AND (\(partner) IS NULL OR tenant_id = \(partner)) AND (\(period)::text IS NULL OR period = \(period))
            GROUP BY tenant_id, currency, period
            """)
        let statements = try await transaction.query(
            """
            SELECT tenant_id, period, statement FROM platform.revenue_periods
            WHERE status = 'closed' AND statement IS NOT NULL
              AND (\(partner) IS NULL OR tenant_id = \(partner)) AND (\(period)::text IS NULL OR period = \(period))
            ORDER BY tenant_id, period
            """)
        for row in statements {
            let tenant = try row.decode("tenant_id", as: UUID.self)
            let month = try row.decode("period", as: String.self)
            guard let statement = try? row.decode("statement", as: PostgresJSON.self).decode(RevenueStatement.self)
            else {
                compare(
                    "statement readable", tenant, currency: nil, period: month, expected: .zero, actual: ExactDecimal(1)
                )
                continue
            }
            let key = tenant.uuidString.lowercased() + "|" + statement.currency + "|" + month
            let revenue =
                (try ExactDecimal(parsing: statement.revenueTotal))
                + (try statement.adjustments.reduce(ExactDecimal.zero) { $0 + (try ExactDecimal(parsing: $1.revenue)) })
            compare(
                "statement revenue vs fee events", tenant, currency: statement.currency, period: month,
                expected: events[key] ?? .zero, actual: revenue)
            let share =
                (try ExactDecimal(parsing: statement.share)) + (try ExactDecimal(parsing: statement.adjustmentTotal))
            compare(
                "statement share vs payable posted", tenant, currency: statement.currency, period: month,
                expected: payable[key] ?? .zero, actual: share)
            let movement =
                (try ExactDecimal(parsing: statement.closingPayable))
                - (try ExactDecimal(parsing: statement.openingPayable))
            let parts =
                (try ExactDecimal(parsing: statement.payoutTotal)) + share
            compare(
                "statement closing = opening + payouts + share + adjustments", tenant, currency: statement.currency,
                period: month, expected: parts, actual: movement)

            // The share recomputed from the month's events under the plan in force then, and
            // each true-up from the late events under their month's plan: a rounding or
            // currency error shows here before any payout.
            let plans = RevenuePlanStore()
            if let plan = try await plans.plan(for: tenant, in: month, transaction: transaction) {
                let own = try await Revenue.occurred(in: month, bookedIn: month, partner: tenant, in: transaction)
                compare(
                    "statement share vs share recomputed from its events", tenant, currency: statement.currency,
                    period: month, expected: try plan.share(of: own.byProduct, volume: own.volume).share.amount,
                    actual: try ExactDecimal(parsing: statement.share))
            }
            for adjustment in statement.adjustments {
                guard
                    let plan = try await plans.plan(for: tenant, in: adjustment.period, transaction: transaction)
                else { continue }
                let before = try await Revenue.occurred(
                    in: adjustment.period, bookedBefore: month, partner: tenant, in: transaction)
                let late = try await Revenue.occurred(
                    in: adjustment.period, bookedIn: month, partner: tenant, in: transaction)
                let restated = try plan.share(of: before.adding(late).byProduct, volume: before.volume + late.volume)
                let recognised = try plan.share(of: before.byProduct, volume: before.volume)
                compare(
                    "adjustment vs true-up recomputed from its events", tenant, currency: statement.currency,
                    period: month, expected: restated.share.amount - recognised.share.amount,
                    actual: try ExactDecimal(parsing: adjustment.share))
            }
            let otherCurrencies = events.filter { key, _ in
                let (other, currency, booked) = split(key)
                return other == tenant && booked == month && currency != statement.currency
            }
            for (key, amount) in otherCurrencies {
                compare(
                    "fee events in another currency than the statement's", tenant, currency: split(key).1,
                    period: month, expected: .zero, actual: amount)
            }
        }

        // 4. The last statement's closing payable is the ledger's payable at its close.
        if period == nil {
            for row in try await transaction.query(
                """
                SELECT p.tenant_id, p.period, p.statement ->> 'currency' AS currency,
                    p.statement ->> 'closingPayable' AS closing,
                    (SELECT (-coalesce(sum(l.amount), 0))::text FROM platform.ledger_entries l
                     WHERE l.tenant_id = p.tenant_id AND l.account = 'partner_payable'
                       AND l.currency = p.statement ->> 'currency' AND l.id <= p.ledger_position) AS ledger
                FROM platform.revenue_periods p
                WHERE p.status = 'closed' AND p.ledger_position IS NOT NULL AND (\(partner) IS NULL OR p.tenant_id = \(partner))
                  AND p.period = (SELECT max(period) FROM platform.revenue_periods q
                                  WHERE q.tenant_id = p.tenant_id AND q.status = 'closed')
                """
            ) {
                compare(
                    "last statement closing vs ledger payable", try row.decode("tenant_id", as: UUID.self),
                    currency: try row.decode("currency", as: String.self),
                    period: try row.decode("period", as: String.self),
                    expected: try ExactDecimal(parsing: try row.decode("ledger", as: String.self)),
                    actual: try ExactDecimal(parsing: try row.decode("closing", as: String.self)))
            }
        }
        return ReconciliationReport(
            period: period, partners: slugs.count, checks: checks.count,
            differences: differences)
    }
}
