import Foundation
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTestSupport
import ScryptexTradFi
import Testing

@testable import ScryptexApp

@Suite("Fiat settlement", .serialized)
struct SettlementTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static let base = "/api/enterprise/tradfi/"

    static func camt054(_ entries: [(key: String, endToEnd: String, amount: String, indicator: String)]) -> String {
        let body = entries.map {
            """
            <Ntry><NtryRef>\($0.key)</NtryRef><Amt Ccy="USD">\($0.amount)</Amt><CdtDbtInd>\($0.indicator)</CdtDbtInd>
              <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-07</Dt></BookgDt>
              <NtryDtls><TxDtls><Refs><EndToEndId>\($0.endToEnd)</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>
            """
        }.joined()
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
            <GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2026-12-07T10:00:00Z</CreDtTm></GrpHdr>
            <Ntfctn><Id>NTF-7</Id><Acct><Id><Othr><Id>123456789</Id></Othr></Id></Acct>\(body)</Ntfctn>
            </BkToCstmrDbtCdtNtfctn></Document>
            """
    }

    /// A day's trades with the broker net into one payment with its value date; it moves
    /// pending → instructed (once both parties' accounts are known) → sent as a pacs.008 valid
    /// against ISO's schema → settled by the bank's camt.054, once; the broker's credit line
    /// frees what it carried; a statement totals it; a cancelled instruction frees its trades.
    @Test func aDaysTradesNetIntoOnePaymentThatTheBanksNotificationSettles() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            func book(_ side: String, _ quantity: String, _ price: String, with counterparty: String) async -> String {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(account)","symbol":"ETH/USD","side":"\#(side)","quantity":\#(quantity),"price":\#(price),"counterparty":"\#(counterparty)"}"#
                )
                return Self.json(booked)["id"] as? String ?? "\(Self.text(booked))"
            }
            _ = await book("buy", "2", "2500.01", with: "Prime broker A")  // pays 5000.02
            _ = await book("sell", "1", "2600", with: "prime broker a")  // receives 2600
            let busted = await book("buy", "1", "2500", with: "Prime broker A")
            _ = await harness.send(
                .post, "/api/enterprise/trades/\(busted)/cancel", headers: owner, json: #"{"reason":"entered twice"}"#)
            _ = await book("buy", "1", "2500", with: "Broker B")
            let line = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.base + "credit-lines", headers: owner,
                        json: #"{"accountId":"\#(account)","counterparty":"Prime broker A","limit":100000}"#)
                )["id"] as? String)
            func inUse() async -> String? {
                Self.json(await harness.send(.get, Self.base + "credit-lines/\(line)", headers: owner))["utilisation"]
                    as? String
            }
            #expect(await inUse() == "7600.02")

            let today = PostgresDate(containing: Date()).description
            let instruction =
                #"{"instructionId":"SET-1","accountId":"\#(account)","counterparty":"Prime broker A","currency":"USD","tradeDate":"\#(today)"}"#
            let created = await harness.send(.post, Self.base + "settlements", headers: owner, json: instruction)
            #expect(created.status == .created, "\(Self.text(created))")
            let settlement = Self.json(created)
            let id = try #require(settlement["id"] as? String)
            #expect(settlement["direction"] as? String == "pay" && settlement["amount"] as? String == "2400.02")
            #expect((settlement["trades"] as? [Any])?.count == 2 && settlement["status"] as? String == "pending")
            let calendar = try #require(SettlementCalendar(currency: "USD"))
            let expected = calendar.valueDate(tradeDate: PostgresDate(containing: Date()), instructedAt: Date()).date
            #expect(settlement["valueDate"] as? String == expected.description, "\(settlement)")
            let again = await harness.send(.post, Self.base + "settlements", headers: owner, json: instruction)
            #expect(again.status == .ok && Self.json(again)["id"] as? String == id)

            for (json, status, message) in [
                (instruction.replacingOccurrences(of: "SET-1", with: "SET-2"), 409, "no unsettled USD trades"),
                (instruction.replacingOccurrences(of: today, with: "2020-01-02"), 409, "other terms"),
                (instruction.replacingOccurrences(of: "SET-1", with: "SET*1"), 400, "field 'instructionId'"),
                (instruction.replacingOccurrences(of: #""USD""#, with: #""USDT""#), 400, "field 'currency'"),
                (
                    instruction.replacingOccurrences(of: today, with: "2999-01-01").replacingOccurrences(
                        of: "SET-1", with: "SET-3"), 400, "in the future"
                ),
                (instruction.replacingOccurrences(of: "tradeDate", with: "date"), 400, "field 'date'"),
            ] {
                let answer = await harness.send(.post, Self.base + "settlements", headers: owner, json: json)
                #expect(answer.status.code == status && Self.text(answer).contains(message), "\(Self.text(answer))")
            }

            func move(_ target: String, reason: String? = nil, on settlementID: String? = nil) async -> HTTPResponse {
                let why = reason.map { #","reason":"\#($0)""# } ?? ""
                return await harness.send(
                    .post, Self.base + "settlements/\(settlementID ?? id)/transitions", headers: owner,
                    json: #"{"to":"\#(target)"\#(why)}"#)
            }
            let skipping = await move("sent")
            #expect(
                skipping.status == .conflict
                    && Self.text(skipping).contains("may become cancelled, instructed, settled"))
            let withoutAccounts = await move("instructed")
            #expect(
                withoutAccounts.status == .conflict
                    && Self.text(withoutAccounts).contains("no settlement account of the tenant"),
                "\(Self.text(withoutAccounts))")
            for json in [
                #"{"currency":"USD","holder":"Prime Fund LP","bic":"DEUTUS33","account":"123456789"}"#,
                #"{"counterparty":"Prime broker A","currency":"USD","holder":"Prime Broker A LLC","bic":"CHASUS33XXX","account":"987654321"}"#,
            ] {
                let added = await harness.send(.post, Self.base + "settlement-accounts", headers: owner, json: json)
                #expect(added.status == .created, "\(Self.text(added))")
            }
            let badIBAN = await harness.send(
                .post, Self.base + "settlement-accounts", headers: owner,
                json:
                    #"{"counterparty":"X","currency":"EUR","holder":"X","bic":"DEUTDEFF","account":"DE89370400440532013001"}"#
            )
            #expect(badIBAN.status == .badRequest && Self.text(badIBAN).contains("check digits"))
            #expect(Self.json(await move("instructed"))["status"] as? String == "instructed")

            let pacs = await harness.send(.get, Self.base + "settlements/\(id)/pacs008", headers: owner)
            let document = Self.text(pacs)
            let (valid, output) = try await XMLSchemas.validate(document, schema: try await XMLSchemas.pacs008())
            #expect(valid == 0, "xmllint: \(output)\n\(document)")
            #expect(document.contains(#"<IntrBkSttlmAmt Ccy="USD">2400.02</IntrBkSttlmAmt>"#))
            #expect(
                document.contains("<EndToEndId>SET-1</EndToEndId>") && document.contains("<BICFI>CHASUS33XXX</BICFI>"))
            #expect(Self.json(await move("sent"))["status"] as? String == "sent")

            // The bank books the debit: settled, once; a wrong amount and a stranger's reference
            // are reported, not applied.
            func notify(_ xml: String) async -> [[String: Any]] {
                let answer = await harness.send(
                    .post, Self.base + "settlement-notifications",
                    headers: owner + [("Content-Type", "application/xml")], rawBody: Array(xml.utf8))
                return Self.json(answer)["bookings"] as? [[String: Any]] ?? [["error": Self.text(answer)]]
            }
            let camt = Self.camt054([
                ("E1", "SET-1", "2400.02", "DBIT"), ("E2", "SET-1", "2400.00", "DBIT"),
                ("E3", "UNKNOWN-9", "5", "CRDT"),
            ])
            let outcomes = await notify(camt)
            #expect(outcomes.map { $0["outcome"] as? String } == ["settled", "mismatch", "unmatched"], "\(outcomes)")
            #expect(
                (outcomes[1]["detail"] as? String)?.contains("booked debit 2400 USD, expected debit 2400.02") == true)
            #expect(
                await notify(camt).map { $0["outcome"] as? String } == Array(repeating: "already_applied", count: 3))
            let settled = Self.json(await harness.send(.get, Self.base + "settlements/\(id)", headers: owner))
            #expect(settled["status"] as? String == "settled" && settled["settledAt"] != nil)
            #expect(
                (settled["events"] as? [[String: Any]])?.map { $0["to"] as? String }
                    == ["pending", "instructed", "sent", "settled"])
            // Settled: the broker's line no longer carries those trades.
            #expect(await inUse() == "0")
            let statement = Self.json(
                await harness.send(
                    .get, Self.base + "settlement-statements?from=2000-01-01&to=2999-12-31", headers: owner))
            let totals = try #require((statement["totals"] as? [[String: Any]])?.first)
            #expect(totals["paid"] as? String == "2400.02" && totals["openToPay"] as? String == "0", "\(statement)")
            #expect(await move("failed", reason: "late").status == .conflict)

            // Another counterparty's instruction, cancelled: its trade may be settled again.
            let other =
                #"{"instructionId":"SET-B1","accountId":"\#(account)","counterparty":"Broker B","currency":"USD","tradeDate":"\#(today)"}"#
            let b1 = try #require(
                Self.json(await harness.send(.post, Self.base + "settlements", headers: owner, json: other))["id"]
                    as? String)
            #expect(await move("cancelled", on: b1).status == .badRequest)
            #expect(Self.json(await move("cancelled", reason: "wrong day", on: b1))["status"] as? String == "cancelled")
            let b2 = await harness.send(
                .post, Self.base + "settlements", headers: owner,
                json: other.replacingOccurrences(of: "SET-B1", with: "SET-B2"))
            #expect(b2.status == .created && Self.json(b2)["amount"] as? String == "2500", "\(Self.text(b2))")

            // Not a camt.054, or not sent as XML.
            let notCamt = await harness.send(
                .post, Self.base + "settlement-notifications", headers: owner + [("Content-Type", "application/xml")],
                rawBody: Array("<Document/>".utf8))
            #expect(notCamt.status == .badRequest && Self.text(notCamt).contains("not a camt.054"))
            let plain = await harness.send(
                .post, Self.base + "settlement-notifications", headers: owner + [("Content-Type", "text/plain")],
                rawBody: Array(camt.utf8))
            #expect(plain.status == .unsupportedMediaType)
        }
    }
}
