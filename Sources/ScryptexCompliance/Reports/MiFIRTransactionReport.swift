public import Foundation
public import ScryptexCore

/// MiFIR RTS 22 transaction reports as ISO 20022 `auth.016.001.03`
/// (`FinInstrmRptgTxRpt`): one `New` per executed transaction (and per amended version of one),
/// one `Cxl` per cancelled report.
public enum MiFIRTransactionReport {
    /// A buyer or seller (RTS 22 fields 7 and 16).
    public enum Party: Sendable, Equatable {
        /// A legal entity.
        case lei(String)
        /// A trading venue, for an anonymous trade on it with no central counterparty.
        case venue(String)
        /// `INTC`: the firm's own aggregation account, for the market side of an aggregated order.
        case aggregation

        var xml: String {
            switch self {
            case .lei(let lei): "<AcctOwnr><Id><LEI>\(lei)</LEI></Id></AcctOwnr>"
            case .venue(let mic): "<AcctOwnr><Id><MIC>\(mic)</MIC></Id></AcctOwnr>"
            case .aggregation: "<AcctOwnr><Id><Intl>INTC</Intl></Id></AcctOwnr>"
            }
        }
    }

    public struct Execution: Sendable, Equatable {
        public var transactionID: String
        public var executedAt: Date
        public var buyer: Party
        public var seller: Party
        public var capacity: TradingCapacity
        public var quantity: ExactDecimal
        public var price: ExactDecimal
        /// ISO 4217.
        public var currency: String
        public var isin: String
        /// The trading venue's MIC, `XOFF` off venue.
        public var venueMIC: String
        /// Who in the firm decided (absent when a client decided).
        public var decisionMaker: ResponsibleParty?
        public var executingPerson: ResponsibleParty
        public var shortSelling: ShortSellingIndicator?

        public init(
            transactionID: String, executedAt: Date, buyer: Party, seller: Party, capacity: TradingCapacity,
            quantity: ExactDecimal, price: ExactDecimal, currency: String, isin: String, venueMIC: String,
            decisionMaker: ResponsibleParty?, executingPerson: ResponsibleParty, shortSelling: ShortSellingIndicator?
        ) {
            self.transactionID = transactionID
            self.executedAt = executedAt
            self.buyer = buyer
            self.seller = seller
            self.capacity = capacity
            self.quantity = quantity
            self.price = price
            self.currency = currency
            self.isin = isin
            self.venueMIC = venueMIC
            self.decisionMaker = decisionMaker
            self.executingPerson = executingPerson
            self.shortSelling = shortSelling
        }
    }

    /// One record of the file, in the order the events happened.
    public enum Record: Sendable, Equatable {
        case new(Execution)
        case cancel(transactionID: String)
    }

    /// A trade's transaction reference number (RTS 22 field 2): up to 52 capital letters and
    /// digits — its id without the dashes, and `V` and the version for an amended version.
    public static func transactionReference(_ tradeID: UUID, version: Int = 1) -> String {
        let reference = tradeID.uuidString.uppercased().replacingOccurrences(of: "-", with: "")
        return version == 1 ? reference : reference + "V\(version)"
    }

    /// The document; `firmLEI` is the executing and submitting entity. `records` must not be
    /// empty (the schema needs at least one transaction).
    public static func document(firmLEI: String, records: [Record]) -> String {
        precondition(!records.isEmpty, "an auth.016 document holds at least one transaction")
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:auth.016.001.03">
              <FinInstrmRptgTxRpt>

            """
        for record in records {
            switch record {
            case .new(let execution):
                xml += new(execution, firmLEI: firmLEI)
            case .cancel(let transactionID):
                xml += """
                        <Tx>
                          <Cxl>
                            <TxId>\(transactionID)</TxId>
                            <ExctgPty>\(firmLEI)</ExctgPty>
                            <SubmitgPty>\(firmLEI)</SubmitgPty>
                          </Cxl>
                        </Tx>

                    """
            }
        }
        return xml + "  </FinInstrmRptgTxRpt>\n</Document>\n"
    }

    private static func new(_ execution: Execution, firmLEI: String) -> String {
        let decision = execution.decisionMaker.map { "<InvstmtDcsnPrsn>\($0.transactionReportXML)</InvstmtDcsnPrsn>" }
        let shortSelling = execution.shortSelling.map { "<ShrtSellgInd>\($0.rawValue)</ShrtSellgInd>" }
        return """
                <Tx>
                  <New>
                    <TxId>\(execution.transactionID)</TxId>
                    <ExctgPty>\(firmLEI)</ExctgPty>
                    <InvstmtPtyInd>true</InvstmtPtyInd>
                    <SubmitgPty>\(firmLEI)</SubmitgPty>
                    <Buyr>\(execution.buyer.xml)</Buyr>
                    <Sellr>\(execution.seller.xml)</Sellr>
                    <OrdrTrnsmssn><TrnsmssnInd>false</TrnsmssnInd></OrdrTrnsmssn>
                    <Tx>
                      <TradDt>\(Timestamp.formatMicroseconds(execution.executedAt))</TradDt>
                      <TradgCpcty>\(execution.capacity.rawValue)</TradgCpcty>
                      <Qty><Unit>\(execution.quantity.normalized)</Unit></Qty>
                      <Pric><Pric><MntryVal><Amt Ccy="\(execution.currency)">\(execution.price.normalized)</Amt></MntryVal></Pric></Pric>
                      <TradVn>\(execution.venueMIC)</TradVn>
                    </Tx>
                    <FinInstrm><Id>\(execution.isin)</Id></FinInstrm>
                    \(decision ?? "")<ExctgPrsn>\(execution.executingPerson.transactionReportXML)</ExctgPrsn>
                    <AddtlAttrbts>\(shortSelling ?? "")<SctiesFincgTxInd>false</SctiesFincgTxInd></AddtlAttrbts>
                  </New>
                </Tx>

            """
    }
}
