import Foundation
import ScryptexCore
import ScryptexPostgres

/// The sums a dashboard reads from the daily facts of some accounts' booked trades (strategy
/// `trading`; the market-making strategies' P&L comes in through their own panel), in one round
/// trip.
struct FactTotals {
    var realisedToday = ExactDecimal.zero
    var realisedMonth = ExactDecimal.zero
    var realisedYear = ExactDecimal.zero
    var realisedAllTime = ExactDecimal.zero
    var tradesToday = 0
    var volumeToday = ExactDecimal.zero
    var trades30Days = 0
    var volume30Days = ExactDecimal.zero
    var tradesAllTime = 0
    /// Realised P&L per day over the last 365 days, from the first day with a trade to today
    /// (days without one: zero).
    var dailySeries: [ExactDecimal] = []

    static func load(accounts: [UUID], now: Date, in transaction: PostgresTransaction) async throws -> FactTotals {
        let today = PostgresDate(containing: now)
        let monthStart = PostgresDate(year: today.year, month: today.month, day: 1)!
        let yearStart = PostgresDate(year: today.year, month: 1, day: 1)!
        let window = today.adding(days: -364)
        let totals = try await transaction.query(
            """
            SELECT
                coalesce(sum(realised_usd) FILTER (WHERE day = \(today)), 0) AS realised_today,
                coalesce(sum(realised_usd) FILTER (WHERE day >= \(monthStart)), 0) AS realised_month,
                coalesce(sum(realised_usd) FILTER (WHERE day >= \(yearStart)), 0) AS realised_year,
                coalesce(sum(realised_usd), 0) AS realised_all,
                coalesce(sum(trades) FILTER (WHERE day = \(today)), 0)::int8 AS trades_today,
                coalesce(sum(volume_usd) FILTER (WHERE day = \(today)), 0) AS volume_today,
                coalesce(sum(trades) FILTER (WHERE day > \(today.adding(days: -30))), 0)::int8 AS trades_30,
                coalesce(sum(volume_usd) FILTER (WHERE day > \(today.adding(days: -30))), 0) AS volume_30,
                coalesce(sum(trades), 0)::int8 AS trades_all
            FROM bi_daily_facts WHERE account_id = ANY(\(accounts)::uuid[]) AND strategy = \(TradingFacts.strategy)
            """
        ).firstRow
        var result = FactTotals()
        result.realisedToday = try totals.decode("realised_today", as: ExactDecimal.self)
        result.realisedMonth = try totals.decode("realised_month", as: ExactDecimal.self)
        result.realisedYear = try totals.decode("realised_year", as: ExactDecimal.self)
        result.realisedAllTime = try totals.decode("realised_all", as: ExactDecimal.self)
        result.tradesToday = try totals.decode("trades_today", as: Int.self)
        result.volumeToday = try totals.decode("volume_today", as: ExactDecimal.self)
        result.trades30Days = try totals.decode("trades_30", as: Int.self)
        result.volume30Days = try totals.decode("volume_30", as: ExactDecimal.self)
        result.tradesAllTime = try totals.decode("trades_all", as: Int.self)
        let days = try await transaction.query(
            """
            SELECT day, sum(realised_usd) AS realised FROM bi_daily_facts
            WHERE account_id = ANY(\(accounts)::uuid[]) AND strategy = \(TradingFacts.strategy)
              AND day >= \(window) AND day <= \(today)
            GROUP BY day ORDER BY day
            """)
        var byDay: [Int: ExactDecimal] = [:]
        for row in days {
            byDay[try row.decode("day", as: PostgresDate.self).daysSinceEpoch] = try row.decode(
                "realised", as: ExactDecimal.self)
        }
        if let first = byDay.keys.min() {
            result.dailySeries = (first...today.daysSinceEpoch).map { byDay[$0] ?? .zero }
        }
        return result
    }
}
