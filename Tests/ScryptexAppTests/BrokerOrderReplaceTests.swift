import Foundation
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Orders replaced at a broker over FIX", .serialized)
struct BrokerOrderReplaceTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// Against QuickFIX: a resting order's limit is replaced (OrderCancelReplaceRequest), then its
    /// quantity and limit, which the broker fills at once under the new ClOrdID — booked at the new
    /// terms; new terms the pre-trade check refuses are never sent; bad input is named.
    @Test func aWorkingOrderIsReplacedAfterTheCheckAndFilledOnItsNewTerms() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let base = "/api/enterprise/tradfi/"
            let broker = try await QuickFIXBroker.start()
            let session = try await BrokerOrderRoutingTests.quickFIXSession(
                harness, owner: owner, account: account, broker: broker)
            let loops = try EventLoopGroup(loopCount: 1, name: "replace-test")
            let supervisor = BrokerOrderRoutingTests.supervisor(harness, loops: loops, owner: "host-replace")
            let running = Task { await supervisor.run() }
            func routed(_ id: String) async -> [String: Any] {
                Self.json(await harness.send(.get, base + "orders/\(id)", headers: owner))
            }
            // 1,000 rest at the broker.
            let entered = await harness.send(
                .post, base + "orders", headers: owner,
                json:
                    #"{"sessionId":"\#(session)","clientOrderId":"r-1","symbol":"ETH/USD","side":"buy","quantity":1000,"price":2500}"#
            )
            let id = try #require(
                (Self.json(entered)["routed"] as? [String: Any])?["id"] as? String, "\(Self.text(entered))")
            let resting = await BrokerOrderRoutingTests.eventually({ await routed(id) }) {
                $0["status"] as? String == "acknowledged"
            }
            let firstClOrdID = try #require(resting["clOrdID"] as? String)

            let replace = base + "orders/\(id)/replace"
            for (json, status, message) in [
                (#"{}"#, 400, "differs"), (#"{"quantity":1000,"price":2500}"#, 400, "differs"),
                (#"{"colour":1}"#, 400, "field 'colour'"), (#"{"quantity":0}"#, 400, "above the 0 already filled"),
            ] {
                let answer = await harness.send(.post, replace, headers: owner, json: json)
                #expect(answer.status.code == status && Self.text(answer).contains(message), "\(Self.text(answer))")
            }
            // Refused by the check (far from the reference price): nothing sent.
            let refused = await harness.send(.post, replace, headers: owner, json: #"{"price":9000}"#)
            #expect(refused.status == .unprocessableContent, "\(Self.text(refused))")
            #expect((Self.json(refused)["routed"] as? [String: Any])?["replacement"] == nil)

            // A new limit: replaced at the broker, still resting, under a new ClOrdID.
            let asked = await harness.send(.post, replace, headers: owner, json: #"{"price":2510}"#)
            #expect(asked.status == .accepted, "\(Self.text(asked))")
            let repriced = await BrokerOrderRoutingTests.eventually({ await routed(id) }) {
                $0["replacement"] == nil && ($0["order"] as? [String: Any])?["limitPrice"] as? String == "2510"
            }
            #expect((repriced["order"] as? [String: Any])?["limitPrice"] as? String == "2510", "\(repriced)")
            let secondClOrdID = try #require(repriced["clOrdID"] as? String)
            #expect(secondClOrdID != firstClOrdID && repriced["status"] as? String == "acknowledged")
            #expect(
                await harness.send(.post, replace, headers: owner, json: #"{"price":2510}"#).status == .badRequest)

            // A smaller quantity at a new limit: the broker fills it at once on the new terms.
            #expect(
                await harness.send(.post, replace, headers: owner, json: #"{"quantity":4,"price":2490}"#).status
                    == .accepted)
            let filled = await BrokerOrderRoutingTests.eventually({ await routed(id) }) {
                $0["status"] as? String == "filled"
            }
            #expect(filled["status"] as? String == "filled", "\(filled)")
            let order = try #require(filled["order"] as? [String: Any])
            #expect(order["quantity"] as? String == "4" && order["filledQuantity"] as? String == "4", "\(order)")
            #expect(order["status"] as? String == "filled" && order["limitPrice"] as? String == "2490")
            let executions = (filled["executions"] as? [[String: Any]])?.compactMap { $0["execType"] as? String }
            #expect(executions == ["0", "5", "5", "F"], "\(filled)")
            let fill = (filled["executions"] as? [[String: Any]])?.last
            #expect(fill?["lastPrice"] as? String == "2490" && fill?["lastQuantity"] as? String == "4")
            let audit = Self.text(
                await harness.send(.get, "/api/enterprise/audit-trail?action=order.replaced", headers: owner))
            #expect(audit.contains("1000 → 4"), "\(audit)")
            // Filled: nothing left to replace.
            #expect(
                await harness.send(.post, replace, headers: owner, json: #"{"price":2480}"#).status == .conflict)

            running.cancel()
            await running.value
            await broker.stop()
            await loops.shutdown()
        }
    }

    /// A session outside its trading schedule is never connected, and says so.
    @Test func aSessionOutsideItsScheduleStaysAway() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let broker = try await QuickFIXBroker.start()
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let today = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][
                calendar.component(.weekday, from: Date()) - 1]
            let otherDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].filter { $0 != today }
            let days = otherDays.map { "\"\($0)\"" }.joined(separator: ",")
            let defined = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                json:
                    #"{"name":"Closed today","accountId":"\#(account)","host":"127.0.0.1","port":\#(broker.port),"senderCompID":"SCRYPTEX","targetCompID":"BROKER","tls":false,"schedule":{"days":[\#(days)],"start":"00:00","end":"24:00"}}"#
            )
            let session = try #require(Self.json(defined)["id"] as? String, "\(Self.text(defined))")
            #expect((Self.json(defined)["schedule"] as? [String: Any])?["end"] as? String == "24:00")
            let bad = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                json:
                    #"{"name":"Bad","accountId":"\#(account)","host":"127.0.0.1","port":1,"senderCompID":"A","targetCompID":"B","schedule":{"days":["mon"],"start":"07:00","end":"25:00"}}"#
            )
            #expect(bad.status == .badRequest && Self.text(bad).contains("schedule.end"), "\(Self.text(bad))")
            let loops = try EventLoopGroup(loopCount: 1, name: "schedule-test")
            let supervisor = BrokerOrderRoutingTests.supervisor(harness, loops: loops, owner: "host-schedule")
            let running = Task { await supervisor.run() }
            let shown = await BrokerOrderRoutingTests.eventually({
                Self.json(await harness.send(.get, "/api/enterprise/tradfi/broker-sessions/\(session)", headers: owner))
            }) { $0["statusDetail"] as? String == "outside its trading schedule" }
            #expect(shown["status"] as? String == "disconnected", "\(shown)")
            #expect(shown["statusDetail"] as? String == "outside its trading schedule")
            try await Task.sleep(for: .seconds(1))
            #expect(!broker.log.contains("logon"), "\(broker.log)")
            running.cancel()
            await running.value
            await broker.stop()
            await loops.shutdown()
        }
    }
}
