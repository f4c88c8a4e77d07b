import Foundation
import ScryptexCore
import ScryptexPostgres

/// A trade as transaction and trade reports read it: its economics in every version, what it
/// carries for reporting, its instrument's identifiers and terms, its venue's country.
struct ReportableTrade: Sendable {
    struct Amendment: Sendable {
        var version: Int
        var previousQuantity: ExactDecimal
        var previousPrice: ExactDecimal
        var quantity: ExactDecimal
        var price: ExactDecimal
        var amendedAt: Date
    }

    var id: UUID
    var symbol: String
    var executedAt: Date
    var buy: Bool
    var quantity: ExactDecimal
    var price: ExactDecimal
    var version: Int
    /// The venue's MIC, nil off venue.
    var venue: String?
    var venueCountry: String?
    var counterpartyLEI: String?
    var ccpLEI: String?
    var aggregated: Bool
    var capacity: TradingCapacity
    var shortSelling: ShortSellingIndicator?
    var decisionMaker: ResponsibleParty?
    var executingPerson: ResponsibleParty?
    var cancelledAt: Date?
    var cancellation: TradeCancellation?
    var isin: String?
    var tradedInEEA: Bool
    var terms: DerivativeTerms?
    var amendments: [Amendment] = []

    /// The quantity and price of `version` (1: as first booked).
    func figures(version: Int) -> (quantity: ExactDecimal, price: ExactDecimal) {
        if let amendment = amendments.first(where: { $0.version == version }) {
            return (amendment.quantity, amendment.price)
        }
        if let next = amendments.first(where: { $0.version == version + 1 }) {
            return (next.previousQuantity, next.previousPrice)
        }
        return (quantity, price)
    }

    func happened(_ instant: Date?, in period: ReportPeriod) -> Bool {
        guard let instant else { return false }
        return instant >= period.start && instant < period.end
    }

    /// The trades of `accountID` with an event (execution, amendment, cancellation) in `period`:
    /// in derivatives (EMIR: with those still outstanding at its end, which are valued), or else
    /// in other instruments with an ISIN (MiFIR).
    static func load(
        of accountID: UUID, in period: ReportPeriod, derivatives: Bool, transaction: PostgresTransaction
    ) async throws -> [ReportableTrade] {
        let (start, end) = (period.start, period.end)
        let rows = try await transaction.query(
            """
            SELECT t.id, t.symbol, t.executed_at, t.side, t.quantity, t.price, t.version, t.venue, v.country,
                   t.counterparty_lei, t.ccp_lei, t.aggregated, t.capacity, t.short_selling, t.decision_maker,
                   t.executing_person, t.cancelled_at, t.cancellation, i.isin, i.traded_in_eea, i.derivative_terms
            FROM trades t JOIN instruments i ON i.symbol = t.symbol LEFT JOIN trading_venues v ON v.mic = t.venue
            WHERE t.account_id = \(accountID)
              AND (CASE WHEN \(derivatives) THEN i.is_derivative ELSE i.isin IS NOT NULL AND NOT i.is_derivative END)
              AND ((t.executed_at >= \(start) AND t.executed_at < \(end))
                   OR (t.cancelled_at >= \(start) AND t.cancelled_at < \(end))
                   OR EXISTS (SELECT 1 FROM trade_amendments a WHERE a.trade_id = t.id
                                AND a.amended_at >= \(start) AND a.amended_at < \(end))
                   OR (\(derivatives) AND t.executed_at < \(end) AND (t.cancelled_at IS NULL OR t.cancelled_at >= \(end))
                       AND (i.derivative_terms ->> 'maturity')::date >= \(start)))
            ORDER BY t.executed_at, t.booked_at, t.id
            """
        )
        var trades = try rows.map { row in
            let cancellation = try row.decode("cancellation", as: String?.self)
            return ReportableTrade(
                id: try row.decode("id", as: UUID.self), symbol: try row.decode("symbol", as: String.self),
                executedAt: try row.decode("executed_at", as: Date.self),
                buy: try row.decode("side", as: String.self) == "buy",
                quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
                price: try row.decode("price", as: ExactDecimal.self).normalized,
                version: try row.decode("version", as: Int.self), venue: try row.decode("venue", as: String?.self),
                venueCountry: try row.decode("country", as: String?.self),
                counterpartyLEI: try row.decode("counterparty_lei", as: String?.self),
                ccpLEI: try row.decode("ccp_lei", as: String?.self),
                aggregated: try row.decode("aggregated", as: Bool.self),
                capacity: try Self.code(row, "capacity", as: TradingCapacity.self) ?? .dealing,
                shortSelling: try Self.code(row, "short_selling", as: ShortSellingIndicator.self),
                decisionMaker: try row.decode("decision_maker", as: PostgresJSON?.self)?.decode(
                    ResponsibleParty.self),
                executingPerson: try row.decode("executing_person", as: PostgresJSON?.self)?.decode(
                    ResponsibleParty.self),
                cancelledAt: try row.decode("cancelled_at", as: Date?.self),
                cancellation: cancellation.flatMap(TradeCancellation.init(rawValue:)),
                isin: try row.decode("isin", as: String?.self),
                tradedInEEA: try row.decode("traded_in_eea", as: Bool.self),
                terms: try row.decode("derivative_terms", as: PostgresJSON?.self)?.decode(DerivativeTerms.self))
        }
        guard !trades.isEmpty else { return [] }
        let amendments = try await transaction.query(
            """
            SELECT trade_id, version, previous_quantity, previous_price, quantity, price, amended_at
            FROM trade_amendments WHERE trade_id = ANY(\(trades.map(\.id))::uuid[]) ORDER BY trade_id, version
            """
        )
        var byTrade: [UUID: [Amendment]] = [:]
        for row in amendments {
            byTrade[try row.decode("trade_id", as: UUID.self), default: []].append(
                Amendment(
                    version: try row.decode("version", as: Int.self),
                    previousQuantity: try row.decode("previous_quantity", as: ExactDecimal.self).normalized,
                    previousPrice: try row.decode("previous_price", as: ExactDecimal.self).normalized,
                    quantity: try row.decode("quantity", as: ExactDecimal.self).normalized,
                    price: try row.decode("price", as: ExactDecimal.self).normalized,
                    amendedAt: try row.decode("amended_at", as: Date.self)))
        }
        for index in trades.indices { trades[index].amendments = byTrade[trades[index].id] ?? [] }
        return trades
    }

    /// A stored code column; one this version does not know is corrupt data.
    private static func code<Code: RawRepresentable<String>>(
        _ row: PostgresRow, _ column: String, as: Code.Type
    ) throws -> Code? {
        guard let text = try row.decode(column, as: String?.self) else { return nil }
        guard let code = Code(rawValue: text) else {
            throw ServiceError(.corrupt, "trade \(column) '\(text)' is not one this version knows")
        }
        return code
    }
}
