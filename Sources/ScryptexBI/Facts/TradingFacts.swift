import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexMarketMaking
public import ScryptexPostgres

/// The trading facts reports and dashboards read, kept up to date incrementally from the trade
/// book: each account's book per symbol at average cost (`bi_books`) and, per account, symbol,
/// venue, strategy and day, the trades, quantity, volume in USD (buys and sells) and realised P&L
/// in USD (`bi_daily_facts`).
///
/// A sync folds in the trades booked since the last one, in one REPEATABLE READ snapshot. It
/// reads from 60 seconds before its cursor (a transaction that committed late with an earlier
/// `booked_at` is still seen) but only the row versions the previous sync's snapshot could not
/// see (`TransactionSnapshot`), so nothing is folded twice and nothing is remembered per trade.
/// A trade that arrives out of execution order for its account and symbol, or a trade cancelled
/// or amended since, makes that account and symbol be rebuilt from its whole history. The
/// folding is computation: it runs on compute threads, never on an event loop. Realised P&L is
/// the position book's (`PositionBook`: exact average cost), valued in USD at the closing trade's
/// own rate (its `notional_usd ÷ notional`), or at face value when it has none — as the daily
/// limit counts it. The market-making strategies' fills are folded in the same sync
/// (`StrategyFacts`), as facts of their own strategy.
public struct TradingFacts: Sendable {
    public static let strategy = "trading"
    static let overlapSeconds = 60
    static let pageSize = 20_000

    public init() {}

    public struct SyncSummary: Sendable, Equatable, Codable {
        public var tradesFolded: Int
        public var pairsRebuilt: Int
        /// Market-making fills folded (`StrategyFacts`), and strategy markets rebuilt.
        public var fillsFolded = 0
        public var strategyMarketsRebuilt = 0
        /// Another sync was running: this one left the facts to it.
        public var skipped = false
    }

    /// Syncs in a REPEATABLE READ transaction of `scope`'s making; a sync that finds another
    /// under way (or that loses a race with one that just committed) leaves it to that one.
    public func sync(
        using snapshotTransaction: (@Sendable (PostgresTransaction) async throws -> SyncSummary) async throws
            -> SyncSummary
    ) async throws -> SyncSummary {
        do {
            return try await snapshotTransaction { try await self.sync(in: $0) }
        } catch let error as PostgresError where error.sqlState?.rawValue == "40001" {
            return SyncSummary(tradesFolded: 0, pairsRebuilt: 0, skipped: true)
        }
    }

    struct FactKey: Hashable {
        var accountId: UUID
        var day: PostgresDate
        var symbol: String
        var venue: String
        var strategy: String
    }

    struct FactDelta {
        var trades = 0
        var quantity = ExactDecimal.zero
        var volume = ExactDecimal.zero
        var buyVolume = ExactDecimal.zero
        var sellVolume = ExactDecimal.zero
        var realised = ExactDecimal.zero
    }

    struct PairBook: Codable {
        var book: PositionBook
        var lastExecuted: Double
        var lastTrade: UUID
    }

    /// What a sync has folded so far: the books it touched (nil: emptied) and the facts to add.
    struct Progress: Sendable {
        var books: [AccountSymbol: PairBook?] = [:]
        var facts: [FactKey: FactDelta] = [:]
        var rebuilt: Set<AccountSymbol> = []
        var folded = 0
    }

