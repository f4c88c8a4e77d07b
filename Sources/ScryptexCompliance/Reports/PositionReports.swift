public import Foundation
import ScryptexCore
import ScryptexInstitutional
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
        /// The currency the instrument is priced in.
        public var currency: String
        /// Quantity × price × multiplier, in `currency`, to the cent.
        public var value: String
        /// The value in US dollars at the rate of the valuation date, to the cent.
        public var valueUSD: String
        public var side: String
        /// A derivative: its value is its notional exposure, not an asset the fund owns.
        public var derivative: Bool
        /// Where the quantity is held: `book` (the platform's own trades) and each connected
        /// platform holding more (`broker:<session>`, `custodian:<custodian>/<account>`).
        public var sources: [String: String]?
    }

    /// The connected platforms whose positions count beside the book's; nil: the book alone.
    let platforms: (any ConnectedPlatformPositions)?

    public init(platforms: (any ConnectedPlatformPositions)? = nil) {
        self.platforms = platforms
    }

    /// The account's positions now, valued as the reports value them (for risk analysis).
    public func currentHoldings(of accountID: UUID, in transaction: PostgresTransaction) async throws -> [Holding] {
        _ = try await AccountService().account(accountID, in: transaction)
        return try await holdings(of: accountID, before: Date(), in: transaction)
    }

    /// Positions at the end of the period from booked trades not cancelled by then, valued at the
    /// price of that date (`ValuationPrices`: the reference price, else the last valid trade) and
    /// converted to US dollars at that date's rate.
    /// - Throws: `ServiceError` naming the currency when a held instrument's currency has no rate.
    func holdings(
        of accountID: UUID, before end: Date, only cftcReportable: Bool = false, in transaction: PostgresTransaction
    ) async throws -> [Holding] {
        let rows = try await transaction.query(
            """
            SELECT t.symbol, sum(CASE WHEN t.side = 'buy' THEN t.quantity ELSE -t.quantity END)::text AS quantity,
                   coalesce(i.derivative_terms ->> 'multiplier', '1') AS multiplier, i.is_derivative
            FROM trades t JOIN instruments i ON i.symbol = t.symbol
            WHERE t.account_id = \(accountID) AND t.executed_at < \(end)
              AND (t.cancelled_at IS NULL OR (t.cancellation = 'termination' AND t.cancelled_at >= \(end)))
              AND (NOT \(cftcReportable) OR i.cftc_reportable)
              AND coalesce((i.derivative_terms ->> 'maturity')::date >= (\(end) AT TIME ZONE 'UTC')::date, true)
            GROUP BY t.symbol, i.derivative_terms, i.is_derivative ORDER BY t.symbol
            """
        )
        struct Position {
            var quantity: ExactDecimal
            var multiplier: String
            var derivative: Bool
            var sources: [String: ExactDecimal]
        }
        var positions: [String: Position] = [:]
        for row in rows {
            let quantity = try ExactDecimal(parsing: try row.decode("quantity", as: String.self)).normalized
            positions[try row.decode("symbol", as: String.self)] = Position(
                quantity: quantity, multiplier: try row.decode("multiplier", as: String.self),
                derivative: try row.decode("is_derivative", as: Bool.self), sources: ["book": quantity])
        }
        // What connected platforms hold beyond the book, in instruments the report covers.
        let held = try await platforms?.positions(ofAccounts: [accountID], before: end, in: transaction) ?? []
        if !held.isEmpty {
            let instruments = try await transaction.query(
                """
                SELECT i.symbol, coalesce(i.derivative_terms ->> 'multiplier', '1') AS multiplier, i.is_derivative
                FROM instruments i
                WHERE i.symbol = ANY(\(held.map(\.symbol))::text[]) AND (NOT \(cftcReportable) OR i.cftc_reportable)
                  AND coalesce((i.derivative_terms ->> 'maturity')::date >= (\(end) AT TIME ZONE 'UTC')::date, true)
                """
            )
            var known: [String: (multiplier: String, derivative: Bool)] = [:]
            for row in instruments {
                known[try row.decode("symbol", as: String.self)] = (
                    try row.decode("multiplier", as: String.self), try row.decode("is_derivative", as: Bool.self)
                )
            }
            for position in held {
                guard let instrument = known[position.symbol] else { continue }
                var entry =
                    positions[position.symbol]
                    ?? Position(
                        quantity: .zero, multiplier: instrument.multiplier, derivative: instrument.derivative,
                        sources: [:])
                entry.quantity = try entry.quantity.adding(
                    position.quantity, figure: "the position in \(position.symbol)")
                entry.sources[position.source] = try (entry.sources[position.source] ?? .zero).adding(
                    position.quantity, figure: "the position in \(position.symbol)")
                positions[position.symbol] = entry
            }
        }
        let prices = try await ValuationPrices.prices(of: Array(positions.keys), before: end, in: transaction)
        var rates: [String: ExactDecimal] = [:]
        var holdings: [Holding] = []
        for (symbol, position) in positions.sorted(by: { $0.key < $1.key }) {
            let quantity = position.quantity.normalized
            guard !quantity.isZero, let price = prices[symbol]?.value else { continue }
            let multiplier = try ExactDecimal(parsing: position.multiplier)
            let currency = TradeCheckService.quoteCurrency(of: symbol)
            if rates[currency] == nil {
                guard
                    let rate = try await ComplianceReferenceData.usdPerUnit(
                        of: currency, at: end.addingTimeInterval(-0.000001), in: transaction)
                else {
                    throw ServiceError(
                        .invalidInput,
                        "no US dollar rate for \(currency) before \(Timestamp.format(end)) to value \(symbol): record one at /api/enterprise/compliance/fx-rates"
                    )
                }
                rates[currency] = rate
            }
            let exact = try quantity.multiplied(by: multiplier, figure: "the value of \(symbol)").multiplied(
                by: price, figure: "the value of \(symbol)")
            let usd = try exact.multiplied(by: rates[currency]!, figure: "the US dollar value of \(symbol)")
            holdings.append(
                Holding(
                    symbol: symbol, quantity: quantity.description, price: price.description, currency: currency,
                    value: exact.rounded(toScale: 2).description, valueUSD: usd.rounded(toScale: 2).description,
                    side: quantity.isNegative ? "short" : "long", derivative: position.derivative,
                    sources: position.sources.mapValues { $0.normalized.description }))
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
        let account = try await AccountService().account(accountID, in: transaction)
        let holdings = try await holdings(of: accountID, before: period.end, in: transaction)
        // Exposure counts every position at its market value (a derivative at its notional);
        // assets count what the fund owns: other positions at market value, derivatives at their
        // mark-to-market.
        var long = ExactDecimal.zero
        var short = ExactDecimal.zero
        var assets = ExactDecimal.zero
        var liabilities = ExactDecimal.zero
        for holding in holdings {
            let value = try ExactDecimal(parsing: holding.valueUSD)
            if value.isNegative {
                short = try short.subtracting(value, figure: "the short exposure")
                if !holding.derivative { liabilities = try liabilities.subtracting(value, figure: "the liabilities") }
            } else {
                long = try long.adding(value, figure: "the long exposure")
                if !holding.derivative { assets = try assets.adding(value, figure: "the gross assets") }
            }
        }
        let exposures = try await counterpartyExposures(of: accountID, at: period.end, in: transaction)
        for (_, markToMarket) in exposures {
            if markToMarket.isNegative {
                liabilities = try liabilities.subtracting(markToMarket, figure: "the liabilities")
            } else {
                assets = try assets.adding(markToMarket, figure: "the gross assets")
            }
        }
        struct Counterparty: Encodable {
            var counterparty: String
            var exposureUSD: String
        }
        struct Sections: Encodable {
            var format = "scryptex Form PF sections 1 (structured JSON; Form PF has no public XML schema)"
            var reportingPeriod: String
            var fund: [String: String]
            var currency = "USD"
            /// What the fund owns: long positions at market value, derivatives in its favour at
            /// their mark-to-market (positions only: the host records no cash balances).
            var grossAssetValue: String
            /// Gross assets less what it owes (short positions, derivatives against it).
            var netAssetValue: String
            var longExposure: String
            var shortExposure: String
            var dueDate: String
            /// Net mark-to-market credit exposure to each counterparty of open derivatives (what
            /// it would lose if the counterparty failed), the largest five.
            var topCounterpartyExposures: [Counterparty]
            var holdings: [Holding]
        }
        let sections = Sections(
            reportingPeriod: period.description,
            fund: [
                "name": account.accountName, "legalName": account.legalName,
                "lei": account.regulatoryIdentifiers["lei"] ?? "",
            ],
            grossAssetValue: assets.rounded(toScale: 2).description,
            netAssetValue: try assets.subtracting(liabilities, figure: "the net asset value").rounded(toScale: 2)
                .description,
            longExposure: long.rounded(toScale: 2).description, shortExposure: short.rounded(toScale: 2).description,
            dueDate: period.due(daysAfterEnd: 60),
            topCounterpartyExposures: exposures.filter { $0.exposure > .zero }.prefix(5).map {
                Counterparty(counterparty: $0.counterparty, exposureUSD: $0.exposure.description)
            },
            holdings: holdings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(sections), as: UTF8.self)
        let csv = Self.csv(
            ["section", "symbol", "side", "quantity", "price", "currency", "value", "value_usd"],
            holdings.map {
                ["holdings", $0.symbol, $0.side, $0.quantity, $0.price, $0.currency, $0.value, $0.valueUSD]
            })
        return (
            json, csv,
            [
                "holdings": String(holdings.count), "grossAssetValue": sections.grossAssetValue,
                "netAssetValue": sections.netAssetValue, "schema": "none published",
            ]
        )
    }

    /// Each counterparty's net mark-to-market on the account's derivatives open at `end`
    /// ((price then − trade price) × signed contracts × multiplier, in US dollars), largest first
    /// (positive: what the counterparty owes the fund).
    func counterpartyExposures(
        of accountID: UUID, at end: Date, in transaction: PostgresTransaction
    ) async throws -> [(counterparty: String, exposure: ExactDecimal)] {
        let rows = try await transaction.query(
            """
            SELECT t.symbol, coalesce(t.counterparty_lei, t.ccp_lei, t.counterparty, 'unspecified') AS counterparty,
                   (CASE WHEN t.side = 'buy' THEN t.quantity ELSE -t.quantity END)::text AS quantity,
                   t.price::text AS price, coalesce(i.derivative_terms ->> 'multiplier', '1') AS multiplier
            FROM trades t JOIN instruments i ON i.symbol = t.symbol
            WHERE t.account_id = \(accountID) AND i.is_derivative AND t.executed_at < \(end)
              AND (t.cancelled_at IS NULL OR (t.cancellation = 'termination' AND t.cancelled_at >= \(end)))
              AND coalesce((i.derivative_terms ->> 'maturity')::date >= (\(end) AT TIME ZONE 'UTC')::date, true)
            """
        )
        let symbols = try Array(Set(rows.map { try $0.decode("symbol", as: String.self) }))
        let prices = try await ValuationPrices.prices(of: symbols, before: end, in: transaction)
        var exposures: [String: ExactDecimal] = [:]
        for row in rows {
            let symbol = try row.decode("symbol", as: String.self)
            guard let price = prices[symbol]?.value else { continue }
            let currency = TradeCheckService.quoteCurrency(of: symbol)
            guard
                let rate = try await ComplianceReferenceData.usdPerUnit(
                    of: currency, at: end.addingTimeInterval(-0.000001), in: transaction)
            else {
                throw ServiceError(.invalidInput, "no US dollar rate for \(currency) to value \(symbol)")
            }
            let figure = "the exposure on \(symbol)"
            let change = try price.subtracting(
                try ExactDecimal(parsing: try row.decode("price", as: String.self)), figure: figure)
            let value = try change.multiplied(
                by: try ExactDecimal(parsing: try row.decode("quantity", as: String.self)), figure: figure
            )
            .multiplied(by: try ExactDecimal(parsing: try row.decode("multiplier", as: String.self)), figure: figure)
            .multiplied(by: rate, figure: figure)
            let counterparty = try row.decode("counterparty", as: String.self)
            exposures[counterparty] = try (exposures[counterparty] ?? .zero).adding(value, figure: figure)
        }
        return exposures.map { ($0.key, $0.value.rounded(toScale: 2)) }
            .sorted { ($0.1, $1.0) > ($1.1, $0.0) }
    }

    /// CFTC large-trader positions at the end of a day: every position in a CFTC-reportable
    /// contract at or above that contract's reportable level (in contracts).
    public func largeTrader(
        of accountID: UUID, for period: ReportPeriod, in transaction: PostgresTransaction
    )
        async throws -> (json: String, csv: String, summary: [String: String])
    {
        let levels = try await transaction.query(
            "SELECT symbol, reportable_level::text AS level FROM instruments WHERE cftc_reportable AND reportable_level IS NOT NULL"
        )
        var level: [String: ExactDecimal] = [:]
        for row in levels {
            level[try row.decode("symbol", as: String.self)] = try ExactDecimal(
                parsing: try row.decode("level", as: String.self))
        }
        let reportable = try await holdings(
            of: accountID, before: period.end, only: true, in: transaction
        ).filter { holding in
            guard let threshold = level[holding.symbol], let quantity = try? ExactDecimal(parsing: holding.quantity)
            else { return false }
            return (quantity.isNegative ? -quantity : quantity) >= threshold
        }
        struct Positions: Encodable {
            var format = "scryptex CFTC large-trader positions 1 (structured JSON; the CFTC schemas are not public)"
            var asOf: String
            var dueDate: String
            var positions: [Holding]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let json = String(
            decoding: try encoder.encode(
                Positions(asOf: period.lastDay, dueDate: period.nextWorkingDay, positions: reportable)), as: UTF8.self)
        let csv = Self.csv(
            ["as_of", "symbol", "side", "quantity", "price", "value", "sources"],
            reportable.map {
                [
                    period.lastDay, $0.symbol, $0.side, $0.quantity, $0.price, $0.value,
                    ($0.sources ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                        separator: ";"),
                ]
            })
        return (json, csv, ["reportablePositions": String(reportable.count), "schema": "none published"])
    }
}
