import Foundation
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import ScryptexTradFi
import Testing

@testable import ScryptexAPI
@testable import ScryptexApp

@Suite("Replacements through the outbox and the desk", .serialized)
struct BrokerReplaceDeskTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// The outbox sends an OrderCancelReplaceRequest once; the broker's refusal (OrderCancelReject,
    /// CxlRejResponseTo 2) is kept and a new replacement may then be asked; the broker's Replaced
    /// report applies the new terms and ClOrdID, and a fill naming the earlier ClOrdID still books.
    @Test func aReplacementIsSentOnceRefusedOrAppliedAndFillsStillMatch() async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await BrokerOrderRoutingTests.tradingAccount(harness)
            let base = "/api/enterprise/tradfi/"
            let session = try #require(
                Self.json(
                    await harness.send(
                        .post, base + "broker-sessions", headers: owner,
                        json:
                            #"{"name":"Desk","accountId":"\#(account)","host":"127.0.0.1","port":1,"senderCompID":"S","targetCompID":"T","tls":false}"#
                    ))["id"] as? String)
            let sessionID = try #require(UUID(uuidString: session))
            let entered = Self.json(
                await harness.send(
                    .post, base + "orders", headers: owner,
                    json:
                        #"{"sessionId":"\#(session)","clientOrderId":"d-1","symbol":"ETH/USD","side":"buy","quantity":10,"price":2500}"#
                ))
            let id = try #require((entered["routed"] as? [String: Any])?["id"] as? String)
            let scope = TenantScope(tenant: harness.tenant, pool: harness.pool)
            let audit = TenantAuditSink(schema: harness.tenant.schema, actor: "system:test", requestID: nil)
            func sweep() async throws -> [FIXMessage] {
                try await scope.withTransaction { transaction in
                    var sent: [FIXMessage] = []
                    _ = try await BrokerOrderOutbox().sendDue(session: sessionID, in: transaction) { message in
                        sent.append(message)
                        // Stored as the runner stores it, so a second sweep finds it.
                        try await transaction.execute(
                            """
                            INSERT INTO tradfi_fix_messages (session_id, sequence, message_type, message, cl_ord_id)
                            VALUES (\(sessionID), (SELECT coalesce(max(sequence), 0) + 1 FROM tradfi_fix_messages
                                                   WHERE session_id = \(sessionID)),
                                    \(message.type), 'x', \(message[FIXTag.clOrdID]))
                            """)
                    }
                    return sent
                }
            }
            func receive(_ type: String, _ fields: [(Int, String)]) async throws {
                try await scope.withTransaction { transaction in
                    _ = try await BrokerExecutionDesk().handle(
                        FIXMessage(type: type, fields: fields.map { FIXField($0.0, $0.1) }), session: sessionID,
                        audit: audit, in: transaction)
                }
            }
            let sent = try await sweep()
            #expect(sent.map(\.type) == ["D"])
            let original = try #require(sent.first?[FIXTag.clOrdID])
            try await receive(
                "8",
                [
                    (FIXTag.orderID, "B-1"), (FIXTag.execID, "E-1"), (FIXTag.execType, "0"), (FIXTag.ordStatus, "0"),
                    (FIXTag.clOrdID, original), (FIXTag.symbol, "ETH/USD"), (FIXTag.side, "1"),
                    (FIXTag.leavesQty, "10"), (FIXTag.cumQty, "0"), (FIXTag.avgPx, "0"),
                ])
            let replace = base + "orders/\(id)/replace"
            #expect(await harness.send(.post, replace, headers: owner, json: #"{"price":2505}"#).status == .accepted)
            let replacements = try await sweep()
            #expect(replacements.map(\.type) == ["G"])
            let first = try #require(replacements.first)
            #expect(first[FIXTag.origClOrdID] == original && first[FIXTag.price] == "2505")
            #expect(try await sweep().isEmpty, "a replacement is sent once")
            #expect(
                await harness.send(.post, replace, headers: owner, json: #"{"price":2506}"#).status == .conflict,
                "one replacement at a time")
            // Refused by the broker: kept, and another may be asked.
            try await receive(
                "9",
                [
                    (FIXTag.orderID, "B-1"), (FIXTag.clOrdID, first[FIXTag.clOrdID] ?? ""),
                    (FIXTag.origClOrdID, original), (FIXTag.ordStatus, "0"), (FIXTag.cxlRejResponseTo, "2"),
                    (FIXTag.text, "price outside the band"),
                ])
            var routed = Self.json(await harness.send(.get, base + "orders/\(id)", headers: owner))
            #expect((routed["replacement"] as? [String: Any])?["refused"] as? String == "price outside the band")
            #expect(
                await harness.send(.post, replace, headers: owner, json: #"{"quantity":6,"price":2502}"#).status
                    == .accepted)
            let second = try #require(try await sweep().first)
            let newID = try #require(second[FIXTag.clOrdID])
            try await receive(
                "8",
                [
                    (FIXTag.orderID, "B-1"), (FIXTag.execID, "E-2"), (FIXTag.execType, "5"), (FIXTag.ordStatus, "0"),
                    (FIXTag.clOrdID, newID), (FIXTag.origClOrdID, original), (FIXTag.symbol, "ETH/USD"),
                    (FIXTag.side, "1"), (FIXTag.leavesQty, "6"), (FIXTag.cumQty, "0"), (FIXTag.avgPx, "0"),
                ])
            routed = Self.json(await harness.send(.get, base + "orders/\(id)", headers: owner))
            #expect(routed["clOrdID"] as? String == newID && routed["replacement"] == nil, "\(routed)")
            let order = try #require(routed["order"] as? [String: Any])
            #expect(order["quantity"] as? String == "6" && order["limitPrice"] as? String == "2502")
            // A fill in flight under the first ClOrdID still books against the order.
            try await receive(
                "8",
                [
                    (FIXTag.orderID, "B-1"), (FIXTag.execID, "E-3"), (FIXTag.execType, "F"), (FIXTag.ordStatus, "1"),
                    (FIXTag.clOrdID, original), (FIXTag.symbol, "ETH/USD"), (FIXTag.side, "1"),
                    (FIXTag.leavesQty, "4"), (FIXTag.cumQty, "2"), (FIXTag.avgPx, "2500"), (FIXTag.lastQty, "2"),
                    (FIXTag.lastPx, "2500"),
                ])
            routed = Self.json(await harness.send(.get, base + "orders/\(id)", headers: owner))
            #expect((routed["order"] as? [String: Any])?["filledQuantity"] as? String == "2", "\(routed)")
            #expect(routed["status"] as? String == "partially_filled")
        }
    }
}
