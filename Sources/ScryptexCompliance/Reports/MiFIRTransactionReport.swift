public import Foundation
public import ScryptexCore

/// MiFIR RTS 22 transaction reports as ISO 20022 `auth.016.001.03`
/// (`FinInstrmRptgTxRpt`): one `New` per executed transaction and one `Cxl` per cancelled one.
public enum MiFIRTransactionReport {
    public struct Execution: Sendable, Equatable {
        public var transactionID: String
        public var executedAt: Date
        public var buy: Bool
        public var quantity: ExactDecimal
        public var price: ExactDecimal
        public var currency: String
        public var isin: String
        /// The trading venue's MIC, or nil for an off-venue trade (`XOFF`).
        public var venueMIC: String?

        public init(
            transactionID: String, executedAt: Date, buy: Bool, quantity: ExactDecimal, price: ExactDecimal,
            currency: String, isin: String, venueMIC: String?
        ) {
            self.transactionID = transactionID
            self.executedAt = executedAt
            self.buy = buy
            self.quantity = quantity
            self.price = price
            self.currency = currency
            self.isin = isin
            self.venueMIC = venueMIC
        }
    }

    /// A trade's transaction reference number (RTS 22 field 2): up to 52 capital letters and
    /// digits — its id without the dashes.
    public static func transactionReference(_ tradeID: UUID) -> String {
        tradeID.uuidString.uppercased().replacingOccurrences(of: "-", with: "")
    }

    /// The document. `firmLEI` is the executing and submitting entity; the other side of each
    /// trade is the venue (its MIC) or, off venue, an internal counterparty (`INTC`).
    public static func document(firmLEI: String, new executions: [Execution], cancelled: [String]) -> String {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:auth.016.001.03">
              <FinInstrmRptgTxRpt>

            """
        for execution in executions {
            let us = "<AcctOwnr><Id><LEI>\(firmLEI)</LEI></Id></AcctOwnr>"
            let them =
                execution.venueMIC.map { "<AcctOwnr><Id><MIC>\($0)</MIC></Id></AcctOwnr>" }
                ?? "<AcctOwnr><Id><Intl>INTC</Intl></Id></AcctOwnr>"
            xml += """
                    <Tx>
                      <New>
                        <TxId>\(escape(execution.transactionID))</TxId>
                        <ExctgPty>\(firmLEI)</ExctgPty>
                        <InvstmtPtyInd>true</InvstmtPtyInd>
                        <SubmitgPty>\(firmLEI)</SubmitgPty>
                        <Buyr>\(execution.buy ? us : them)</Buyr>
                        <Sellr>\(execution.buy ? them : us)</Sellr>
                        <OrdrTrnsmssn><TrnsmssnInd>false</TrnsmssnInd></OrdrTrnsmssn>
                        <Tx>
                          <TradDt>\(Timestamp.formatMicroseconds(execution.executedAt))</TradDt>
                          <TradgCpcty>DEAL</TradgCpcty>
                          <Qty><Unit>\(execution.quantity.normalized)</Unit></Qty>
                          <Pric><Pric><MntryVal><Amt Ccy="\(execution.currency)">\(execution.price.normalized)</Amt></MntryVal></Pric></Pric>
                          <TradVn>\(execution.venueMIC ?? "XOFF")</TradVn>
                        </Tx>
                        <FinInstrm><Id>\(execution.isin)</Id></FinInstrm>
                        <ExctgPrsn><Algo>SCRYPTEX</Algo></ExctgPrsn>
                        <AddtlAttrbts><SctiesFincgTxInd>false</SctiesFincgTxInd></AddtlAttrbts>
                      </New>
                    </Tx>

                """
        }
        for transactionID in cancelled {
            xml += """
                    <Tx>
                      <Cxl>
                        <TxId>\(escape(transactionID))</TxId>
                        <ExctgPty>\(firmLEI)</ExctgPty>
                        <SubmitgPty>\(firmLEI)</SubmitgPty>
                      </Cxl>
                    </Tx>

                """
        }
        return xml + "  </FinInstrmRptgTxRpt>\n</Document>\n"
    }

    static func escape(_ text: String) -> String { Form13F.escape(text) }
}
