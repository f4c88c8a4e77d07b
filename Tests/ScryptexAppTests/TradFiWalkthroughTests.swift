import Foundation
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 24's "done when", in one go against QuickFIX: a tenant connects to its broker, sends
/// orders and books their fills, sees its credit line with the broker move, settles the day's
/// fills (pacs.008 out, the bank's camt.054 in), and reconciles a statement with one planted
/// break.
@Suite("Traditional finance walk-through", .serialized)
struct TradFiWalkthroughTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func ordersFillSettleAndReconcileWhileCreditMoves() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let base = "/api/enterprise/tradfi/"
            let broker = try await QuickFIXBroker.start()
            let session = try await BrokerOrderRoutingTests.quickFIXSession(
                harness, owner: owner, account: account, broker: broker)
            let line = try #require(
                Self.json(
                    await harness.send(
                        .post, base + "credit-lines", headers: owner,
                        json:
                            #"{"accountId":"\#(account)","counterparty":"QuickFIX","limit":20000,"collateral":5000,"maintenanceMargin":0.1}"#
                    ))["id"] as? String)
            func creditInUse() async -> String? {
                Self.json(await harness.send(.get, base + "credit-lines/\(line)", headers: owner))["utilisation"]
                    as? String
            }
            #expect(await creditInUse() == "0")

            let loops = try EventLoopGroup(loopCount: 1, name: "walkthrough")
            let supervisor = BrokerOrderRoutingTests.supervisor(harness, loops: loops, owner: "host-walkthrough")
            let running = Task { await supervisor.run() }
            // Two orders, each filled by the broker and booked once.
            for (id, quantity) in [("w-1", "2"), ("w-2", "3")] {
                let entered = await harness.send(
                    .post, base + "orders", headers: owner,
                    json:
                        #"{"sessionId":"\#(session)","clientOrderId":"\#(id)","symbol":"ETH/USD","side":"buy","quantity":\#(quantity),"price":2500}"#
                )
                #expect(entered.status == .created, "\(Self.text(entered))")
                let routed = try #require((Self.json(entered)["routed"] as? [String: Any])?["id"] as? String)
                let filled = await BrokerOrderRoutingTests.eventually({
                    Self.json(await harness.send(.get, base + "orders/\(routed)", headers: owner))
                }) { $0["status"] as? String == "filled" }
                #expect(filled["status"] as? String == "filled", "\(filled)")
            }
            #expect(await creditInUse() == "12500")

            // The day's fills with the broker settle as one payment.
            for json in [
                #"{"currency":"USD","holder":"Prime Fund LP","bic":"DEUTUS33","account":"123456789"}"#,
                #"{"counterparty":"QuickFIX","currency":"USD","holder":"QuickFIX Prime LLC","bic":"CHASUS33","account":"987654321"}"#,
            ] {
                #expect(
                    await harness.send(.post, base + "settlement-accounts", headers: owner, json: json).status
                        == .created)
            }
            let today = PostgresDate(containing: Date()).description
            let instructed = Self.json(
                await harness.send(
                    .post, base + "settlements", headers: owner,
                    json:
                        #"{"instructionId":"QFX-\#(today)","accountId":"\#(account)","counterparty":"QuickFIX","currency":"USD","tradeDate":"\#(today)"}"#
                ))
            let settlement = try #require(instructed["id"] as? String, "\(instructed)")
            #expect(instructed["direction"] as? String == "pay" && instructed["amount"] as? String == "12500")
            for target in ["instructed", "sent"] {
                let moved = await harness.send(
                    .post, base + "settlements/\(settlement)/transitions", headers: owner, json: #"{"to":"\#(target)"}"#
                )
                #expect(Self.json(moved)["status"] as? String == target, "\(Self.text(moved))")
            }
            let pacs = Self.text(await harness.send(.get, base + "settlements/\(settlement)/pacs008", headers: owner))
            let (valid, output) = try await XMLSchemas.validate(pacs, schema: try await XMLSchemas.pacs008())
            #expect(valid == 0, "xmllint: \(output)")
            let camt = SettlementTests.camt054([("E1", "QFX-\(today)", "12500.00", "DBIT")])
            let booked = Self.json(
                await harness.send(
                    .post, base + "settlement-notifications", headers: owner + [("Content-Type", "application/xml")],
                    rawBody: Array(camt.utf8)))
            #expect((booked["bookings"] as? [[String: Any]])?.first?["outcome"] as? String == "settled", "\(booked)")
            #expect(await creditInUse() == "0")

            // The broker's statement, with one planted break.
            let statement = "account,asset,quantity\\n\(account),ETH/USD,4.5\\n"
            let reconciled = Self.json(
                await harness.send(
                    .post, base + "reconciliations", headers: owner,
                    json: #"{"source":"broker_csv","name":"quickfix.csv","statement":"\#(statement)"}"#))
            let breaks = try #require(reconciled["breaks"] as? [[String: Any]], "\(reconciled)")
            #expect(breaks.count == 1 && breaks[0]["cause"] as? String == "quantity_mismatch")
            #expect(
                breaks[0]["internalQuantity"] as? String == "5" && breaks[0]["externalQuantity"] as? String == "4.5")

            running.cancel()
            await running.value
            await broker.stop()
            await loops.shutdown()
        }
    }
}
