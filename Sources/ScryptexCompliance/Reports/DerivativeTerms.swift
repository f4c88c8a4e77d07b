public import Foundation
public import ScryptexCore

/// The terms of a derivative instrument that trade reports (EMIR REFIT, Form 13F for options)
/// carry: what kind of contract it is, how it is identified, what it is on, when it ends, and for
/// options its type and strike. A trade's notional is quantity × price × `multiplier`.
public struct DerivativeTerms: Sendable, Codable, Equatable {
    /// EMIR contract types.
    public enum ContractType: String, Sendable, Codable, CaseIterable {
        case future = "FUTR", forward = "FORW", option = "OPTN", swap = "SWAP", contractForDifference = "CFDS"
        case other = "OTHR"
    }

    /// EMIR asset classes.
    public enum AssetClass: String, Sendable, Codable, CaseIterable {
        case credit = "CRDT", currency = "CURR", equity = "EQUI", interestRate = "INTR", commodity = "COMM"
    }

    public enum OptionType: String, Sendable, Codable, CaseIterable { case put, call }

    public var contractType: ContractType
    public var assetClass: AssetClass
    /// ISO 10962 classification (6 capital letters).
    public var cfi: String
    /// ISO 6166 identifier, for a contract that has one (listed derivatives).
    public var isin: String?
    /// The ISO 4914 unique product identifier, for one without an ISIN (OTC derivatives).
    public var upi: String?
    /// The underlying's ISIN, when it has one.
    public var underlyingIsin: String?
    /// The underlying as an instrument of the master (its prices value options for Form 13F).
    public var underlyingSymbol: String?
    /// The currency notional amounts are in (ISO 4217).
    public var notionalCurrency: String
    /// The last day of the contract, `2026-12-31`.
    public var maturity: String
    public var optionType: OptionType?
    public var strike: ExactDecimal?
    /// Units of the underlying per contract (1 when absent).
    public var multiplier: ExactDecimal?

    public init(
        contractType: ContractType, assetClass: AssetClass, cfi: String, isin: String? = nil, upi: String? = nil,
        underlyingIsin: String? = nil, underlyingSymbol: String? = nil, notionalCurrency: String, maturity: String,
        optionType: OptionType? = nil, strike: ExactDecimal? = nil, multiplier: ExactDecimal? = nil
    ) {
        self.contractType = contractType
        self.assetClass = assetClass
        self.cfi = cfi
        self.isin = isin
        self.upi = upi
        self.underlyingIsin = underlyingIsin
        self.underlyingSymbol = underlyingSymbol
        self.notionalCurrency = notionalCurrency
        self.maturity = maturity
        self.optionType = optionType
        self.strike = strike
        self.multiplier = multiplier
    }

    /// Units of the underlying per contract.
    public var contractSize: ExactDecimal { multiplier ?? ExactDecimal(1) }

    /// The maturity as an instant (its day's start, UTC), when it parses.
    public var maturityDate: Date? { Self.day(maturity) }

    static func day(_ text: String) -> Date? {
        guard text.count == 10 else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }

    /// - Throws: `ServiceError` naming the first field (under `derivative.`) that is wrong.
    public func validate() throws {
        func bad(_ field: String, _ problem: String) -> ServiceError {
            ServiceError(.invalidInput, "field 'derivative.\(field)': \(problem)")
        }
        guard cfi.count == 6, cfi.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw bad("cfi", "an ISO 10962 code: 6 capital letters, such as FFICSX")
        }
        // The CFI's first letter is the category: F futures, J forwards, O options, S swaps.
        let category: Character? =
            switch contractType {
            case .future: "F"
            case .forward: "J"
            case .option: "O"
            case .swap: "S"
            case .contractForDifference, .other: nil
            }
        if let category, cfi.first != category {
            throw bad("cfi", "a \(contractType.rawValue) contract's CFI starts with \(category), not '\(cfi)'")
        }
        if let isin, !ISIN.isValid(isin) { throw bad("isin", "'\(isin)' is not an ISIN") }
        if let underlyingIsin, !ISIN.isValid(underlyingIsin) {
            throw bad("underlyingIsin", "'\(underlyingIsin)' is not an ISIN")
        }
        if let upi,
            upi.count != 12 || !upi.hasPrefix("QZ")
                || !upi.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
        {
            throw bad("upi", "an ISO 4914 UPI: 12 capitals or digits starting QZ, not '\(upi)'")
        }
        guard isin != nil || upi != nil else {
            throw bad("isin", "a derivative is identified by its ISIN (listed) or its UPI (OTC): give one")
        }
        guard CurrencyCode.isValid(notionalCurrency) else {
            throw bad("notionalCurrency", "'\(notionalCurrency)' is not an ISO 4217 currency")
        }
        guard maturityDate != nil else { throw bad("maturity", "a date such as 2026-12-31, not '\(maturity)'") }
        if let multiplier, multiplier <= .zero { throw bad("multiplier", "must be greater than 0") }
        switch (contractType, optionType, strike) {
        case (.option, .some, let strike?):
            guard strike > .zero else { throw bad("strike", "must be greater than 0") }
        case (.option, _, _):
            throw bad("optionType", "an option needs 'optionType' (put or call) and 'strike'")
        case (_, nil, nil):
            break
        default:
            throw bad("optionType", "only an option has an option type and a strike")
        }
    }
}
