public import Foundation
public import ScryptexCore

/// EMIR REFIT derivative trade reports as ISO 20022 `auth.030.001.03` (`DerivsTradRpt`), one file
/// per day (T+1): a `New` for each derivative executed that day, a `Mod` with the changed figures
/// for each amendment, an `Err` for a bust, a `Termntn` for an early termination, and a
/// `ValtnUpd` (mark-to-market at the day's reference price) for each derivative still
/// outstanding at its end; a day with none is reported as `NOTX`.
///
/// This is the generic ISO schema; ESMA's restricted usage-guideline variant (`_ESMAUG_`) adds
/// constraints that are not public in the material available here.
public enum EMIRTradeReport {
    public struct Derivative: Sendable, Equatable {
        public enum Action: String, Sendable {
            case new = "New", modify = "Mod", terminate = "Termntn", valuation = "ValtnUpd"
            /// A trade reported in error (a bust): EMIR's `EROR`.
            case error = "Err"
        }

        /// A contract's value to the reporting counterparty at a time (negative: a liability).
        public struct Valuation: Sendable, Equatable {
            public var amount: ExactDecimal
            public var at: Date

            public init(amount: ExactDecimal, at: Date) {
                self.amount = amount
                self.at = at
            }
        }

        public var action: Action
        public var tradeID: UUID
        public var executedAt: Date
        public var terminatedAt: Date?
        public var buy: Bool
        /// The venue's MIC; nil off venue (`XXXX`).
        public var venueMIC: String?
        /// The other counterparty's LEI.
        public var counterpartyLEI: String
        /// The CCP's LEI when cleared.
        public var ccpLEI: String?
        public var terms: DerivativeTerms
        /// Contracts traded.
        public var quantity: ExactDecimal
        public var price: ExactDecimal
        public var valuation: Valuation?

        public init(
            action: Action, tradeID: UUID, executedAt: Date, terminatedAt: Date?, buy: Bool, venueMIC: String?,
            counterpartyLEI: String, ccpLEI: String?, terms: DerivativeTerms, quantity: ExactDecimal,
            price: ExactDecimal, valuation: Valuation?
        ) {
            self.action = action
            self.tradeID = tradeID
            self.executedAt = executedAt
            self.terminatedAt = terminatedAt
            self.buy = buy
            self.venueMIC = venueMIC
            self.counterpartyLEI = counterpartyLEI
            self.ccpLEI = ccpLEI
            self.terms = terms
            self.quantity = quantity
            self.price = price
            self.valuation = valuation
        }

        /// Units of the underlying: contracts × multiplier.
        public func notionalQuantity() throws -> ExactDecimal {
            try quantity.multiplied(by: terms.contractSize, figure: "the notional quantity")
        }

        /// The notional amount: contracts × multiplier × price, in the notional currency.
        public func notionalAmount() throws -> ExactDecimal {
            try notionalQuantity().multiplied(by: price, figure: "the notional amount")
        }
    }

    /// The unique transaction identifier: the generating entity's LEI and the trade's id.
    public static func uti(lei: String, tradeID: UUID) -> String {
        lei + tradeID.uuidString.replacingOccurrences(of: "-", with: "").uppercased()
    }

    public static func document(
        reportingLEI: String, derivatives: [Derivative], reportedAt: Date
    ) throws -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:auth.030.001.03">
              <DerivsTradRpt>
                <RptHdr><NbRcrds>\(derivatives.count)</NbRcrds></RptHdr>
                <TradData>

