import Foundation
public import ScryptexCore

/// A market a strategy quotes: its symbol and venue, and the grid its orders live on.
public struct Market: Sendable, Equatable, Codable {
    public var symbol: String
    public var venue: String
    /// Prices are whole multiples of the tick size.
    public var tickSize: ExactDecimal
    /// Quantities are whole multiples of the lot size.
    public var lotSize: ExactDecimal
    /// An order smaller than this in price × quantity is not sent.
    public var minimumNotional: ExactDecimal

    public init(
        symbol: String, venue: String, tickSize: ExactDecimal, lotSize: ExactDecimal,
        minimumNotional: ExactDecimal = .zero
    ) {
        self.symbol = symbol
        self.venue = venue
        self.tickSize = tickSize
        self.lotSize = lotSize
        self.minimumNotional = minimumNotional
    }

    /// `symbol@venue`, the market's name in quotes and fills.
    public var key: String { symbol + "@" + venue }

    public func validated(field: String) throws -> Market {
        guard (1...40).contains(symbol.count), symbol.allSatisfy({ $0.isLetter || $0.isNumber || "/-_.".contains($0) })
        else {
            throw ServiceError(.invalidInput, "field '\(field).symbol': 1 to 40 letters, digits, / - _ .")
        }
        guard (1...40).contains(venue.count), venue.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
        else {
            throw ServiceError(.invalidInput, "field '\(field).venue': 1 to 40 letters, digits, - _ .")
        }
        for (name, value) in [("tickSize", tickSize), ("lotSize", lotSize)] {
            guard !value.isNegative, !value.isZero, value.significantScale <= 12, value < ExactDecimal(1_000_000) else {
                throw ServiceError(
                    .invalidInput,
                    "field '\(field).\(name)': a positive amount under 1000000 with at most 12 decimal places")
            }
        }
        guard !minimumNotional.isNegative else {
            throw ServiceError(.invalidInput, "field '\(field).minimumNotional': zero or more")
        }
        return self
    }

    /// The number of ticks in `price`, or nil when the tick size does not divide it.
    public func ticks(in price: ExactDecimal) -> Int64? { Self.multiple(price, of: tickSize) }

    /// The number of lots in `quantity`, or nil when the lot size does not divide it.
    public func lots(in quantity: ExactDecimal) -> Int64? { Self.multiple(quantity, of: lotSize) }

    public func price(ticks: Int64) -> ExactDecimal { Self.times(tickSize, ticks) }
    public func quantity(lots: Int64) -> ExactDecimal { Self.times(lotSize, lots) }

    static func times(_ unit: ExactDecimal, _ count: Int64) -> ExactDecimal {
        ExactDecimal(significand: unit.significand * Int128(count), scale: unit.scale)
    }

    static func multiple(_ value: ExactDecimal, of unit: ExactDecimal) -> Int64? {
        let scale = max(value.significantScale, unit.significantScale)
        guard let a = value.rescaledExactly(to: scale), let b = unit.rescaledExactly(to: scale), b.significand != 0,
            a.significand % b.significand == 0
        else { return nil }
        return Int64(exactly: a.significand / b.significand)
    }
}
