import Foundation
import ScryptexCore
import ScryptexPostgres

/// The price a report values a holding at on its valuation date: the market reference price in
/// force then (the latest recorded before the instant), else the last trade executed before it
/// that was not busted — an erroneous print never values anything (a trade terminated early was
/// a real price).
struct ValuationPrices {
    enum Source: String, Sendable {
        case referencePrice = "reference_price"
        case lastTrade = "last_trade"
    }

    struct Price: Sendable, Equatable {
        var value: ExactDecimal
        var source: Source
    }

    /// The prices of `symbols` just before `instant` (a quarter's end, exclusive); symbols with
    /// neither a reference price nor a valid trade are absent.
    static func prices(
        of symbols: [String], before instant: Date, in transaction: PostgresTransaction
    ) async throws -> [String: Price] {
        guard !symbols.isEmpty else { return [:] }
        let rows = try await transaction.query(
            """
            SELECT s.symbol,
                   (SELECT m.price FROM market_prices m WHERE m.symbol = s.symbol AND m.as_of < \(instant)
                    ORDER BY m.as_of DESC LIMIT 1)::text AS reference_price,
                   (SELECT t.price FROM trades t WHERE t.symbol = s.symbol AND t.executed_at < \(instant)
                      AND t.cancellation IS DISTINCT FROM 'bust'
                    ORDER BY t.executed_at DESC, t.booked_at DESC LIMIT 1)::text AS last_trade
            FROM unnest(\(symbols)::text[]) AS s(symbol)
            """
        )
        var prices: [String: Price] = [:]
        for row in rows {
            let symbol = try row.decode("symbol", as: String.self)
            if let text = try row.decode("reference_price", as: String?.self) {
                prices[symbol] = Price(value: try ExactDecimal(parsing: text).normalized, source: .referencePrice)
            } else if let text = try row.decode("last_trade", as: String?.self) {
                prices[symbol] = Price(value: try ExactDecimal(parsing: text).normalized, source: .lastTrade)
            }
        }
        return prices
    }
}
