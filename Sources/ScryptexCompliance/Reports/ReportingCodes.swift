import Foundation
import ScryptexCore
import ScryptexInstitutional

/// ISO 4217 currency codes in use (the active list; funds and precious-metal codes such as XAU
/// included, historic ones not). A stablecoin such as USDC or a coin such as BTC is not one: a
/// report that needs an ISO 4217 currency refuses an instrument priced in it.
public enum CurrencyCode {
    public static let all: Set<String> = Set(
        """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
        CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
        GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
        LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
        PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND
        TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XDR XOF
        XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))

    public static func isValid(_ code: String) -> Bool { all.contains(code) }

    /// The currency `symbol` is quoted in, as an ISO 4217 code, or an error naming the report and
    /// the instrument when it is quoted in something else (a stablecoin is not its peg).
    static func reportingCurrency(of symbol: String, for report: String) throws -> String {
        let quote = TradeCheckService.quoteCurrency(of: symbol)
        guard isValid(quote) else {
            throw ServiceError(
                .invalidInput,
                "\(report) need prices in an ISO 4217 currency: \(symbol) is quoted in \(quote), which is not one (a stablecoin is not the currency it tracks)"
            )
        }
        return quote
    }
}

/// The member states of the European Economic Area (the EU, Iceland, Liechtenstein, Norway), by
/// ISO 3166 code: where MiFIR transaction reporting applies.
public enum EconomicArea {
    public static let members: Set<String> = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
        "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    ]

    /// Whether a jurisdiction (`LU`, or a subdivision such as `US-DE`) is in the EEA.
    public static func contains(jurisdiction: String) -> Bool {
        members.contains(String(jurisdiction.prefix { $0 != "-" }))
    }
}

/// RTS 22 field 29: in what capacity the firm traded.
public enum TradingCapacity: String, Sendable, Codable, CaseIterable {
    /// Dealing on own account.
    case dealing = "DEAL"
    /// Matched principal trading.
    case matchedPrincipal = "MTCH"
    /// Any other capacity (on a client's behalf).
    case anyOther = "AOTC"
}

/// RTS 22 field 62: whether a sale was a short sale.
public enum ShortSellingIndicator: String, Sendable, Codable, CaseIterable {
    /// A short sale with no exemption.
    case shortSale = "SESH"
    /// A short sale under a market-making or primary-market exemption.
    case shortSaleExempt = "SSEX"
    /// Not a short sale.
    case notShort = "SELL"
    /// Not known (a client did not disclose it).
    case undisclosed = "UNDI"
}

/// Who decided or executed a trade (RTS 22 fields 57 and 59): an algorithm by its id, or a
/// natural person by a national identifier (its scheme and the country that issued it).
public struct ResponsibleParty: Sendable, Codable, Equatable {
    public var algorithm: String?
    public var person: String?
    public var country: String?
    /// `NIDN` (national identity number), `CCPT` (passport) or `CONCAT` (RTS 22's concatenation
    /// of birth date and names).
    public var scheme: String?

    public init(algorithm: String) {
        self.algorithm = algorithm
    }

    public init(person: String, country: String, scheme: String) {
        self.person = person
        self.country = country
        self.scheme = scheme
    }

    public static let schemes: Set<String> = ["NIDN", "CCPT", "CONCAT"]

    /// - Throws: `ServiceError` naming `field` and what is wrong.
    public func validate(field: String) throws {
        func bad(_ problem: String) -> ServiceError { ServiceError(.invalidInput, "field '\(field)': \(problem)") }
        switch (algorithm, person) {
        case (let algorithm?, nil):
            guard country == nil, scheme == nil else { throw bad("an algorithm has no country or scheme") }
            guard (1...50).contains(algorithm.count),
                algorithm.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else { throw bad("'algorithm' is its id: 1 to 50 letters, digits, '-', '_' or '.'") }
        case (nil, let person?):
            guard let country, CountryCode.isValid(country) else {
                throw bad("'country' is the ISO 3166 code of the country that issued the person's identifier")
            }
            guard let scheme, Self.schemes.contains(scheme) else {
                throw bad("'scheme' is NIDN, CCPT or CONCAT")
            }
            guard (1...35).contains(person.count),
                person.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "#") })
            else { throw bad("'person' is the identifier: 1 to 35 capital letters, digits or '#'") }
        default:
            throw bad("give either 'algorithm' or 'person' (with 'country' and 'scheme')")
        }
    }

    /// The ISO 20022 choice (`Algo` or `Prsn`) as RTS 22 reports it.
    var transactionReportXML: String {
        if let algorithm { return "<Algo>\(Form13F.escape(algorithm))</Algo>" }
        return
            "<Prsn><CtryOfBrnch>\(country ?? "")</CtryOfBrnch><Othr><Id>\(Form13F.escape(person ?? ""))</Id><SchmeNm><Prtry>\(scheme ?? "")</Prtry></SchmeNm></Othr></Prsn>"
    }
}

/// What a trade carries for transaction and trade reports beyond its economics.
public struct TradeReportingDetails: Sendable, Codable, Equatable {
    public var capacity: TradingCapacity?
    public var shortSelling: ShortSellingIndicator?
    public var decisionMaker: ResponsibleParty?
    public var executingPerson: ResponsibleParty?
    /// The other side's LEI (ISO 17442, checked).
    public var counterpartyLei: String?
    /// The central counterparty's LEI, when the trade is cleared.
    public var ccpLei: String?
    /// The trade is the market side of an aggregated order (RTS 22: `INTC` stands in for the
    /// clients it is later allocated to).
    public var aggregated: Bool?

    public init(
        capacity: TradingCapacity? = nil, shortSelling: ShortSellingIndicator? = nil,
        decisionMaker: ResponsibleParty? = nil, executingPerson: ResponsibleParty? = nil,
        counterpartyLei: String? = nil, ccpLei: String? = nil, aggregated: Bool? = nil
    ) {
        self.capacity = capacity
        self.shortSelling = shortSelling
        self.decisionMaker = decisionMaker
        self.executingPerson = executingPerson
        self.counterpartyLei = counterpartyLei
        self.ccpLei = ccpLei
        self.aggregated = aggregated
    }

    /// - Throws: `ServiceError` naming the first field that is wrong.
    public func validate(side: TradeCheckRequest.Side) throws {
        try decisionMaker?.validate(field: "decisionMaker")
        try executingPerson?.validate(field: "executingPerson")
        for (field, lei) in [("counterpartyLei", counterpartyLei), ("ccpLei", ccpLei)] {
            if let lei, !RegulatoryIdentifier.isValidLEI(lei) {
                throw ServiceError(
                    .invalidInput, "field '\(field)': '\(lei)' is not an LEI (\(RegulatoryIdentifier.rules["lei"]!))")
            }
        }
        if shortSelling != nil, side == .buy {
            throw ServiceError(.invalidInput, "field 'shortSelling': only a sale can be a short sale")
        }
    }
}
