import Foundation
import ScryptexCompliance
import ScryptexHTTP
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 17: the pre-trade check binds — orders are refused, held for a second person, or rest
/// until filled (booking trades), cancelled or expired.
@Suite("Order entry over the API", .serialized)
struct OrderEntryTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static func order(_ response: HTTPResponse) -> [String: Any] {
        json(response)["order"] as? [String: Any] ?? json(response)
    }

    @Test func ordersFlowThroughCheckRestFillAndBooking() async throws {
        try await RouteHarness.with { harness in
            let trader = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: trader,
                json:
                    #"{"accountName":"Desk","accountType":"hedge_fund","legalName":"Desk LP","jurisdiction":"US","totalAUM":1000000000}"#
            )
            let account = try #require(Self.json(created)["id"] as? String)
            _ = await harness.send(.post, "/api/enterprise/accounts/\(account)/kyc/submit", headers: trader)
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/kyc/decision", headers: officer,
                json: #"{"status":"approved","reason":"verified"}"#)
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(account)/limits", headers: trader,
                json: #"{"maxOrderNotional":3000000}"#)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/reference-prices", headers: trader,
                json: #"{"symbol":"ETH/USDC","price":2500}"#)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: trader,
                json: #"{"currency":"USDC","usdPerUnit":1}"#)
            func submit(_ id: String, _ fields: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/orders", headers: trader,
                    json: #"{"accountId":"\#(account)","clientOrderId":"\#(id)",\#(fields)}"#)
            }

            // Accepted: it rests as an open order.
            // What the fills' transaction reports carry comes with the order (bad details: 400).
            let reporting =
                #""reporting":{"capacity":"AOTC","decisionMaker":{"algorithm":"TWAP-2"},"executingPerson":{"algorithm":"ROUTER-1"}}"#
            let badReporting = await submit(
                "a-0",
                #""symbol":"ETH/USDC","side":"buy","quantity":1,"price":2500,"reporting":{"shortSelling":"SESH"}"#)
            #expect(badReporting.status.code == 400 && Self.text(badReporting).contains("'shortSelling'"))
            let resting = await submit(
                "a-1", #""symbol":"ETH/USDC","side":"buy","quantity":100,"price":2500,\#(reporting)"#)
            #expect(resting.status.code == 201, "\(Self.text(resting))")
            #expect(Self.order(resting)["status"] as? String == "open")
            let orderID = try #require(Self.order(resting)["id"] as? String)
            // The same client order id again: the same order, not a second one; other terms: 409.
            let again = await submit("a-1", #""symbol":"ETH/USDC","side":"buy","quantity":100,"price":2500"#)
            #expect(again.status.code == 200 && Self.order(again)["id"] as? String == orderID)
            let reused = await submit("a-1", #""symbol":"ETH/USDC","side":"buy","quantity":101,"price":2500"#)
            #expect(reused.status.code == 409)

            // Refused: over the order limit (5,000,000 > 3,000,000) — 422 with the decision.
            let refused = await submit("a-2", #""symbol":"ETH/USDC","side":"buy","quantity":2000,"price":2500"#)
            #expect(refused.status.code == 422)
            #expect(Self.order(refused)["status"] as? String == "rejected")
            #expect(Self.text(refused).contains("order_limit"))
            // The resting buy at 2,500 is what the self-match rule now sees: a sell at 2,400 crosses it.
            let crossing = await submit("a-3", #""symbol":"ETH/USDC","side":"sell","quantity":5,"price":2400"#)
            #expect(crossing.status.code == 422)
            #expect(Self.text(crossing).contains("self_match"))

            // Held for review (8 % from the reference): its submitter cannot release it, a second person can.
            let held = await submit("a-4", #""symbol":"ETH/USDC","side":"buy","quantity":10,"price":2700"#)
            #expect(held.status.code == 201 && Self.order(held)["status"] as? String == "held", "\(Self.text(held))")
            let heldID = try #require(Self.order(held)["id"] as? String)
            let selfRelease = await harness.send(.post, "/api/enterprise/orders/\(heldID)/approve", headers: trader)
            #expect(selfRelease.status.code == 403 && Self.text(selfRelease).contains("four eyes"))
            let released = await harness.send(.post, "/api/enterprise/orders/\(heldID)/approve", headers: officer)
            #expect(Self.json(released)["status"] as? String == "open", "\(Self.text(released))")
            let other = await submit("a-5", #""symbol":"ETH/USDC","side":"buy","quantity":10,"price":2700"#)
            let otherID = try #require(Self.order(other)["id"] as? String)
            let declined = await harness.send(.post, "/api/enterprise/orders/\(otherID)/decline", headers: officer)
            #expect(Self.json(declined)["status"] as? String == "declined")

            // Fills book trades, within the limit price and the quantity left.
            func fill(_ fields: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/orders/\(orderID)/fills", headers: trader, json: "{\(fields)}")
            }
            #expect(await fill(#""quantity":60,"price":2501"#).status.code == 400, "a buy never fills above its limit")
            let first = await fill(
                #""quantity":60,"price":2499.5,"executedAt":"2026-12-01T10:00:00.250Z","venue":"xoff","counterpartyLei":"5493000IBP32UQZ0KL24""#
            )
            #expect(first.status.code == 201, "\(Self.text(first))")
            #expect(Self.order(first)["filledQuantity"] as? String == "60")
            #expect(Self.order(first)["status"] as? String == "open")
            #expect(await fill(#""quantity":50,"price":2499"#).status.code == 400, "only 40 are left")
            let last = await fill(#""quantity":40,"price":2500"#)
            #expect(Self.order(last)["status"] as? String == "filled")
            let booked = try await harness.pool.query(
                """
                SELECT count(*) AS n, sum(quantity)::text AS q FROM t_acme.trades WHERE order_id = \(UUID(uuidString: orderID)!)
                """
            ).firstRow
            #expect(try booked.decode("n", as: Int.self) == 2 && booked.decode("q", as: String.self).hasPrefix("100"))
            let reported = try await harness.pool.query(
                """
                SELECT capacity, venue, counterparty_lei, decision_maker ->> 'algorithm' AS decided,
                       executing_person ->> 'algorithm' AS executed
                FROM t_acme.trades WHERE order_id = \(UUID(uuidString: orderID)!) ORDER BY executed_at LIMIT 1
                """
            ).firstRow
            #expect(try reported.decode("capacity", as: String.self) == "AOTC")
            #expect(try reported.decode("venue", as: String?.self) == "XOFF")
            #expect(try reported.decode("counterparty_lei", as: String?.self) == "5493000IBP32UQZ0KL24")
            #expect(try reported.decode("decided", as: String?.self) == "TWAP-2")
            #expect(try reported.decode("executed", as: String?.self) == "ROUTER-1")
            #expect(
                await harness.send(.post, "/api/enterprise/orders/\(orderID)/cancel", headers: trader).status.code
                    == 409)

            // A day order past its day expires; a cancelled one stays cancelled.
            let day = await submit(
                "a-6", #""symbol":"ETH/USDC","side":"buy","quantity":1,"price":2500,"timeInForce":"day""#)
            let dayID = try #require(Self.order(day)["id"] as? String)
            #expect(Self.order(day)["expiresAt"] != nil)
            try await harness.pool.execute(
                "UPDATE t_acme.orders SET expires_at = now() - interval '1 second' WHERE id = \(UUID(uuidString: dayID)!)"
            )
            let expired = await harness.send(.get, "/api/enterprise/orders/\(dayID)", headers: trader)
            #expect(Self.json(expired)["status"] as? String == "expired")
            // It reads as expired at once; the host's minute sweep stores it so.
            func stored() async throws -> String {
                try await harness.pool.query(
                    "SELECT status FROM t_acme.orders WHERE id = \(UUID(uuidString: dayID)!)"
                ).firstRow.decode("status", as: String.self)
            }
            #expect(try await stored() == "open")
            let swept = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await OrderService().storeExpired(in: $0)
            }
            let storedAfter = try await stored()
            #expect(swept == 1 && storedAfter == "expired")
            #expect(
                await harness.send(
                    .post, "/api/enterprise/orders/\(dayID)/fills", headers: trader,
                    json: #"{"quantity":1,"price":2500}"#
                )
                .status.code == 409)
            let cancelled = await harness.send(.post, "/api/enterprise/orders/\(heldID)/cancel", headers: trader)
            #expect(Self.json(cancelled)["status"] as? String == "cancelled")

            // A market order is checked at the reference price; with none it is refused.
            let market = await submit("a-7", #""symbol":"ETH/USDC","side":"buy","quantity":1,"type":"market""#)
            #expect(market.status.code == 201, "\(Self.text(market))")
            let noReference = await submit("a-8", #""symbol":"BTC/USDC","side":"buy","quantity":1,"type":"market""#)
            #expect(noReference.status.code == 409 && Self.text(noReference).contains("no reference price"))
            let list = await harness.send(
                .get, "/api/enterprise/orders?accountId=\(account)&status=open", headers: trader)
            #expect((Self.json(list)["orders"] as? [[String: Any]])?.count == 1, "\(Self.text(list))")
        }
    }
}
