public import Foundation
public import ScryptexCore
public import ScryptexPostgres

/// Where a party is paid: the holder, its bank (BIC) and its account (an IBAN or another
/// number).
public struct SettlementParty: Sendable, Equatable {
    public var holder: String
    public var bic: String
    public var account: String

    public init(holder: String, bic: String, account: String) {
        self.holder = holder
        self.bic = bic
        self.account = account
    }
}

/// ISO 20022 messages of fiat settlement: the `pacs.008` (FI to FI customer credit transfer,
/// version 08) a payment goes out as, and the `camt.054` (bank to customer debit/credit
/// notification) the bank confirms bookings with.
public enum ISO20022 {
    public static let pacs008Namespace = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"
    static let camt054NamespacePrefix = "urn:iso:std:iso:20022:tech:xsd:camt.054."

    /// One payment, as the pacs.008 carries it.
    public struct CreditTransfer: Sendable, Equatable {
        public var messageID: String
        public var createdAt: Date
        public var instructionID: String
        public var endToEndID: String
        public var uetr: UUID
        public var amount: ExactDecimal
        public var currency: String
        public var valueDate: PostgresDate
        public var debtor: SettlementParty
        public var creditor: SettlementParty
        public var remittance: String
    }

    /// `[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}` with a valid ISO 13616 check (mod 97 = 1).
    static func isIBAN(_ account: String) -> Bool {
        let characters = Array(account)
        guard (5...34).contains(characters.count), characters[0...1].allSatisfy({ $0.isASCII && $0.isUppercase }),
            characters[2...3].allSatisfy({ $0.isASCII && $0.isNumber }),
            characters.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { return false }
        var remainder = 0
        for character in characters[4...] + characters[0..<4] {
            let value =
                character.isNumber
                ? Int(String(character))! : Int(character.uppercased().unicodeScalars.first!.value) - 55
            for digit in String(value) { remainder = (remainder * 10 + Int(String(digit))!) % 97 }
        }
        return remainder == 1
    }

