import Foundation
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexTenancy
import ScryptexTestSupport
import ScryptexTradFi
import Testing

@testable import ScryptexAPI
@testable import ScryptexApp

@Suite("Credit lines", .serialized)
struct CreditLineTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static let path = "/api/enterprise/tradfi/credit-lines"

    /// Lines opened, listed, shown and changed (audited); every bad field named, a second line of
    /// the same scope refused, a role without tradfi.manage refused.
    @Test func creditLinesAreOpenedChangedAndEveryBadFieldNamed() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let trader = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["trader"])))]
            let body = #"{"accountId":"\#(account)","limit":"250000.50","collateral":"60000"}"#
            #expect(await harness.send(.post, Self.path, headers: trader, json: body).status == .forbidden)
            let created = await harness.send(.post, Self.path, headers: owner, json: body)
            #expect(created.status == .created, "\(Self.text(created))")
            let line = Self.json(created)
            let id = try #require(line["id"] as? String)
            #expect(line["scope"] as? String == "account" && line["limit"] as? String == "250000.5")
            #expect(line["utilisation"] as? String == "0" && line["available"] as? String == "250000.5")
            #expect(line["maintenanceMargin"] as? String == "0.25" && line["warningShare"] as? String == "0.8")
            let counterparty = await harness.send(
                .post, Self.path, headers: owner,
                json: #"{"accountId":"\#(account)","counterparty":"Prime broker A","limit":1000}"#)
            #expect(counterparty.status == .created, "\(Self.text(counterparty))")

            let listed = Self.json(await harness.send(.get, Self.path + "?accountId=\(account)", headers: trader))
            #expect((listed["creditLines"] as? [[String: Any]])?.count == 2)
            let changed = await harness.send(
                .patch, Self.path + "/" + id, headers: owner, json: #"{"limit":300000,"warningShare":0.9}"#)
            #expect(Self.json(changed)["limit"] as? String == "300000", "\(Self.text(changed))")
            let shown = Self.json(await harness.send(.get, Self.path + "/" + id, headers: trader))
            #expect(shown["warningShare"] as? String == "0.9" && (shown["marginCalls"] as? [Any])?.isEmpty == true)
            let audit = Self.text(
                await harness.send(
                    .get, "/api/enterprise/audit-trail?action=tradfi.credit_line_changed", headers: owner))
            #expect(audit.contains("250000.5 → 300000"), "\(audit)")

            for (path, method, json, status, message) in [
                (Self.path, HTTPMethod.post, body, 409, "change that one"),
                (
                    Self.path, .post, #"{"accountId":"\#(account)","counterparty":"PRIME BROKER A","limit":5}"#, 409,
                    "with PRIME BROKER A"
                ),
                (Self.path, .post, #"{"accountId":"\#(account)","limit":-5}"#, 400, "field 'limit'"),
                (Self.path, .post, #"{"accountId":"\#(account)","limit":"1.001"}"#, 400, "field 'limit'"),
                (
                    Self.path, .post, #"{"accountId":"\#(account)","limit":5,"maintenanceMargin":1.5}"#, 400,
                    "field 'maintenanceMargin'"
                ),
                (
                    Self.path, .post, #"{"accountId":"\#(account)","limit":5,"counterparty":" x"}"#, 400,
                    "field 'counterparty'"
                ),
                (Self.path, .post, #"{"accountId":"\#(account)","limit":5,"colour":"red"}"#, 400, "field 'colour'"),
                (Self.path, .post, #"{"limit":5}"#, 400, "accountId"),
                (Self.path, .post, #"{"accountId":"\#(UUID().uuidString)","limit":5}"#, 404, "account"),
                (Self.path + "/" + id, .patch, #"{}"#, 400, "at least one"),
                (Self.path + "/" + id, .patch, #"{"warningShare":0}"#, 400, "field 'warningShare'"),
                (Self.path + "/" + UUID().uuidString, .patch, #"{"limit":5}"#, 404, "no credit line"),
            ] {
                let answer = await harness.send(method, path, headers: owner, json: json)
                #expect(
                    answer.status.code == status && Self.text(answer).contains(message),
                    "\(json): \(answer.status) \(Self.text(answer))")
            }
            let unchanged = Self.json(await harness.send(.get, Self.path + "/" + id, headers: owner))
            #expect(unchanged["limit"] as? String == "300000" && unchanged["collateral"] as? String == "60000")
        }
    }

    /// The pre-trade check keeps orders within every line they draw on; bookings move what is in
    /// use; collateral below maintenance opens a margin call that more collateral meets; a price
    /// move past the limit raises a warning and a new call, which a person can waive.
    @Test func ordersStayWithinCreditAndMarginIsCalledWhenCollateralFallsShort() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let opened = Self.json(
                await harness.send(
                    .post, Self.path, headers: owner,
                    json: #"{"accountId":"\#(account)","limit":10000,"collateral":1000}"#))
            let line = try #require(opened["id"] as? String)
            let counterpartyLine = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.path, headers: owner,
                        json:
                            #"{"accountId":"\#(account)","counterparty":"Prime broker A","limit":9000,"maintenanceMargin":0}"#
                    ))["id"] as? String)

            func credit(_ side: String, _ quantity: String, counterparty: String? = nil) async -> [String: Any] {
                let named = counterparty.map { #","counterparty":"\#($0)""# } ?? ""
                let answer = Self.json(
                    await harness.send(
                        .post, "/api/enterprise/compliance/check-trade", headers: owner,
                        json:
                            #"{"accountId":"\#(account)","symbol":"ETH/USD","side":"\#(side)","quantity":\#(quantity),"price":2500\#(named)}"#
                    ))
                return ((answer["decision"] as? [String: Any])?["rules"] as? [[String: Any]])?.first {
                    $0["rule"] as? String == "credit_line"
                } ?? [:]
            }
            let first = await credit("buy", "4")
            #expect(first["outcome"] as? String == "pass", "\(first)")
            #expect((first["reason"] as? String)?.contains("10000 of 10000 USD") == true, "\(first)")
            let over = await credit("buy", "4.0004")
            #expect(over["outcome"] as? String == "fail", "\(over)")
            #expect((over["reason"] as? String)?.contains("10001 USD in use (0 now), beyond its limit 10000") == true)

            // 3 ETH bought from the broker: 7,500 in use on both lines; 1,875 of maintenance
            // against 1,000 of collateral opens a call at once.
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(account)","symbol":"ETH/USD","side":"buy","quantity":3,"price":2500,"counterparty":"prime broker a"}"#
            )
            #expect(booked.status == .created, "\(Self.text(booked))")
            let raised = (Self.json(booked)["alerts"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }
            #expect(raised?.sorted() == ["credit_line_warning", "margin_call"], "\(Self.text(booked))")
            var shown = Self.json(await harness.send(.get, Self.path + "/" + line, headers: owner))
            #expect(shown["utilisation"] as? String == "7500" && shown["available"] as? String == "2500")
            #expect(shown["requiredCollateral"] as? String == "1875")
            let call = try #require(shown["openMarginCall"] as? [String: Any])
            #expect(call["shortfall"] as? String == "875" && call["status"] as? String == "open")
            let other = Self.json(await harness.send(.get, Self.path + "/" + counterpartyLine, headers: owner))
            #expect(other["utilisation"] as? String == "7500" && other["openMarginCall"] == nil)

            #expect(await credit("buy", "1")["outcome"] as? String == "pass")
            let beyond = await credit("buy", "1.2")
            #expect((beyond["reason"] as? String)?.contains("the account's credit line would have 10500") == true)
            // With the broker the counterparty line binds first: 7,500 + 2,000 > 9,000.
            let withBroker = await credit("buy", "0.8", counterparty: "Prime Broker A")
            #expect(withBroker["outcome"] as? String == "fail", "\(withBroker)")
            #expect((withBroker["reason"] as? String)?.contains("the credit line with Prime broker A") == true)
            // Selling down draws nothing; selling through to a short draws what the short grows
            // beyond the long it replaces (7 sold: a short of 4, one more than the 3 held).
            let down = await credit("sell", "3")
            #expect(
                down["outcome"] as? String == "pass" && (down["reason"] as? String)?.contains("does not add") == true)
            #expect(await credit("sell", "7")["outcome"] as? String == "pass")
            #expect(await credit("sell", "7.0004")["outcome"] as? String == "fail")

            // More collateral meets the call.
            shown = Self.json(
                await harness.send(.patch, Self.path + "/" + line, headers: owner, json: #"{"collateral":"2000"}"#))
            #expect(shown["openMarginCall"] == nil, "\(shown)")
            let calls = try #require(shown["marginCalls"] as? [[String: Any]])
            #expect(calls.map { $0["status"] as? String } == ["met"])

            // The price doubles: 12,000 in use, beyond the limit; the sweep's review calls again.
            _ = await harness.send(
                .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                json: #"{"symbol":"ETH/USD","price":4000}"#)
            let alerts = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await CreditLineService().reviewMargins(
                    audit: TenantAuditSink(schema: harness.tenant.schema, actor: "system:test", requestID: nil), in: $0)
            }
            #expect(alerts.map(\.kind).sorted() == ["credit_line_warning", "margin_call"])
            #expect(alerts.contains { $0.summary.contains("12000 of 10000 USD in use, beyond its limit") })
            shown = Self.json(await harness.send(.get, Self.path + "/" + line, headers: owner))
            #expect(shown["available"] as? String == "-2000")
            let second = try #require(shown["openMarginCall"] as? [String: Any])
            #expect(second["required"] as? String == "3000" && second["shortfall"] as? String == "1000")
            let callID = try #require(second["id"] as? String)
            let waive = Self.path + "/\(line)/margin-calls/\(callID)/waive"
            #expect(await harness.send(.post, waive, headers: owner, json: #"{"reason":"x"}"#).status == .badRequest)
            let waived = await harness.send(
                .post, waive, headers: owner, json: #"{"reason":"collateral arriving by wire today"}"#)
            #expect(Self.json(waived)["status"] as? String == "waived", "\(Self.text(waived))")
            #expect(
                await harness.send(.post, waive, headers: owner, json: #"{"reason":"again, twice"}"#).status
                    == .notFound)

            // A suspended line binds nothing.
            _ = await harness.send(.patch, Self.path + "/" + line, headers: owner, json: #"{"active":false}"#)
            let free = await credit("buy", "100")
            #expect(free["outcome"] as? String == "pass" && free["reason"] as? String == "no credit line", "\(free)")
        }
    }

    /// Against QuickFIX: a fill from the broker moves what the line with it has in use, and an
    /// order that would take the line beyond its limit is refused and never sent.
    @Test func aBrokerFillMovesCreditInUseAndAnOrderBeyondItIsNeverSent() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let broker = try await QuickFIXBroker.start()
            let session = try await BrokerOrderRoutingTests.quickFIXSession(
                harness, owner: owner, account: account, broker: broker)
            let line = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.path, headers: owner,
                        json: #"{"accountId":"\#(account)","counterparty":"QuickFIX","limit":12000,"collateral":5000}"#
                    ))["id"] as? String)
            let loops = try EventLoopGroup(loopCount: 1, name: "credit-test")
            let supervisor = BrokerOrderRoutingTests.supervisor(harness, loops: loops, owner: "host-credit")
            let running = Task { await supervisor.run() }
            func submit(_ id: String, quantity: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/tradfi/orders", headers: owner,
                    json:
                        #"{"sessionId":"\#(session)","clientOrderId":"\#(id)","symbol":"ETH/USD","side":"buy","quantity":\#(quantity),"price":2500}"#
                )
            }
            let entered = await submit("credit-1", quantity: "2")
            #expect(entered.status == .created, "\(Self.text(entered))")
            let routed = try #require((Self.json(entered)["routed"] as? [String: Any])?["id"] as? String)
            let filled = await BrokerOrderRoutingTests.eventually({
                Self.json(await harness.send(.get, "/api/enterprise/tradfi/orders/\(routed)", headers: owner))
            }) { $0["status"] as? String == "filled" }
            #expect(filled["status"] as? String == "filled", "\(filled)")
            let shown = Self.json(await harness.send(.get, Self.path + "/" + line, headers: owner))
            #expect(shown["utilisation"] as? String == "5000" && shown["available"] as? String == "7000", "\(shown)")

            // 5,000 in use and 7,500 more is beyond 12,000: refused by the check, nothing sent.
            let refused = await submit("credit-2", quantity: "3")
            #expect(refused.status == .unprocessableContent, "\(Self.text(refused))")
            #expect(Self.text(refused).contains("the credit line with QuickFIX would have 12500 USD in use"))
            let sent = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction(
                readOnly: true
            ) {
                try await $0.query("SELECT count(*)::int8 AS sent FROM tradfi_fix_messages WHERE message_type = 'D'")
                    .firstRow.decode("sent", as: Int.self)
            }
            #expect(sent == 1)
            running.cancel()
            await running.value
            await broker.stop()
            await loops.shutdown()
        }
    }

    /// Against QuickFIX: a fill opens a margin call on the broker's line (no collateral yet); the
    /// broker's CollateralReport, asked for over FIX, becomes the line's collateral and meets it.
    @Test func theBrokersCollateralReportMeetsAMarginCall() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let broker = try await QuickFIXBroker.start()
            let session = try await BrokerOrderRoutingTests.quickFIXSession(
                harness, owner: owner, account: account, broker: broker)
            let line = try #require(
                Self.json(
                    await harness.send(
                        .post, Self.path, headers: owner,
                        json: #"{"accountId":"\#(account)","counterparty":"QuickFIX","limit":100000}"#))["id"]
                    as? String)
            let loops = try EventLoopGroup(loopCount: 1, name: "collateral-test")
            let supervisor = BrokerOrderRoutingTests.supervisor(harness, loops: loops, owner: "host-collateral")
            let running = Task { await supervisor.run() }
            let entered = await harness.send(
                .post, "/api/enterprise/tradfi/orders", headers: owner,
                json:
                    #"{"sessionId":"\#(session)","clientOrderId":"c-1","symbol":"ETH/USD","side":"buy","quantity":2,"price":2500}"#
            )
            #expect(entered.status == .created, "\(Self.text(entered))")
            let called = await BrokerOrderRoutingTests.eventually({
                Self.json(await harness.send(.get, Self.path + "/" + line, headers: owner))
            }) { $0["openMarginCall"] != nil }
            #expect((called["openMarginCall"] as? [String: Any])?["shortfall"] as? String == "1250", "\(called)")

            let inquired = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions/\(session)/collateral-inquiries", headers: owner)
            #expect(inquired.status == .accepted, "\(Self.text(inquired))")
            let reported = await BrokerOrderRoutingTests.eventually({
                Self.json(
                    await harness.send(
                        .get, "/api/enterprise/tradfi/broker-sessions/\(session)/collateral", headers: owner))
            }) { !(($0["collateral"] as? [Any]) ?? []).isEmpty }
            let report = try #require((reported["collateral"] as? [[String: Any]])?.first, "\(reported)")
            #expect(report["totalNetValue"] as? String == "42000" && report["currency"] as? String == "USD")
            #expect(report["collInquiryId"] as? String == Self.json(inquired)["collInquiryId"] as? String)
            let covered = Self.json(await harness.send(.get, Self.path + "/" + line, headers: owner))
            #expect(covered["collateral"] as? String == "42000" && covered["openMarginCall"] == nil, "\(covered)")
            #expect((covered["marginCalls"] as? [[String: Any]])?.first?["status"] as? String == "met")
            running.cancel()
            await running.value
            await broker.stop()
            await loops.shutdown()
        }
    }
}
