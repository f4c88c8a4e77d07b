import Foundation
import ScryptexCore
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@testable import ScryptexTradFi

@Suite("Settlement calendars and ISO 20022 messages")
struct SettlementMessageTests {
    static func day(_ text: String) -> PostgresDate { PostgresDate(iso8601: text)! }

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Value dates: the currency's cycle in business days, weekends and holidays skipped, a trade
    /// on a weekend counted from Monday, an instruction past the cut-off rolled to the next day.
    @Test func valueDatesFollowTheCycleTheCalendarAndTheCutOff() throws {
        let usd = try #require(SettlementCalendar(currency: "USD"))
        // Friday, T+1: Monday.
        #expect(
            usd.valueDate(tradeDate: Self.day("2026-12-04"), instructedAt: Self.instant("2026-12-04T12:00:00Z"))
                == (Self.day("2026-12-07"), false))
        // Saturday: counted from Monday, T+1 Tuesday.
        #expect(
            usd.valueDate(tradeDate: Self.day("2026-12-05"), instructedAt: Self.instant("2026-12-05T12:00:00Z")).date
                == Self.day("2026-12-08"))
        // Instructed on the value date after its 22:00 UTC cut-off: the next business day.
        #expect(
            usd.valueDate(tradeDate: Self.day("2026-12-04"), instructedAt: Self.instant("2026-12-07T22:30:00Z"))
                == (Self.day("2026-12-08"), true))
        // EUR, T+2 over Christmas and Boxing Day recorded as holidays.
        let euro = try #require(
            SettlementCalendar(currency: "EUR", holidays: [Self.day("2026-12-25"), Self.day("2026-12-28")]))
        #expect(
            euro.valueDate(tradeDate: Self.day("2026-12-24"), instructedAt: Self.instant("2026-12-24T09:00:00Z")).date
                == Self.day("2026-12-30"))
        #expect(SettlementCalendar(currency: "USDT") == nil)
    }

    @Test func ibanCheckDigitsAreVerified() {
        #expect(ISO20022.isIBAN("DE89370400440532013000"))
        #expect(ISO20022.isIBAN("GB82WEST12345698765432"))
        #expect(!ISO20022.isIBAN("DE89370400440532013001"))
        #expect(!ISO20022.isIBAN("123456789"))
    }

    static func transfer(creditorAccount: String) -> ISO20022.CreditTransfer {
        ISO20022.CreditTransfer(
            messageID: "SCX0001", createdAt: Self.instant("2026-12-04T15:30:00Z"), instructionID: "SET-1",
            endToEndID: "SET-1", uetr: UUID(uuidString: "6f1c8a5e-3b7d-4c2a-9e1f-0a2b3c4d5e6f")!,
            amount: ExactDecimal(significand: 240_050, scale: 2), currency: "USD", valueDate: Self.day("2026-12-07"),
            debtor: SettlementParty(holder: "Acme Fund <LP> & Co", bic: "DEUTDEFF", account: "DE89370400440532013000"),
            creditor: SettlementParty(holder: "Prime Broker A", bic: "CHASUS33XXX", account: creditorAccount),
            remittance: "Net settlement SET-1")
    }

    /// The pacs.008 validates against ISO's schema (IBAN and other account numbers, names that need
    /// escaping); the schema refuses a document missing its debtor, so the check can fail.
    @Test func thePacs008ValidatesAgainstTheOfficialSchema() async throws {
        let schema = try await XMLSchemas.pacs008()
        for account in ["987654321", "GB82WEST12345698765432"] {
            let document = ISO20022.pacs008(Self.transfer(creditorAccount: account))
            let (status, output) = try await XMLSchemas.validate(document, schema: schema)
            #expect(status == 0, "xmllint: \(output)\n\(document)")
            #expect(document.contains(#"<IntrBkSttlmAmt Ccy="USD">2400.50</IntrBkSttlmAmt>"#))
            #expect(document.contains("Acme Fund &lt;LP&gt; &amp; Co"))
        }
        let broken = ISO20022.pacs008(Self.transfer(creditorAccount: "1")).replacingOccurrences(
            of: "<Dbtr><Nm>Acme Fund &lt;LP&gt; &amp; Co</Nm></Dbtr>", with: "")
        #expect(try await XMLSchemas.validate(broken, schema: schema).status != 0)
    }

    /// Bookings are read from a camt.054 of version 08 (status as a code, amounts per
    /// transaction) and of version 02 (status as text); anything else is refused with a reason.
    @Test func camt054BookingsAreReadFromEitherVersion() throws {
        let modern = """
            <?xml version="1.0"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
              <GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-12-07T10:00:00Z</CreDtTm></GrpHdr>
              <Ntfctn><Id>NTF-1</Id>
                <Ntry><NtryRef>E1</NtryRef><Amt Ccy="USD">3000.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
                  <Sts><Cd>BOOK</Cd></Sts>
                  <NtryDtls><TxDtls><Refs><EndToEndId>SET-1</EndToEndId></Refs><Amt Ccy="USD">2400.50</Amt></TxDtls>
                    <TxDtls><Refs><EndToEndId>SET-2</EndToEndId></Refs><Amt Ccy="USD">599.50</Amt></TxDtls></NtryDtls>
                </Ntry>
              </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
            """
        let bookings = try ISO20022.camt054Bookings(Data(modern.utf8))
        #expect(bookings.map(\.key) == ["NTF-1/E1/1", "NTF-1/E1/2"])
        #expect(bookings.map(\.endToEndID) == ["SET-1", "SET-2"])
        #expect(
            bookings.map(\.amount) == [
                ExactDecimal(significand: 240_050, scale: 2), ExactDecimal(significand: 5995, scale: 1),
            ])
        #expect(bookings.allSatisfy { !$0.isCredit && $0.isBooked && !$0.isReversal })
        let old = """
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn><Ntfctn><Id>N2</Id>
            <Ntry><Amt Ccy="EUR">10</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts></Ntry>
            </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
            """
        let reversal = try #require(try ISO20022.camt054Bookings(Data(old.utf8)).first)
        #expect(reversal.isCredit && reversal.isReversal && reversal.isBooked && reversal.key == "N2/1/1")
        for (document, reason) in [
            ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"/>", "not a camt.054"),
            ("<Document", "not well-formed"),
            ("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Document/>", "document type"),
            (
                old.replacingOccurrences(of: "<CdtDbtInd>CRDT</CdtDbtInd>", with: ""), "CdtDbtInd must be CRDT or DBIT"
            ),
        ] {
            #expect {
                try ISO20022.camt054Bookings(Data(document.utf8))
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
    }
}
