public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// How other modules read the market-making fills (business intelligence folds them into its
/// trading facts): the fills per strategy and market, in the order they were filled. The
/// module keeps its tables to itself; this is its reading interface.
///
/// Fills are written once and never changed or deleted, so a reader that counts what it has
/// folded can tell new fills from late ones (filled before the last one it folded).
public struct FillHistory: Sendable {
    public init() {}

    /// A strategy's market with fills: whose account it is and how many fills it holds.
    public struct FilledMarket: Sendable, Hashable {
        public var strategyId: UUID
        public var accountId: UUID
        public var market: String
        public var fills: Int
    }

    /// A fill as readers see it (amounts without the columns' trailing zeros, as they were
    /// given), with when it filled exactly.
    public struct RecordedFill: Sendable {
        public var fill: Fill
        /// When it filled: microseconds since 1970, exactly as stored.
        public var filledAtMicroseconds: Int64
    }

    /// Every strategy market with fills, and how many it has.
    public func markets(in transaction: PostgresTransaction) async throws -> [FilledMarket] {
        try await transaction.query(
            """
            SELECT f.strategy_id, s.account_id, f.market, count(*)::int8 AS fills
            FROM market_making_fills f JOIN market_making_strategies s ON s.id = f.strategy_id
            GROUP BY f.strategy_id, s.account_id, f.market
            """
        ).map { row in
            FilledMarket(
                strategyId: try row.decode("strategy_id", as: UUID.self),
                accountId: try row.decode("account_id", as: UUID.self),
                market: try row.decode("market", as: String.self),
                fills: try row.decode("fills", as: Int.self))
        }
    }

    /// The fills of a strategy's market after (`filledAtMicroseconds`, `fillID`) — all of them
    /// when nil — in the order they were filled (ties by fill id).
    public func fills(
        of strategy: UUID, market: String, after position: (filledAtMicroseconds: Int64, fillID: String)?,
        in transaction: PostgresTransaction
    ) async throws -> [RecordedFill] {
        try await transaction.query(
            """
            SELECT fill_id, side, price, quantity, fee, mid, extract(epoch FROM filled_at)::float8 AS seconds,
                (extract(epoch FROM filled_at) * 1000000)::int8 AS micros
            FROM market_making_fills
            WHERE strategy_id = \(strategy) AND market = \(market)
              AND (\(position?.filledAtMicroseconds)::int8 IS NULL
                   OR (filled_at, fill_id) > ('epoch'::timestamptz
                        + \(position?.filledAtMicroseconds)::int8 * interval '1 microsecond', \(position?.fillID)::text))
            ORDER BY filled_at, fill_id
            """
        ).map { row in
            let side = try row.decode("side", as: String.self)
            return RecordedFill(
                fill: Fill(
                    id: try row.decode("fill_id", as: String.self), market: market,
                    side: side == "buy" ? .buy : .sell,
                    price: try row.decode("price", as: ExactDecimal.self).normalized,
                    quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
                    fee: try row.decode("fee", as: ExactDecimal.self).normalized,
                    mid: try row.decode("mid", as: ExactDecimal?.self)?.normalized,
                    time: try row.decode("seconds", as: Double.self)),
                filledAtMicroseconds: try row.decode("micros", as: Int64.self))
        }
    }

    /// The names of strategies by id (for reports that show a strategy's facts).
    public func names(of strategies: [UUID], in transaction: PostgresTransaction) async throws -> [UUID: String] {
        guard !strategies.isEmpty else { return [:] }
        var names: [UUID: String] = [:]
        for row in try await transaction.query(
            "SELECT id, name FROM market_making_strategies WHERE id = ANY(\(strategies)::uuid[])")
        {
            names[try row.decode("id", as: UUID.self)] = try row.decode("name", as: String.self)
        }
        return names
    }
}
