public import ScryptexCore

/// A currency the ledger books, with its minor-unit precision.
public struct Currency: Sendable, Hashable, Codable, CustomStringConvertible {
    public let code: String
    /// Digits after the point in the currency's smallest unit (USD 2, JPY 0, BTC 8).
    public let precision: Int

    /// The currencies partners are paid in. Fiat precisions follow ISO 4217; crypto assets use
    /// their customary ledger precision.
    public static let known: [String: Int] = [
        "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "SGD": 2, "HKD": 2, "AUD": 2, "CAD": 2,
        "USDC": 6, "USDT": 6, "BTC": 8, "ETH": 8,
    ]

    /// - Throws: `ServiceError` naming the field for an unknown code.
    public init(_ code: String, field: String = "currency") throws(ServiceError) {
        guard let precision = Self.known[code] else {
            throw ServiceError(
                .invalidInput,
                "field '\(field)': unknown currency '\(code)'; known: \(Self.known.keys.sorted().joined(separator: ", "))"
            )
        }
        self.code = code
        self.precision = precision
    }

    public var description: String { code }

    public init(from decoder: any Decoder) throws {
        let code = try decoder.singleValueContainer().decode(String.self)
        try self.init(code)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(code)
    }
}

/// An exact amount in a currency. Never a binary float.
public struct Money: Sendable, Hashable, CustomStringConvertible {
    public var amount: ExactDecimal
    public var currency: Currency

    public init(_ amount: ExactDecimal, _ currency: Currency) {
        self.amount = amount
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(.zero, currency) }

    /// Rounded to the currency's precision with the ledger's rule (half-even: banker's rounding,
    /// which does not drift upwards over many postings).
    public var rounded: Money { Money(amount.rounded(toScale: currency.precision, rule: .halfEven), currency) }

    public var description: String { "\(amount.rounded(toScale: currency.precision, rule: .halfEven)) \(currency)" }

    public static func + (left: Money, right: Money) -> Money {
        precondition(left.currency == right.currency, "adding \(left.currency) to \(right.currency)")
        return Money(left.amount + right.amount, left.currency)
    }

    public static func - (left: Money, right: Money) -> Money {
        precondition(left.currency == right.currency, "subtracting \(right.currency) from \(left.currency)")
        return Money(left.amount - right.amount, left.currency)
    }

    public static prefix func - (value: Money) -> Money { Money(-value.amount, value.currency) }
}
