public import Foundation
import ScryptexCore
import ScryptexInstitutional
public import ScryptexPostgres

/// Execution quality by venue and instrument: how far executions landed from the arrival price
/// (the reference when the order arrived), in basis points, signed so that positive is worse
/// for the client (paid more on a buy, received less on a sell).
public struct BestExecutionReport: Sendable, Codable, Equatable {
    public struct Line: Sendable, Codable, Equatable {
        public var venue: String
        public var symbol: String
        public var executions: Int
        public var withArrivalPrice: Int
        public var notional: String
        public var averageSlippageBasisPoints: Double?
        public var worstSlippageBasisPoints: Double?
        /// Executions worse than the review threshold.
        public var beyondThreshold: Int
    }

    public var accountId: UUID
    public var from: Date
    public var until: Date
    public var reviewThresholdBasisPoints: Int
    public var lines: [Line]
}

public struct BestExecutionService: Sendable {
    public var reviewThresholdBasisPoints = 50

    public init() {}

    public func report(
        of accountID: UUID, from: Date, until: Date, in transaction: PostgresTransaction
    ) async throws
        -> BestExecutionReport
    {
        guard from < until else {
            throw ServiceError(.invalidInput, "query 'from' must be before 'until'")
        }
        _ = try await AccountService().account(accountID, in: transaction)
        let rows = try await transaction.query(
            """
            WITH executions AS (
                SELECT coalesce(venue, 'unspecified') AS venue, symbol, notional,
                       CASE WHEN arrival_price IS NULL THEN NULL
                            WHEN side = 'buy' THEN (price - arrival_price) / arrival_price * 10000
                            ELSE (arrival_price - price) / arrival_price * 10000 END AS slippage
                FROM trades
                WHERE account_id = \(accountID) AND cancelled_at IS NULL
                  AND executed_at >= \(from) AND executed_at < \(until)
            )
            SELECT venue, symbol, count(*) AS executions, count(slippage) AS with_arrival,
                   sum(notional)::text AS notional, round(avg(slippage), 4)::float8 AS average_slippage,
                   round(max(slippage), 4)::float8 AS worst_slippage,
                   count(*) FILTER (WHERE slippage > \(reviewThresholdBasisPoints)) AS beyond
            FROM executions GROUP BY venue, symbol ORDER BY venue, symbol
            """
        )
        let lines = try rows.map { row in
            BestExecutionReport.Line(
                venue: try row.decode("venue", as: String.self), symbol: try row.decode("symbol", as: String.self),
                executions: try row.decode("executions", as: Int.self),
                withArrivalPrice: try row.decode("with_arrival", as: Int.self),
                notional: (try ExactDecimal(parsing: try row.decode("notional", as: String.self))).normalized
                    .description,
                averageSlippageBasisPoints: try row.decode("average_slippage", as: Double?.self),
                worstSlippageBasisPoints: try row.decode("worst_slippage", as: Double?.self),
                beyondThreshold: try row.decode("beyond", as: Int.self))
        }
        return BestExecutionReport(
            accountId: accountID, from: from, until: until, reviewThresholdBasisPoints: reviewThresholdBasisPoints,
            lines: lines)
    }
}
