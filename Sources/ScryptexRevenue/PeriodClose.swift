public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Closes a partner's month: the fees of the month by product (and their volume), the plan in
/// force, the share posted to the ledger (rounded share payable, remainder booked), a statement
/// stored, and the month marked closed — all in one transaction, at most once per month.
public struct PeriodClose: Sendable {
    public init() {}

    public struct Statement: Sendable, Codable, Equatable {
        public var partner: UUID
        public var period: String
        public var currency: String
        public var openingPayable: String
        public var revenueByProduct: [String: String]
        public var volume: String
        public var share: String
        public var roundingRemainder: String
        public var adjustedBy: String?
        public var closingPayable: String
    }

    public func close(partner: UUID, month: String, in transaction: PostgresTransaction) async throws -> Statement {
        guard RevenuePlanStore.isMonth(month) else {
            throw RevenueError(.invalidInput, "field 'period': a month such as 2026-10")
        }
        // One closer per partner at a time; a closed month stays closed.
        try await transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(\("revenue-close:" + partner.uuidString), 0))")
        let status = try await transaction.query(
            "SELECT status FROM platform.revenue_periods WHERE tenant_id = \(partner) AND period = \(month)"
        ).first?.decode("status", as: String.self)
        if status == "closed" { throw RevenueError(.conflict, "period \(month) is already closed") }
        guard let plan = try await RevenuePlanStore().plan(for: partner, in: month, transaction: transaction) else {
            throw RevenueError(.notFound, "the partner has no revenue plan in force for \(month)")
        }
        let rows = try await transaction.query(
            """
            SELECT product, sum(amount)::text AS amount, sum(volume)::text AS volume FROM platform.fee_events
            WHERE tenant_id = \(partner) AND currency = \(plan.currency.code)
              AND to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') = \(month)
            GROUP BY product
            """
        )
        var revenue: [RevenueProduct: ExactDecimal] = [:]
        var volume = ExactDecimal.zero
        for row in rows {
            guard let product = RevenueProduct(rawValue: try row.decode("product", as: String.self)) else { continue }
            revenue[product] = try ExactDecimal(parsing: try row.decode("amount", as: String.self)).normalized
            volume += try ExactDecimal(parsing: try row.decode("volume", as: String.self)).normalized
        }
        let calculation = plan.share(of: revenue, volume: volume)
        let opening =
            try await LedgerStore.balances(of: partner, in: transaction)[
                LedgerAccount.partnerPayable.rawValue + ":" + plan.currency.code] ?? .zero
        try await LedgerStore.record(
            try Posting.periodShare(calculation, memo: "revenue share \(month)"), partner: partner, source: nil,
            in: transaction)
        let statement = Statement(
            partner: partner, period: month, currency: plan.currency.code, openingPayable: (-opening).description,
            revenueByProduct: Dictionary(uniqueKeysWithValues: revenue.map { ($0.key.rawValue, $0.value.description) }),
            volume: volume.description, share: calculation.share.amount.description,
            roundingRemainder: calculation.roundingRemainder.normalized.description, adjustedBy: calculation.adjustedBy,
            closingPayable: (calculation.share.amount - opening).description)
        try await transaction.execute(
            """
            INSERT INTO platform.revenue_periods (tenant_id, period, status, closed_at, statement)
            VALUES (\(partner), \(month), 'closed', now(), \(try PostgresJSON(encoding: statement))::jsonb)
            ON CONFLICT (tenant_id, period) DO UPDATE SET status = 'closed', closed_at = now(), statement = EXCLUDED.statement
            """
        )
        return statement
    }
}
