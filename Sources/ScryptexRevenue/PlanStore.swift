public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Plan versions per partner, effective from a calendar month. A version can only start in a
/// month that is still open, so a change never rewrites a closed period.
public struct RevenuePlanStore: Sendable {
    public init() {}

    /// Adds a plan version for `partner` from `effectiveMonth` (`YYYY-MM`).
    /// - Throws: `ServiceError` naming the field for an invalid plan or month; `.conflict` when
    ///   the month is already closed or a version already starts then.
    public func add(
        _ plan: RevenuePlan, effectiveMonth: String, partner: UUID, createdBy: String,
        in transaction: PostgresTransaction
    ) async throws {
        try plan.validate()
        guard RevenueMonth.isValid(effectiveMonth) else {
            throw ServiceError(.invalidInput, "field 'effectiveFrom': a month such as 2026-12")
        }
        let closed = try await transaction.query(
            """
            SELECT max(period) AS last FROM platform.revenue_periods WHERE tenant_id = \(partner) AND status = 'closed'
            """
        ).first?.decode("last", as: String?.self)
        if let closed, effectiveMonth <= closed {
            throw ServiceError(
                .conflict,
                "field 'effectiveFrom': \(effectiveMonth) is closed (closed through \(closed)); a plan change starts in an open month"
            )
        }
        // No ingestion runs while the plan changes (it holds this lock shared), and the months
        // the version governs hold no fee event in another currency.
        try await RevenueLocks.exclusive(partner, in: transaction)
        if let clash = try await transaction.query(
            """
            SELECT currency, min(booked_period) AS first, count(*) AS events FROM platform.fee_events
            WHERE tenant_id = \(partner) AND booked_period >= \(effectiveMonth) AND currency <> \(plan.currency.code)
              AND booked_period < coalesce(
                  (SELECT min(effective_month) FROM platform.revenue_plans
                   WHERE tenant_id = \(partner) AND effective_month > \(effectiveMonth)), '9999-12')
            GROUP BY currency ORDER BY first LIMIT 1
            """
        ).first {
            throw ServiceError(
                .conflict,
                "field 'plan.currency': \(plan.currency.code) contradicts \(try clash.decode("events", as: Int.self)) fee events in \(try clash.decode("currency", as: String.self)) already booked from \(try clash.decode("first", as: String.self)); a plan's months are in one currency"
            )
        }
        do {
            try await transaction.execute(
                """
                INSERT INTO platform.revenue_plans (tenant_id, effective_month, plan, created_by)
                VALUES (\(partner), \(effectiveMonth), \(try PostgresJSON(encoding: plan))::jsonb, \(createdBy))
                """
            )
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw ServiceError(.conflict, "field 'effectiveFrom': a plan version already starts in \(effectiveMonth)")
        }
    }

    /// The version in force for `month` — the latest starting on or before it — with the month it
    /// starts in.
    public func version(
        for partner: UUID, in month: String, from database: some PostgresQuerying
    ) async throws
        -> (effectiveMonth: String, plan: RevenuePlan)?
    {
        let rows = try await database.query(
            """
            SELECT effective_month, plan FROM platform.revenue_plans
            WHERE tenant_id = \(partner) AND effective_month <= \(month)
            ORDER BY effective_month DESC LIMIT 1
            """,
            timeout: nil)
        guard let row = rows.first else { return nil }
        return (
            try row.decode("effective_month", as: String.self),
            try row.decode("plan", as: PostgresJSON.self).decode(RevenuePlan.self)
        )
    }

    /// The plan in force for `month`: the latest version starting on or before it.
    public func plan(for partner: UUID, in month: String, transaction: PostgresTransaction) async throws -> RevenuePlan?
    {
        let rows = try await transaction.query(
            """
            SELECT plan FROM platform.revenue_plans
            WHERE tenant_id = \(partner) AND effective_month <= \(month)
            ORDER BY effective_month DESC LIMIT 1
            """
        )
        return try rows.first?.decode("plan", as: PostgresJSON.self).decode(RevenuePlan.self)
    }
}