            """
        if derivatives.isEmpty {
            xml += "      <DataSetActn>NOTX</DataSetActn>\n"
        }
        for derivative in derivatives {
            xml += try record(derivative, reportingLEI: reportingLEI, reportedAt: reportedAt)
        }
        return xml + "    </TradData>\n  </DerivsTradRpt>\n</Document>\n"
    }

    private static func record(_ derivative: Derivative, reportingLEI: String, reportedAt: Date) throws -> String {
        let terms = derivative.terms
        let currency = terms.notionalCurrency
        func amount(_ value: ExactDecimal) -> String { "<Amt Ccy=\"\(currency)\">\(value.normalized)</Amt>" }
        let legal = { (lei: String) in "<Lgl><Id><LEI>\(lei)</LEI></Id></Lgl>" }
        var valuation = ""
        if let value = derivative.valuation {
            let negative = value.amount.isNegative
            valuation =
                "<Valtn><CtrctVal>\(amount(negative ? -value.amount : value.amount))<Sgn>\(!negative)</Sgn></CtrctVal>"
                + "<TmStmp>\(Timestamp.format(value.at))</TmStmp><Tp>MTMA</Tp></Valtn>"
        }
        var product = ""
        if let isin = terms.isin { product += "<ISIN>\(isin)</ISIN>" }
        if let upi = terms.upi { product += "<UnqPdctIdr><Id>\(upi)</Id></UnqPdctIdr>" }
        let underlying = terms.underlyingIsin.map { "<ISIN>\($0)</ISIN>" } ?? "<IdNotAvlbl>UKWN</IdNotAvlbl>"
        let contract =
            "<CtrctData><CtrctTp>\(terms.contractType.rawValue)</CtrctTp><AsstClss>\(terms.assetClass.rawValue)</AsstClss>"
            + "<PdctClssfctn>\(terms.cfi)</PdctClssfctn><PdctId>\(product)</PdctId>"
            + "<UndrlygInstrm>\(underlying)</UndrlygInstrm><SttlmCcy><Ccy>\(currency)</Ccy></SttlmCcy></CtrctData>"
        var transaction = "<TxId><UnqTxIdr>\(uti(lei: reportingLEI, tradeID: derivative.tradeID))</UnqTxIdr></TxId>"
        transaction += "<PltfmIdr>\(derivative.venueMIC ?? "XXXX")</PltfmIdr>"
        transaction += "<TxPric><Pric><MntryVal>\(amount(derivative.price))</MntryVal></Pric>"
        transaction += "<PricMltplr>\(terms.contractSize.normalized)</PricMltplr></TxPric>"
        transaction += "<NtnlAmt><FrstLeg><Amt>\(amount(try derivative.notionalAmount()))</Amt></FrstLeg></NtnlAmt>"
        transaction +=
            "<NtnlQty><FrstLeg><TtlQty>\(try derivative.notionalQuantity().normalized)</TtlQty></FrstLeg></NtnlQty>"
        transaction += "<Qty><Unit>\(derivative.quantity.normalized)</Unit></Qty>"
        transaction += "<ExctnTmStmp>\(Timestamp.formatMicroseconds(derivative.executedAt))</ExctnTmStmp>"
        transaction += "<FctvDt>\(day(derivative.executedAt))</FctvDt>"
        transaction += "<XprtnDt>\(terms.maturity)</XprtnDt>"
        if let terminatedAt = derivative.terminatedAt, derivative.action == .terminate {
            transaction += "<EarlyTermntnDt>\(day(terminatedAt))</EarlyTermntnDt>"
        }
        transaction +=
            derivative.ccpLEI.map {
                "<TradClr><ClrSts><Clrd><Dtls><CCP><LEI>\($0)</LEI></CCP></Dtls></Clrd></ClrSts></TradClr>"
            }
            ?? "<TradClr><ClrSts><NonClrd><Rsn>NORE</Rsn></NonClrd></ClrSts></TradClr>"
        if let optionType = terms.optionType, let strike = terms.strike {
            transaction +=
                "<Optn><Tp>\(optionType == .call ? "CALL" : "PUTO")</Tp><StrkPric><MntryVal>\(amount(strike))</MntryVal></StrkPric></Optn>"
        }
        let action = derivative.action.rawValue
        return """
                  <Rpt>
                    <\(action)>
                      <CtrPtySpcfcData>
                        <CtrPty>
                          <RptgCtrPty><Id>\(legal(reportingLEI))</Id><DrctnOrSd><CtrPtySd>\(derivative.buy ? "BYER" : "SLLR")</CtrPtySd></DrctnOrSd></RptgCtrPty>
                          <OthrCtrPty><IdTp>\(legal(derivative.counterpartyLEI))</IdTp></OthrCtrPty>
                        </CtrPty>
                        \(valuation)<RptgTmStmp>\(Timestamp.format(reportedAt))</RptgTmStmp>
                      </CtrPtySpcfcData>
                      <CmonTradData>\(contract)<TxData>\(transaction)</TxData></CmonTradData>
                    </\(action)>
                  </Rpt>

            """
    }

    static func day(_ instant: Date) -> String { ReportPeriod.dayFormatter.string(from: instant) }
}
