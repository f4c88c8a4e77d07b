public import Foundation
public import ScryptexCore
public import ScryptexInstitutional
public import ScryptexPostgres

/// The tenant's reference data the checks and reports read: reference prices, the restricted
/// list, the instrument master, and stored check records.
public struct ComplianceReferenceData: Sendable {
    public init() {}

    /// Records the market price of `symbol` at `asOf` (default: now). Every price is kept with
    /// its time, so reports value holdings at the price of their valuation date; the latest one
    /// is also the reference the fat-finger and best-execution checks compare against.
    public func setReferencePrice(
        _ price: ExactDecimal, of symbol: String, asOf: Date? = nil, audit: any AuditSink,
        in transaction: PostgresTransaction, now: Date = Date()
    ) async throws {
        guard price > .zero else { throw ServiceError(.invalidInput, "field 'price': must be greater than 0") }
        let asOf = asOf ?? now
        guard asOf <= now.addingTimeInterval(60) else {
            throw ServiceError(.invalidInput, "field 'asOf': \(Timestamp.format(asOf)) is in the future")
        }
        try await requireInstrument(symbol, in: transaction)
        try await transaction.execute(
            """
            INSERT INTO market_prices (symbol, as_of, price) VALUES (\(symbol), \(asOf), \(price))
            ON CONFLICT (symbol, as_of) DO UPDATE SET price = EXCLUDED.price, recorded_at = now()
            """
        )
        // The current reference is the latest price; an older one only fills the history.
        try await transaction.execute(
            """
            INSERT INTO reference_prices (symbol, price, as_of) VALUES (\(symbol), \(price), \(asOf))
            ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, as_of = EXCLUDED.as_of
                WHERE reference_prices.as_of <= EXCLUDED.as_of
            """
        )
        try await audit.record(
            "compliance.reference_price_set", objectType: "instrument", objectID: symbol, accountID: nil,
            details: ["price": price.description, "asOf": Timestamp.format(asOf)], in: transaction)
    }

