public import Foundation
import ScryptexCore
public import ScryptexPostgres

/// Form PF and CFTC large-trader position reports. Neither has a public machine-readable
/// schema (Form PF is filed through FINRA's PFRD; CFTC Form 102 and Part 17 files use schemas
/// not published openly), so these are the documented sections as structured JSON and CSV,
/// named as such, ready to be keyed into or mapped onto the official channel.
public struct PositionReports: Sendable {
    public struct Holding: Sendable, Codable, Equatable {
        public var symbol: String
        public var quantity: String
        public var price: String
        public var value: String
        public var side: String
    }

    public init() {}

    /// Positions at the end of the period from booked trades not cancelled by then, valued at the
    /// price of that date (`ValuationPrices`: the reference price, else the last valid trade).
    func holdings(of accountID: UUID, before end: Date, in transaction: PostgresTransaction) async throws -> [Holding] {
        let rows = try await transaction.query(
            """
            SELECT t.symbol, sum(CASE WHEN t.side = 'buy' THEN t.quantity ELSE -t.quantity END)::text AS quantity
            FROM trades t
            WHERE t.account_id = \(accountID) AND t.executed_at < \(end)
              AND (t.cancelled_at IS NULL OR (t.cancellation = 'termination' AND t.cancelled_at >= \(end)))
            GROUP BY t.symbol ORDER BY t.symbol
            """
        )
        let prices = try await ValuationPrices.prices(
            of: try rows.map { try $0.decode("symbol", as: String.self) }, before: end, in: transaction)
        var holdings: [Holding] = []
        for row in rows {
            let quantity = try ExactDecimal(parsing: try row.decode("quantity", as: String.self)).normalized
            guard !quantity.isZero, let price = prices[try row.decode("symbol", as: String.self)]?.value else {
                continue
            }
            let symbol = try row.decode("symbol", as: String.self)
            let value = try quantity.multiplied(by: price, figure: "the value of \(symbol)").rounded(toScale: 2)
            holdings.append(
                Holding(
                    symbol: try row.decode("symbol", as: String.self), quantity: quantity.description,
                    price: price.description, value: value.description, side: quantity.isNegative ? "short" : "long"))
        }
        return holdings
    }

    static func csv(_ header: [String], _ rows: [[String]]) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// Form PF sections for one account treated as one private fund.
    public func formPF(
        of accountID: UUID, for period: ReportPeriod, in transaction: PostgresTransaction
    ) async throws
        -> (json: String, csv: String, summary: [String: String])
    {
        let account = try await transaction.query(
            """
            SELECT account_name, legal_name, total_aum::text AS aum, regulatory_identifiers ->> 'lei' AS lei
            FROM institutional_accounts WHERE id = \(accountID)
            """
        ).firstRow
        let holdings = try await holdings(of: accountID, before: period.end, in: transaction)
        var long = ExactDecimal.zero
        var short = ExactDecimal.zero
        for holding in holdings {
            let value = try ExactDecimal(parsing: holding.value)
            if value.isNegative { short -= value } else { long += value }
        }
        let start = period.start
        let counterparties = try await transaction.query(
            """
            SELECT coalesce(counterparty, 'unspecified') AS counterparty, sum(notional)::text AS notional
            FROM trades WHERE account_id = \(accountID) AND executed_at >= \(start) AND executed_at < \(period.end)
              AND cancelled_at IS NULL
            GROUP BY 1 ORDER BY sum(notional) DESC LIMIT 5
            """
        )
        struct Counterparty: Encodable {
            var name: String
            var notional: String
        }
        struct Sections: Encodable {
            var format = "scryptex Form PF sections 1 (structured JSON; Form PF has no public XML schema)"
            var reportingPeriod: String
            var fund: [String: String]
            var grossAssetValue: String
            var netAssetValue: String
            var longExposure: String
            var shortExposure: String
            var topCounterparties: [Counterparty]
            var holdings: [Holding]
        }
        let sections = Sections(
            reportingPeriod: period.description,
            fund: [
                "name": try account.decode("account_name", as: String.self),
                "legalName": try account.decode("legal_name", as: String.self),
                "lei": try account.decode("lei", as: String?.self) ?? "",
            ],
            grossAssetValue: (long + short).description,
            netAssetValue: try ExactDecimal(parsing: try account.decode("aum", as: String.self)).normalized.description,
            longExposure: long.description, shortExposure: short.description,
            topCounterparties: try counterparties.map {
                Counterparty(
                    name: try $0.decode("counterparty", as: String.self),
                    notional: try ExactDecimal(parsing: try $0.decode("notional", as: String.self)).normalized
                        .description)
            },
            holdings: holdings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(sections), as: UTF8.self)
        let csv = Self.csv(
            ["section", "symbol", "side", "quantity", "price", "value"],
            holdings.map { ["holdings", $0.symbol, $0.side, $0.quantity, $0.price, $0.value] })
        return (
            json, csv,
            [
                "holdings": String(holdings.count), "grossAssetValue": sections.grossAssetValue,
                "schema": "none published",
            ]
        )
    }

    /// CFTC large-trader positions: every position at or above its instrument's reportable level.
    public func largeTrader(
        of accountID: UUID, for period: ReportPeriod, in transaction: PostgresTransaction
    )
        async throws -> (json: String, csv: String, summary: [String: String])
    {
        let levels = try await transaction.query(
            "SELECT symbol, reportable_level::text AS level FROM instruments WHERE reportable_level IS NOT NULL")
        var level: [String: ExactDecimal] = [:]
        for row in levels {
            level[try row.decode("symbol", as: String.self)] = try ExactDecimal(
                parsing: try row.decode("level", as: String.self))
        }
        let reportable = try await holdings(of: accountID, before: period.end, in: transaction).filter { holding in
            guard let threshold = level[holding.symbol], let quantity = try? ExactDecimal(parsing: holding.quantity)
            else { return false }
            return (quantity.isNegative ? -quantity : quantity) >= threshold
        }
        struct Positions: Encodable {
            var format = "scryptex CFTC large-trader positions 1 (structured JSON; the CFTC schemas are not public)"
            var asOf: String
            var positions: [Holding]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = String(
            decoding: try encoder.encode(Positions(asOf: period.lastDay, positions: reportable)), as: UTF8.self)
        let csv = Self.csv(
            ["as_of", "symbol", "side", "quantity", "price", "value"],
            reportable.map { [period.lastDay, $0.symbol, $0.side, $0.quantity, $0.price, $0.value] })
        return (json, csv, ["reportablePositions": String(reportable.count), "schema": "none published"])
    }
}
