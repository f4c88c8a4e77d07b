import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexMarketMaking
import ScryptexPostgres

/// The market-making strategies' fills as trading facts, beside the booked trades: strategy
/// `market-making/<strategy id>` (reports show it as `market making: <name>`), symbol and venue
/// from the market (`symbol@venue`).
///
/// Each strategy market's fills are folded in the order they were filled (ties by fill id) into
/// an exact average-cost book (`bi_strategy_books`, the market-making `PositionBook`: fees
/// come off realised P&L). Fills are written once and never changed, so counting what was
/// folded tells new fills from late ones: a market whose fill count is the folded count plus
/// the fills after the last one folded only adds those; any other (a fill that arrived filled
/// before the last one folded) is rebuilt from its first fill. Amounts are in the market's
/// quote currency, valued in USD at the compliance engine's rate at each fill's time (face
/// value when there is none, as for trades).
///
/// The live book the market-making service keeps applies fills as they arrive; when fills
/// arrive out of order the two average costs can differ by the order of the fills.
struct StrategyFacts {
    static let prefix = "market-making/"

    static func strategy(_ id: UUID) -> String { prefix + id.uuidString.lowercased() }

    /// The strategy id of a facts strategy value, nil for `trading`.
    static func strategyID(_ value: String) -> UUID? {
        value.hasPrefix(prefix) ? UUID(uuidString: String(value.dropFirst(prefix.count))) : nil
    }

    struct StoredBook {
        var book: PositionBook
        var folded: Int
        var lastMicroseconds: Int64
        var lastFillID: String
    }

    struct Outcome {
        var folded = 0
        var rebuilt = 0
    }

    /// Folds every fill not yet in the facts into `facts` and writes the markets' books, in
    /// `transaction` (the trading facts' sync: one snapshot, under its lock).
    func sync(
        into facts: inout [TradingFacts.FactKey: TradingFacts.FactDelta], in transaction: PostgresTransaction
    ) async throws -> Outcome {
        let history = FillHistory()
        var stored: [StrategyMarketKey: StoredBook] = [:]
        for row in try await transaction.query(
            "SELECT strategy_id, market, book, folded, last_filled_micros, last_fill_id FROM bi_strategy_books")
        {
            stored[
                StrategyMarketKey(
                    strategyId: try row.decode("strategy_id", as: UUID.self),
                    market: try row.decode("market", as: String.self))] = StoredBook(
                    book: try row.decode("book", as: PostgresJSON.self).decode(PositionBook.self),
                    folded: try row.decode("folded", as: Int.self),
                    lastMicroseconds: try row.decode("last_filled_micros", as: Int64.self),
                    lastFillID: try row.decode("last_fill_id", as: String.self))
        }
        var outcome = Outcome()
        for market in try await history.markets(in: transaction) {
            let key = StrategyMarketKey(strategyId: market.strategyId, market: market.market)
            let previous = stored[key]
            guard previous?.folded != market.fills else { continue }
            let (symbol, venue) = Self.split(market.market)
            let strategy = Self.strategy(market.strategyId)
            var fills = try await history.fills(
                of: market.strategyId, market: market.market,
                after: previous.map { ($0.lastMicroseconds, $0.lastFillID) }, in: transaction)
            var start = previous
            if let previous, previous.folded + fills.count != market.fills {
                // A fill arrived that was filled before the last one folded: start again.
                start = nil
                outcome.rebuilt += 1
                try await transaction.execute(
                    """
                    DELETE FROM bi_daily_facts
                    WHERE account_id = \(market.accountId) AND strategy = \(strategy) AND symbol = \(symbol)
                      AND venue = \(venue)
                    """)
                fills = try await history.fills(
                    of: market.strategyId, market: market.market, after: nil, in: transaction)
            }
            guard let lastFill = fills.last else { continue }
            let currency = TradeHistory.quoteCurrency(of: symbol)
            var rates: [ExactDecimal?] = []
            for chunk in stride(from: 0, to: fills.count, by: 10_000) {
                rates += try await ComplianceReferenceData.usdPerUnit(
                    of: fills[chunk..<min(chunk + 10_000, fills.count)].map {
                        (currency, Date(timeIntervalSince1970: $0.fill.time))
                    }, in: transaction)
            }
            let pending = facts
            let account = market.accountId
            let (startBook, toFold, rateOfFill) = (start?.book ?? PositionBook(), fills, rates)
            let (book, next) = try await ComputeThreads.run {
                () throws -> (PositionBook, [TradingFacts.FactKey: TradingFacts.FactDelta]) in
                var book = startBook
                var facts = pending
                for (recorded, rate) in zip(toFold, rateOfFill) {
                    try Self.fold(
                        recorded.fill, rate: rate, into: &book, facts: &facts,
                        key: TradingFacts.FactKey(
                            accountId: account,
                            day: PostgresDate(containing: Date(timeIntervalSince1970: recorded.fill.time)),
                            symbol: symbol, venue: venue, strategy: strategy))
                }
                return (book, facts)
            }
            facts = next
            outcome.folded += fills.count
            try await transaction.execute(
                """
                INSERT INTO bi_strategy_books
                    (strategy_id, market, account_id, book, folded, last_filled_micros, last_fill_id)
                VALUES (\(market.strategyId), \(market.market), \(market.accountId),
                        \(try PostgresJSON(encoding: book))::jsonb, \(market.fills),
                        \(lastFill.filledAtMicroseconds), \(lastFill.fill.id))
                ON CONFLICT (strategy_id, market) DO UPDATE SET book = EXCLUDED.book, folded = EXCLUDED.folded,
                    last_filled_micros = EXCLUDED.last_filled_micros, last_fill_id = EXCLUDED.last_fill_id
                """)
        }
        return outcome
    }

    /// `BTC/USD@XCME` → (`BTC/USD`, `XCME`).
    static func split(_ market: String) -> (symbol: String, venue: String) {
        guard let at = market.lastIndex(of: "@") else { return (market, "") }
        return (String(market[..<at]), String(market[market.index(after: at)...]))
    }

    /// One fill into its book and its day's facts, in USD at `rate` (face value without one).
    static func fold(
        _ fill: Fill, rate: ExactDecimal?, into book: inout PositionBook,
        facts: inout [TradingFacts.FactKey: TradingFacts.FactDelta], key: TradingFacts.FactKey
    ) throws {
        let before = book.realised
        try book.apply(fill)
        func usd(_ amount: ExactDecimal, _ figure: String) throws -> ExactDecimal {
            guard let rate else { return amount }
            return try amount.multiplied(by: rate, figure: figure).rounded(toScale: 18)
        }
        let realised = try usd(try book.realised.subtracting(before, figure: "realised P&L"), "realised P&L in USD")
        let volume = try usd(try fill.price.multiplied(by: fill.quantity, figure: "volume"), "volume in USD")
        var delta = facts[key] ?? TradingFacts.FactDelta()
        delta.trades += 1
        delta.quantity = try delta.quantity.adding(fill.quantity, figure: "quantity")
        delta.volume = try delta.volume.adding(volume, figure: "volume")
        if fill.side == .buy {
            delta.buyVolume = try delta.buyVolume.adding(volume, figure: "volume")
        } else {
            delta.sellVolume = try delta.sellVolume.adding(volume, figure: "volume")
        }
        delta.realised = try delta.realised.adding(realised, figure: "realised P&L")
        facts[key] = delta
    }
}

struct StrategyMarketKey: Hashable {
    var strategyId: UUID
    var market: String
}