    /// Folds in everything booked since the last sync, in `transaction` (REPEATABLE READ: one
    /// snapshot for the trades and the rebuilds). Only one sync runs at a time per tenant: one
    /// that finds another under way returns at once, skipped.
    @discardableResult
    public func sync(in transaction: PostgresTransaction) async throws -> SyncSummary {
        let locked = try await transaction.query(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || '.bi_sync')) AS locked"
        ).firstRow.decode("locked", as: Bool.self)
        guard locked else { return SyncSummary(tradesFolded: 0, pairsRebuilt: 0, skipped: true) }
        try await transaction.execute(
            "INSERT INTO bi_sync (id, cursor, snapshot) VALUES (1, NULL, NULL) ON CONFLICT (id) DO NOTHING")
        let row = try await transaction.query("SELECT cursor, snapshot FROM bi_sync WHERE id = 1 FOR UPDATE").firstRow
        let previousCursor = try row.decode("cursor", as: PostgresJSON?.self)?.decode(TradeCursor.self)
        let previous = try row.decode("snapshot", as: String?.self).flatMap(TransactionSnapshot.init)
        let history = TradeHistory()
        let current = try await history.snapshot(in: transaction)
        var progress = Progress()

        func rebuild(_ pair: AccountSymbol) async throws {
            progress.rebuilt.insert(pair)
            try await transaction.execute(
                """
                DELETE FROM bi_daily_facts
                WHERE account_id = \(pair.accountId) AND symbol = \(pair.symbol) AND strategy = \(Self.strategy)
                """)
            let trades = try await history.trades(of: pair, in: transaction)
            let before = progress
            progress = try await ComputeThreads.run {
                var next = before
                next.facts = next.facts.filter {
                    $0.key.accountId != pair.accountId || $0.key.symbol != pair.symbol
                        || $0.key.strategy != Self.strategy
                }
                var book: PairBook?
                for trade in trades where !trade.cancelled { try Self.fold(trade, into: &book, facts: &next.facts) }
                next.books[pair] = .some(book)
                return next
            }
        }

        if let previous {
            for pair in try await history.changedPairs(since: previous, in: transaction) { try await rebuild(pair) }
        }
        var cursor = try await history.cursor(Self.overlapSeconds, secondsBefore: previousCursor, in: transaction)
        var latest = previousCursor
        while true {
            let page = try await history.trades(
                after: cursor, newerThan: previous, limit: Self.pageSize, in: transaction)
            guard let last = page.last else { break }
            cursor = last.cursor
            if latest.map({ ($0.bookedAt, $0.id.uuidString) < (last.cursor.bookedAt, last.cursor.id.uuidString) })
                ?? true
            {
                latest = last.cursor
            }
            // The books the page needs, in one query; then the folding, off the loops.
            let unknown = Set(page.map { AccountSymbol(accountId: $0.accountId, symbol: $0.symbol) })
                .filter { progress.books[$0] == nil && !progress.rebuilt.contains($0) }
            for (pair, book) in try await books(of: Array(unknown), in: transaction) {
                progress.books[pair] = .some(book)
            }
            for pair in unknown where progress.books[pair] == nil { progress.books[pair] = .some(nil) }
            let before = progress
            let (folded, outOfOrder) = try await ComputeThreads.run { () throws -> (Progress, Set<AccountSymbol>) in
                var next = before
                var outOfOrder: Set<AccountSymbol> = []
                for trade in page where !trade.cancelled {
                    let pair = AccountSymbol(accountId: trade.accountId, symbol: trade.symbol)
                    guard !next.rebuilt.contains(pair), !outOfOrder.contains(pair) else { continue }
                    var book = next.books[pair] ?? nil
                    if let current = book,
                        (trade.executedAt.timeIntervalSince1970, trade.id.uuidString)
                            < (current.lastExecuted, current.lastTrade.uuidString)
                    {
                        outOfOrder.insert(pair)
                        continue
                    }
                    try Self.fold(trade, into: &book, facts: &next.facts)
                    next.books[pair] = .some(book)
                    next.folded += 1
                }
                return (next, outOfOrder)
            }
            progress = folded
            for pair in outOfOrder { try await rebuild(pair) }
            if page.count < Self.pageSize { break }
        }
        let strategies = try await StrategyFacts().sync(into: &progress.facts, in: transaction)
        try await write(books: progress.books, facts: progress.facts, in: transaction)
        try await transaction.execute(
            """
            UPDATE bi_sync SET cursor = \(try latest.map { try PostgresJSON(encoding: $0) })::jsonb,
                snapshot = \(current.description), synced_at = now()
            WHERE id = 1
            """)
        return SyncSummary(
            tradesFolded: progress.folded, pairsRebuilt: progress.rebuilt.count, fillsFolded: strategies.folded,
            strategyMarketsRebuilt: strategies.rebuilt, skipped: false)
    }

    /// The stored books of `pairs`.
    func books(of pairs: [AccountSymbol], in transaction: PostgresTransaction) async throws -> [AccountSymbol: PairBook]
    {
        guard !pairs.isEmpty else { return [:] }
        var found: [AccountSymbol: PairBook] = [:]
        for row in try await transaction.query(
            """
            SELECT b.account_id, b.symbol, b.book, extract(epoch FROM b.last_executed_at)::float8 AS last_executed,
                b.last_trade_id
            FROM bi_books b
            JOIN unnest(\(pairs.map(\.accountId))::uuid[], \(pairs.map(\.symbol))::text[]) AS w (a, s)
              ON b.account_id = w.a AND b.symbol = w.s
            """)
        {
            let pair = AccountSymbol(
                accountId: try row.decode("account_id", as: UUID.self),
                symbol: try row.decode("symbol", as: String.self))
            found[pair] = PairBook(
                book: try row.decode("book", as: PostgresJSON.self).decode(PositionBook.self),
                lastExecuted: try row.decode("last_executed", as: Double.self),
                lastTrade: try row.decode("last_trade_id", as: UUID.self))
        }
        return found
    }

    /// One trade into its book and the day's facts.
    static func fold(_ trade: BookedTrade, into book: inout PairBook?, facts: inout [FactKey: FactDelta]) throws {
        var current = book?.book ?? PositionBook()
        let before = current.realised
        try current.apply(
            Fill(
                id: trade.id.uuidString, market: trade.symbol, side: trade.side == "buy" ? .buy : .sell,
                price: trade.unitValue, quantity: trade.quantity, fee: .zero, mid: nil,
                time: trade.executedAt.timeIntervalSince1970))
        book = PairBook(book: current, lastExecuted: trade.executedAt.timeIntervalSince1970, lastTrade: trade.id)
        let realised = try current.realised.subtracting(before, figure: "realised P&L")
        let volume = trade.notionalUSD ?? trade.notional
        var realisedUSD = realised
        if let usd = trade.notionalUSD, !trade.notional.isZero, !realised.isZero {
            guard
                let valued = try realised.multiplied(by: usd, figure: "realised P&L in USD").divided(
                    by: trade.notional, scale: 18)
            else { throw ServiceError(.invalidInput, "trade \(trade.id): realised P&L in USD is out of range") }
            realisedUSD = valued
        }
        let key = FactKey(
            accountId: trade.accountId, day: PostgresDate(containing: trade.executedAt), symbol: trade.symbol,
            venue: trade.venue ?? "", strategy: Self.strategy)
        var delta = facts[key] ?? FactDelta()
        delta.trades += 1
        delta.quantity = try delta.quantity.adding(trade.quantity, figure: "quantity")
        delta.volume = try delta.volume.adding(volume, figure: "volume")
        if trade.side == "buy" {
            delta.buyVolume = try delta.buyVolume.adding(volume, figure: "volume")
        } else {
            delta.sellVolume = try delta.sellVolume.adding(volume, figure: "volume")
        }
        delta.realised = try delta.realised.adding(realisedUSD, figure: "realised P&L")
        facts[key] = delta
    }

    func write(
        books: [AccountSymbol: PairBook?], facts: [FactKey: FactDelta], in transaction: PostgresTransaction
    ) async throws {
        let kept = books.compactMap { pair, book in book.map { (pair, $0) } }
        let emptied = books.filter { $0.value == nil }.map(\.key)
        for pair in emptied {
            try await transaction.execute(
                "DELETE FROM bi_books WHERE account_id = \(pair.accountId) AND symbol = \(pair.symbol)")
        }
        for chunk in stride(from: 0, to: kept.count, by: 5_000).map({ kept[$0..<min($0 + 5_000, kept.count)] }) {
            try await transaction.execute(
                """
                INSERT INTO bi_books (account_id, symbol, book, last_executed_at, last_trade_id)
                SELECT a, s, b::jsonb, to_timestamp(e), t
                FROM unnest(\(chunk.map(\.0.accountId))::uuid[], \(chunk.map(\.0.symbol))::text[],
                            \(try chunk.map { try PostgresJSON(encoding: $0.1.book).text })::text[],
                            \(chunk.map(\.1.lastExecuted))::float8[], \(chunk.map(\.1.lastTrade))::uuid[])
                    AS v (a, s, b, e, t)
                ON CONFLICT (account_id, symbol) DO UPDATE SET book = EXCLUDED.book,
                    last_executed_at = EXCLUDED.last_executed_at, last_trade_id = EXCLUDED.last_trade_id
                """)
        }
        let rows = Array(facts)
        for chunk in stride(from: 0, to: rows.count, by: 5_000).map({ rows[$0..<min($0 + 5_000, rows.count)] }) {
            try await transaction.execute(
                """
                INSERT INTO bi_daily_facts AS f (account_id, symbol, venue, strategy, day, trades, quantity, volume_usd,
                    buy_volume_usd, sell_volume_usd, realised_usd)
                SELECT a, s, v, st, d, n, q, vol, b, sl, r
                FROM unnest(\(chunk.map(\.key.accountId))::uuid[], \(chunk.map(\.key.symbol))::text[],
                            \(chunk.map(\.key.venue))::text[], \(chunk.map(\.key.strategy))::text[],
                            \(chunk.map(\.key.day))::date[],
                            \(chunk.map { Int64($0.value.trades) })::int8[], \(chunk.map(\.value.quantity))::numeric[],
                            \(chunk.map(\.value.volume))::numeric[], \(chunk.map(\.value.buyVolume))::numeric[],
                            \(chunk.map(\.value.sellVolume))::numeric[], \(chunk.map(\.value.realised))::numeric[])
                    AS x (a, s, v, st, d, n, q, vol, b, sl, r)
                ON CONFLICT (account_id, day, symbol, venue, strategy) DO UPDATE SET
                    trades = f.trades + EXCLUDED.trades, quantity = f.quantity + EXCLUDED.quantity,
                    volume_usd = f.volume_usd + EXCLUDED.volume_usd,
                    buy_volume_usd = f.buy_volume_usd + EXCLUDED.buy_volume_usd,
                    sell_volume_usd = f.sell_volume_usd + EXCLUDED.sell_volume_usd,
                    realised_usd = f.realised_usd + EXCLUDED.realised_usd
                """)
        }
    }
}