    /// The pacs.008.001.08 document of one credit transfer (settlement method INDA, charges
    /// shared).
    public static func pacs008(_ transfer: CreditTransfer) -> String {
        func text(_ value: String) -> String { Markup.escape(value) }
        func account(_ party: SettlementParty) -> String {
            isIBAN(party.account)
                ? "<Id><IBAN>\(text(party.account))</IBAN></Id>"
                : "<Id><Othr><Id>\(text(party.account))</Id></Othr></Id>"
        }
        let created = Timestamp.format(transfer.createdAt)
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="\(pacs008Namespace)">
              <FIToFICstmrCdtTrf>
                <GrpHdr>
                  <MsgId>\(text(transfer.messageID))</MsgId>
                  <CreDtTm>\(created)</CreDtTm>
                  <NbOfTxs>1</NbOfTxs>
                  <SttlmInf><SttlmMtd>INDA</SttlmMtd></SttlmInf>
                </GrpHdr>
                <CdtTrfTxInf>
                  <PmtId>
                    <InstrId>\(text(transfer.instructionID))</InstrId>
                    <EndToEndId>\(text(transfer.endToEndID))</EndToEndId>
                    <UETR>\(transfer.uetr.uuidString.lowercased())</UETR>
                  </PmtId>
                  <IntrBkSttlmAmt Ccy="\(text(transfer.currency))">\(transfer.amount.rounded(toScale: 2))</IntrBkSttlmAmt>
                  <IntrBkSttlmDt>\(transfer.valueDate)</IntrBkSttlmDt>
                  <ChrgBr>SHAR</ChrgBr>
                  <Dbtr><Nm>\(text(transfer.debtor.holder))</Nm></Dbtr>
                  <DbtrAcct>\(account(transfer.debtor))</DbtrAcct>
                  <DbtrAgt><FinInstnId><BICFI>\(text(transfer.debtor.bic))</BICFI></FinInstnId></DbtrAgt>
                  <CdtrAgt><FinInstnId><BICFI>\(text(transfer.creditor.bic))</BICFI></FinInstnId></CdtrAgt>
                  <Cdtr><Nm>\(text(transfer.creditor.holder))</Nm></Cdtr>
                  <CdtrAcct>\(account(transfer.creditor))</CdtrAcct>
                  <RmtInf><Ustrd>\(text(String(transfer.remittance.prefix(140))))</Ustrd></RmtInf>
                </CdtTrfTxInf>
              </FIToFICstmrCdtTrf>
            </Document>

            """
    }

    /// One booking a camt.054 reports (one transaction of an entry).
    public struct Booking: Sendable, Equatable {
        /// Unique within the bank's notifications: the notification's id, the entry and the
        /// transaction's place in it.
        public var key: String
        public var endToEndID: String?
        public var uetr: String?
        public var amount: ExactDecimal
        public var currency: String
        /// A credit to the account (money received); false: a debit (money paid).
        public var isCredit: Bool
        /// The entry reverses an earlier booking (a payment returned).
        public var isReversal: Bool
        /// Booked (`BOOK`); otherwise pending or information only.
        public var isBooked: Bool
    }

    public struct MessageError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the bookings of a camt.054 (any version of the message).
    public static func camt054Bookings(_ data: Data) throws -> [Booking] {
        let document: XMLTreeElement
        do {
            document = try XMLTreeElement.parse(data)
        } catch {
            throw MessageError(description: "\(error)")
        }
        guard document.name == "Document", document.namespace?.hasPrefix(camt054NamespacePrefix) == true,
            let body = document.child("BkToCstmrDbtCdtNtfctn")
        else {
            throw MessageError(
                description:
                    "not a camt.054 (expected Document/BkToCstmrDbtCdtNtfctn in namespace \(camt054NamespacePrefix)…)")
        }
        var bookings: [Booking] = []
        for (noteIndex, notification) in body.children("Ntfctn").enumerated() {
            let noteID = notification.value("Id") ?? "notification-\(noteIndex + 1)"
            for (entryIndex, entry) in notification.children("Ntry").enumerated() {
                let entryID = entry.value("NtryRef") ?? "\(entryIndex + 1)"
                guard let amountElement = entry.child("Amt"), let currency = amountElement.attributes["Ccy"],
                    let entryAmount = try? ExactDecimal(
                        parsing: amountElement.text.trimmingCharacters(in: .whitespaces))
                else {
                    throw MessageError(description: "entry \(entryID) of \(noteID): Amt with a Ccy is required")
                }
                guard let indicator = entry.value("CdtDbtInd"), ["CRDT", "DBIT"].contains(indicator) else {
                    throw MessageError(description: "entry \(entryID) of \(noteID): CdtDbtInd must be CRDT or DBIT")
                }
                // `Sts` is a code in the later versions (`Sts/Cd`), text in the first ones.
                let status = entry.value("Sts", "Cd") ?? entry.value("Sts") ?? ""
                let reversal = entry.value("RvslInd") == "true"
                let transactions = entry.children("NtryDtls").flatMap { $0.children("TxDtls") }
                let details = transactions.isEmpty ? [nil] : transactions.map { Optional($0) }
                for (index, transaction) in details.enumerated() {
                    var amount = entryAmount
                    if let transaction, let own = transaction.child("Amt") ?? transaction.at("AmtDtls", "TxAmt", "Amt"),
                        let value = try? ExactDecimal(parsing: own.text.trimmingCharacters(in: .whitespaces))
                    {
                        amount = value
                    }
                    bookings.append(
                        Booking(
                            key: "\(noteID)/\(entryID)/\(index + 1)",
                            endToEndID: transaction?.value("Refs", "EndToEndId"),
                            uetr: transaction?.value("Refs", "UETR"), amount: amount.normalized, currency: currency,
                            isCredit: indicator == "CRDT", isReversal: reversal, isBooked: status == "BOOK"))
                }
            }
        }
        return bookings
    }
}
