public import Foundation
import ScryptexCore

/// EMIR REFIT derivative trade reports as ISO 20022 `auth.030.001.03` (`DerivsTradRpt`): a
/// `New` for each derivative executed in the period, a `Mod` for each one amended in it, and a
/// `Termntn` (early termination) for each one cancelled in it; a period with none is reported
/// as `NOTX` (no transactions).
///
/// This is the generic ISO schema; ESMA's restricted usage-guideline variant (`_ESMAUG_`) adds
/// constraints that are not public in the material available here.
public enum EMIRTradeReport {
    public struct Derivative: Sendable, Equatable {
        public enum Action: String, Sendable {
            case new = "New", modify = "Mod", terminate = "Termntn"
            /// A trade reported in error (a bust): EMIR's `EROR`.
            case error = "Err"
        }

        public var action: Action
        public var tradeID: UUID
        public var executedAt: Date
        public var terminatedAt: Date?
        public var buy: Bool
        public var venueMIC: String?
        /// The other counterparty's LEI, when known.
        public var counterpartyLEI: String?

        public init(
            action: Action, tradeID: UUID, executedAt: Date, terminatedAt: Date?, buy: Bool, venueMIC: String?,
            counterpartyLEI: String?
        ) {
            self.action = action
            self.tradeID = tradeID
            self.executedAt = executedAt
            self.terminatedAt = terminatedAt
            self.buy = buy
            self.venueMIC = venueMIC
            self.counterpartyLEI = counterpartyLEI
        }
    }

    /// The unique transaction identifier: the generating entity's LEI and the trade's id.
    public static func uti(lei: String, tradeID: UUID) -> String {
        lei + tradeID.uuidString.replacingOccurrences(of: "-", with: "").uppercased()
    }

    public static func document(reportingLEI: String, derivatives: [Derivative], reportedAt: Date) -> String {
        let timestamp = ISO8601DateFormatter()
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
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
            let other =
                derivative.counterpartyLEI.map {
                    "<OthrCtrPty><IdTp><Lgl><Id><LEI>\($0)</LEI></Id></Lgl></IdTp></OthrCtrPty>"
                }
                ?? "<OthrCtrPty/>"
            var transaction = "<TxId><UnqTxIdr>\(uti(lei: reportingLEI, tradeID: derivative.tradeID))</UnqTxIdr></TxId>"
            transaction += "<PltfmIdr>\(derivative.venueMIC ?? "XXXX")</PltfmIdr>"
            transaction += "<ExctnTmStmp>\(Timestamp.formatMicroseconds(derivative.executedAt))</ExctnTmStmp>"
            transaction += "<FctvDt>\(day.string(from: derivative.executedAt))</FctvDt>"
            if let terminatedAt = derivative.terminatedAt, derivative.action == .terminate {
                transaction += "<EarlyTermntnDt>\(day.string(from: terminatedAt))</EarlyTermntnDt>"
            }
            xml += """
                      <Rpt>
                        <\(derivative.action.rawValue)>
                          <CtrPtySpcfcData>
                            <CtrPty>
                              <RptgCtrPty><Id><Lgl><Id><LEI>\(reportingLEI)</LEI></Id></Lgl></Id><DrctnOrSd><CtrPtySd>\(derivative.buy ? "BYER" : "SLLR")</CtrPtySd></DrctnOrSd></RptgCtrPty>
                              \(other)
                            </CtrPty>
                            <RptgTmStmp>\(timestamp.string(from: reportedAt))</RptgTmStmp>
                          </CtrPtySpcfcData>
                          <CmonTradData><TxData>\(transaction)</TxData></CmonTradData>
                        </\(derivative.action.rawValue)>
                      </Rpt>

                """
        }
        return xml + "    </TradData>\n  </DerivsTradRpt>\n</Document>\n"
    }
}
