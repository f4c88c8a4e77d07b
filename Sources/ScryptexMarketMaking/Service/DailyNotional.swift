import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexPostgres

/// What is left today of an account's daily notional limit (in USD) for its quotes: the limit
/// less the trades it booked today (as the pre-trade check counts them) and every fill of its
/// market-making strategies today, each fill valued at its quote currency's USD rate (the
/// compliance engine's rule: an FX rate, else the `<currency>/USD` market price — a stablecoin
/// is not taken as a dollar). A currency without a rate cannot be held against the limit, and
/// its market is not quoted.
struct DailyNotional {
    let limit: ExactDecimal
    /// Today's notional so far in USD, or why it cannot be known.
    let used: Result<ExactDecimal, Unvalued>
    /// USD per unit of each quoted market's quote currency (nil: no rate).
    let usdPerUnit: [String: ExactDecimal?]

    struct Unvalued: Error {
        let reason: String
    }

    enum Room: Equatable {
        /// In the market's quote currency.
        case left(ExactDecimal)
        case unknown(String)
    }

    /// The quote currency of a symbol such as `ETH/USDC` (or `ETH-USDC`); the symbol itself
    /// when it names no pair.
    static func quoteCurrency(of symbol: String) -> String {
        let parts = symbol.split(whereSeparator: { $0 == "/" || $0 == "-" })
        return String(parts.count > 1 ? parts[1] : Substring(symbol)).uppercased()
    }

    func room(for market: Market) -> Room {
        let currency = Self.quoteCurrency(of: market.symbol)
        let used: ExactDecimal
        switch self.used {
        case .success(let total): used = total
        case .failure(let unvalued): return .unknown(unvalued.reason)
        }
        guard let rate = usdPerUnit[currency] ?? nil, !rate.isZero else {
            return .unknown(
                "no USD rate for \(currency) to hold the quote against the account's daily notional limit"
                    + " (set one with the compliance FX rates)")
        }
        let (leftUSD, overflow) = limit.addingReportingOverflow(-used)
        guard !overflow else { return .unknown("today's notional is beyond what can be counted") }
        guard !leftUSD.isNegative else { return .left(.zero) }
        return .left(leftUSD.divided(by: rate, scale: 8, rule: .towardZero) ?? .zero)
    }

    static func load(
        limit: ExactDecimal, account: UUID, markets: [Market], in transaction: PostgresTransaction
    ) async throws -> DailyNotional {
        let now = Date()
        let booked = try await TradeHistory().bookedTodayUSD(of: account, in: transaction)
        let fills = try await transaction.query(
            """
            SELECT f.market, round(sum(f.price * f.quantity), 8) AS notional
            FROM market_making_fills f JOIN market_making_strategies s ON s.id = f.strategy_id
            WHERE s.account_id = \(account) AND f.filled_at >= date_trunc('day', now())
            GROUP BY f.market
            """)
        var rates: [String: ExactDecimal?] = [:]
        func rate(_ currency: String) async throws -> ExactDecimal? {
            if let known = rates[currency] { return known }
            let found = try await ComplianceReferenceData.usdPerUnit(of: currency, at: now, in: transaction)
            rates[currency] = found
            return found
        }
        var used: Result<ExactDecimal, Unvalued> = .success(booked)
        for row in fills {
            let market = try row.decode("market", as: String.self)
            let notional = try row.decode("notional", as: ExactDecimal.self)
            let currency = quoteCurrency(of: String(market.prefix { $0 != "@" }))
            guard case .success(let total) = used else { break }
            guard let usd = try await rate(currency) else {
                used = .failure(
                    Unvalued(
                        reason:
                            "today's fills in \(currency) have no USD rate to count against the account's daily notional limit"
                    ))
                break
            }
            let value = try notional.multiplied(by: usd, figure: "today's notional")
            used = .success(try total.adding(value, figure: "today's notional"))
        }
        for market in markets { _ = try await rate(quoteCurrency(of: market.symbol)) }
        return DailyNotional(limit: limit, used: used, usdPerUnit: rates)
    }
}