    /// Records what one unit of `currency` was worth in US dollars at `asOf` (default: now).
    public func setFXRate(
        _ usdPerUnit: ExactDecimal, of currency: String, asOf: Date? = nil, audit: any AuditSink,
        in transaction: PostgresTransaction, now: Date = Date()
    ) async throws {
        guard (2...10).contains(currency.count), currency.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) })
        else {
            throw ServiceError(.invalidInput, "field 'currency': a code in capitals such as EUR, BTC or USDC")
        }
        guard currency != "USD" else { throw ServiceError(.invalidInput, "field 'currency': USD is worth 1 USD") }
        guard usdPerUnit > .zero else {
            throw ServiceError(.invalidInput, "field 'usdPerUnit': must be greater than 0")
        }
        let asOf = asOf ?? now
        guard asOf <= now.addingTimeInterval(60) else {
            throw ServiceError(.invalidInput, "field 'asOf': \(Timestamp.format(asOf)) is in the future")
        }
        try await transaction.execute(
            """
            INSERT INTO fx_rates (currency, as_of, usd_per_unit) VALUES (\(currency), \(asOf), \(usdPerUnit))
            ON CONFLICT (currency, as_of) DO UPDATE SET usd_per_unit = EXCLUDED.usd_per_unit, recorded_at = now()
            """
        )
        try await audit.record(
            "compliance.fx_rate_set", objectType: "currency", objectID: currency, accountID: nil,
            details: ["usdPerUnit": usdPerUnit.description, "asOf": Timestamp.format(asOf)], in: transaction)
    }

    /// What one unit of `currency` is worth in US dollars at `instant`: 1 for USD, else the latest
    /// FX rate recorded before it, else the latest market price of the instrument `<currency>/USD`;
    /// nil when there is neither (a stablecoin is not taken as a dollar).
    public static func usdPerUnit(
        of currency: String, at instant: Date, in transaction: PostgresTransaction
    ) async throws -> ExactDecimal? {
        if currency == "USD" { return ExactDecimal(1) }
        let row = try await transaction.query(
            """
            SELECT (SELECT usd_per_unit FROM fx_rates WHERE currency = \(currency) AND as_of <= \(instant)
                    ORDER BY as_of DESC LIMIT 1)::text AS fx,
                   (SELECT price FROM market_prices WHERE symbol = \(currency + "/USD") AND as_of <= \(instant)
                    ORDER BY as_of DESC LIMIT 1)::text AS market
            """
        ).firstRow
        guard let text = try row.decode("fx", as: String?.self) ?? row.decode("market", as: String?.self) else {
            return nil
        }
        return try ExactDecimal(parsing: text).normalized
    }

    /// `usdPerUnit(of:at:in:)` for many (currency, instant) pairs in one round trip, by the same
    /// rule; the answer has one element per pair, in order (nil: no rate).
    public static func usdPerUnit(
        of pairs: [(currency: String, instant: Date)], in transaction: PostgresTransaction
    ) async throws -> [ExactDecimal?] {
        guard !pairs.isEmpty else { return [] }
        let rows = try await transaction.query(
            """
            SELECT w.n,
                   CASE WHEN w.c = 'USD' THEN '1' ELSE
                       coalesce((SELECT usd_per_unit FROM fx_rates WHERE currency = w.c AND as_of <= w.t
                                 ORDER BY as_of DESC LIMIT 1)::text,
                                (SELECT price FROM market_prices WHERE symbol = w.c || '/USD' AND as_of <= w.t
                                 ORDER BY as_of DESC LIMIT 1)::text) END AS rate
            FROM unnest(\(pairs.map(\.currency))::text[], \(pairs.map(\.instant))::timestamptz[])
                WITH ORDINALITY AS w (c, t, n)
            ORDER BY w.n
            """)
        return try rows.map { row in
            try row.decode("rate", as: String?.self).map { try ExactDecimal(parsing: $0).normalized }
        }
    }

    /// Puts an instrument on the restricted list: every trade in it is rejected.
    public func restrict(
        _ symbol: String, reason: String, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        guard (3...300).contains(reason.count) else {
            throw ServiceError(.invalidInput, "field 'reason': 3 to 300 characters")
        }
        try await requireInstrument(symbol, in: transaction)
        try await transaction.execute(
            """
            INSERT INTO restricted_instruments (symbol, reason) VALUES (\(symbol), \(reason))
            ON CONFLICT (symbol) DO UPDATE SET reason = EXCLUDED.reason, added_at = now()
            """
        )
        try await audit.record(
            "compliance.instrument_restricted", objectType: "instrument", objectID: symbol, accountID: nil,
            details: ["reason": reason], in: transaction)
    }

    /// A trading venue: its ISO 10383 MIC, its name and country (nil for XOFF and XXXX).
    public struct TradingVenue: Sendable, Codable, Equatable {
        public var mic: String
        public var name: String
        public var country: String?

        public init(mic: String, name: String, country: String?) {
            self.mic = mic
            self.name = name
            self.country = country
        }
    }

    /// Adds a venue the tenant trades on (or renames it).
    public func register(_ venue: TradingVenue, audit: any AuditSink, in transaction: PostgresTransaction) async throws
    {
        guard venue.mic.count == 4, venue.mic.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }) else {
            throw ServiceError(.invalidInput, "field 'mic': an ISO 10383 MIC is 4 capital letters or digits")
        }
        guard (1...200).contains(venue.name.count) else {
            throw ServiceError(.invalidInput, "field 'name': 1 to 200 characters")
        }
        guard let country = venue.country, CountryCode.isValid(country) else {
            throw ServiceError(.invalidInput, "field 'country': the venue's ISO 3166 country code, such as DE")
        }
        try await transaction.execute(
            """
            INSERT INTO trading_venues (mic, name, country) VALUES (\(venue.mic), \(venue.name), \(country))
            ON CONFLICT (mic) DO UPDATE SET name = EXCLUDED.name, country = EXCLUDED.country
            """
        )
        try await audit.record(
            "compliance.venue_registered", objectType: "venue", objectID: venue.mic, accountID: nil,
            details: ["name": venue.name, "country": country], in: transaction)
    }

    public func venues(in transaction: PostgresTransaction) async throws -> [TradingVenue] {
        try await transaction.query("SELECT mic, name, country FROM trading_venues ORDER BY mic").map {
            TradingVenue(
                mic: try $0.decode("mic", as: String.self), name: try $0.decode("name", as: String.self),
                country: try $0.decode("country", as: String?.self))
        }
    }

    /// The MIC a booked or checked venue stands for: any case, a venue the tenant knows.
    /// - Throws: `ServiceError` naming the field when it is not a known MIC.
    public static func venueMIC(
        _ venue: String?, field: String = "venue", in transaction: PostgresTransaction
    ) async throws -> String? {
        guard let venue else { return nil }
        let mic = venue.uppercased()
        let known = try await transaction.query("SELECT 1 AS known FROM trading_venues WHERE mic = \(mic)")
        guard !known.isEmpty else { throw unknownVenue(venue, field: field) }
        return mic
    }

    /// The refusal of a venue that is not a MIC the tenant knows.
    static func unknownVenue(_ venue: String, field: String = "venue") -> ServiceError {
        ServiceError(
            .invalidInput,
            "field '\(field)': '\(venue)' is not a known market identifier code (ISO 10383); use XOFF off venue, or register the venue at /api/enterprise/compliance/venues"
        )
    }

    private func requireInstrument(_ symbol: String, in transaction: PostgresTransaction) async throws {
        guard try await TradeCheckService.instrumentExists(symbol, in: transaction) else {
            throw ServiceError(.invalidInput, "field 'symbol': unknown instrument '\(symbol)'")
        }
    }

    /// An instrument as the master stores it.
    public struct InstrumentDefinition: Decodable, Sendable {
        public var symbol: String
        public var priceDecimals: Int
        public var quantityDecimals: Int
        public var is13FSecurity: Bool?
        public var cusip: String?
        public var issuerName: String?
        public var titleOfClass: String?
        public var isin: String?
        public var reportableLevel: ExactDecimal?
        public var isDerivative: Bool?
        /// The terms of a derivative (contract type, identifiers, maturity…): every derivative
        /// reported under EMIR needs them.
        public var derivative: DerivativeTerms?
        /// Admitted to trading or traded on an EEA venue: its trades are in MiFIR's scope
        /// wherever they are executed.
        public var tradedInEEA: Bool?
        /// A contract the CFTC's large-trader reporting covers (a US futures or options contract).
        public var cftcReportable: Bool?

        /// Throws naming the first field that is not valid.
        func validate() throws {
            if let isin, !ISIN.isValid(isin) {
                throw ServiceError(
                    .invalidInput,
                    "field 'isin': '\(isin)' is not an ISIN (2 letters, 9 letters or digits, a check digit that verifies)"
                )
            }
            guard Instrument.isValidSymbol(symbol) else {
                throw ServiceError(.invalidInput, "field 'symbol': BASE/QUOTE in capitals, such as ETH/USDC")
            }
            guard (0...18).contains(priceDecimals), (0...18).contains(quantityDecimals) else {
                throw ServiceError(.invalidInput, "fields 'priceDecimals' and 'quantityDecimals': 0 to 18")
            }
            if let derivative {
                try derivative.validate()
                if isDerivative == false {
                    throw ServiceError(
                        .invalidInput, "field 'isDerivative': an instrument with derivative terms is one")
                }
            }
            if let reportableLevel {
                guard reportableLevel > .zero else {
                    throw ServiceError(
                        .invalidInput, "field 'reportableLevel': the number of contracts that is reportable, above 0")
                }
                try DecimalLimits.stored.check(reportableLevel, field: "reportableLevel")
            }
            if let derivative {
                for (field, value) in [("strike", derivative.strike), ("multiplier", derivative.multiplier)] {
                    if let value { try DecimalLimits.stored.check(value, field: "derivative.\(field)") }
                }
            }
            if cftcReportable == true, reportableLevel == nil {
                throw ServiceError(
                    .invalidInput, "field 'reportableLevel': a CFTC-reportable contract needs its reportable level")
            }
            guard is13FSecurity == true else { return }
            guard let cusip else {
                throw ServiceError(.invalidInput, "field 'cusip': a 13(f) security needs its 9-character CUSIP")
            }
            guard CUSIP.isValid(cusip) else {
                throw ServiceError(
                    .invalidInput,
                    "field 'cusip': '\(cusip)' is not a CUSIP (8 capital letters or digits and a check digit that verifies)"
                )
            }
            guard let issuerName, (1...150).contains(issuerName.count), let titleOfClass,
                (1...150).contains(titleOfClass.count)
            else {
                throw ServiceError(
                    .invalidInput,
                    "fields 'issuerName' and 'titleOfClass': a 13(f) security needs both (1 to 150 characters)")
            }
            // EDGAR accepts only these characters in the information table's names.
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !\\#$(),.:;`=@'-{}|/&")
            for (field, value) in [("issuerName", issuerName), ("titleOfClass", titleOfClass)]
            where !value.allSatisfy({ allowed.contains($0) }) {
                throw ServiceError(
                    .invalidInput,
                    "field '\(field)': EDGAR allows only letters, digits, spaces and !\\#$(),.:;`=@'-{}|/&")
            }
        }
    }

    /// Adds an instrument to the master or replaces its definition.
    public func save(
        _ instrument: InstrumentDefinition, audit: any AuditSink, in transaction: PostgresTransaction
    ) async throws {
        try instrument.validate()
        try await transaction.execute(
            """
            INSERT INTO instruments
                (symbol, price_decimals, quantity_decimals, is_13f_security, cusip, issuer_name, title_of_class, isin,
                 reportable_level, is_derivative, derivative_terms, traded_in_eea, cftc_reportable)
            VALUES (\(instrument.symbol), \(instrument.priceDecimals), \(instrument.quantityDecimals),
                    \(instrument.is13FSecurity ?? false), \(instrument.cusip), \(instrument.issuerName),
                    \(instrument.titleOfClass), \(instrument.isin), \(instrument.reportableLevel),
                    \(instrument.isDerivative ?? (instrument.derivative != nil)),
                    \(try instrument.derivative.map { try PostgresJSON(encoding: $0) })::jsonb,
                    \(instrument.tradedInEEA ?? false), \(instrument.cftcReportable ?? false))
            ON CONFLICT (symbol) DO UPDATE SET price_decimals = EXCLUDED.price_decimals,
                quantity_decimals = EXCLUDED.quantity_decimals, is_13f_security = EXCLUDED.is_13f_security,
                cusip = EXCLUDED.cusip, issuer_name = EXCLUDED.issuer_name, title_of_class = EXCLUDED.title_of_class,
                isin = EXCLUDED.isin, reportable_level = EXCLUDED.reportable_level,
                is_derivative = EXCLUDED.is_derivative, derivative_terms = EXCLUDED.derivative_terms,
                traded_in_eea = EXCLUDED.traded_in_eea, cftc_reportable = EXCLUDED.cftc_reportable
            """
        )
        try await audit.record(
            "instrument.saved", objectType: "instrument", objectID: instrument.symbol, accountID: nil,
            details: ["is13FSecurity": String(instrument.is13FSecurity ?? false)], in: transaction)
    }

    /// A stored check's record as one JSON object (its request and outcome as stored), or nil.
    public func record(_ id: UUID, in transaction: PostgresTransaction) async throws -> String? {
        guard
            let row = try await transaction.query(
                """
                SELECT kind, decision, request::text AS request, outcome::text AS outcome, checked_by
                FROM compliance_records WHERE id = \(id)
                """
            ).first
        else { return nil }
        return "{\"id\":\(JSONString.quoted(id.uuidString.lowercased())),"
            + "\"kind\":\(JSONString.quoted(try row.decode("kind", as: String.self))),"
            + "\"decision\":\(JSONString.quoted(try row.decode("decision", as: String.self))),"
            + "\"checkedBy\":\(JSONString.quoted(try row.decode("checked_by", as: String.self))),"
            + "\"request\":\(try row.decode("request", as: String.self)),"
            + "\"outcome\":\(try row.decode("outcome", as: String.self))}"
    }
}

/// CUSIPs (ANSI X9.6): 6 characters of issuer, 2 of issue, a check digit — the "modulus 10
/// double add double" sum over the first eight (digits as themselves, A = 10 … Z = 35, `*` 36,
/// `@` 37, `#` 38; every second one doubled; the digits of each product added).
public enum CUSIP {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 9, let check = (bytes[8] >= 48 && bytes[8] <= 57) ? Int(bytes[8] - 48) : nil else {
            return false
        }
        var sum = 0
        for (position, byte) in bytes[0..<8].enumerated() {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: "*"): value = 36
            case UInt8(ascii: "@"): value = 37
            case UInt8(ascii: "#"): value = 38
            default: return false
            }
            let weighted = position % 2 == 1 ? value * 2 : value
            sum += weighted / 10 + weighted % 10
        }
        return (10 - sum % 10) % 10 == check
    }
}

/// ISO 6166 identifiers: country code, 9 alphanumerics and a Luhn check digit over the digits
/// with letters expanded (A = 10 … Z = 35).
public enum ISIN {
    public static func isValid(_ text: String) -> Bool {
        let characters = Array(text)
        guard characters.count == 12, characters[0...1].allSatisfy({ $0.isASCII && $0.isUppercase }),
            characters[2...10].allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber) }),
            let check = characters[11].wholeNumberValue
        else { return false }
        var digits: [Int] = []
        for character in characters[0...10] {
            if let digit = character.wholeNumberValue {
                digits.append(digit)
            } else {
                let value = Int(character.asciiValue! - Character("A").asciiValue!) + 10
                digits.append(value / 10)
                digits.append(value % 10)
            }
        }
        var sum = 0
        for (position, digit) in digits.reversed().enumerated() {
            let doubled = position % 2 == 0 ? digit * 2 : digit
            sum += doubled > 9 ? doubled - 9 : doubled
        }
        return (10 - sum % 10) % 10 == check
    }
}
