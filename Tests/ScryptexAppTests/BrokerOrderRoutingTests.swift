import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexAPI
@testable import ScryptexApp
@testable import ScryptexTradFi

/// Issue 24: orders routed to a prime broker over FIX — QuickFIX's executor, started by the test —
/// by the host's broker-session supervisor: logged on from the session's settings, orders checked
/// and sent, fills booked once as trades, cancels, and a restart that resumes the session.
@Suite("Orders routed to a broker over FIX", .serialized)
struct BrokerOrderRoutingTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// Polls `read` until `done` holds (or the time is up); returns the last value read.
    static func eventually<Value>(
        _ read: () async throws -> Value, timeout: Duration = .seconds(20), until done: (Value) -> Bool
    ) async rethrows -> Value {
        let deadline = ContinuousClock.now + timeout
        var value = try await read()
        while !done(value), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            value = try await read()
        }
        return value
    }

    /// A broker session named QuickFIX to `broker` for `account`, defined over the API; its id.
    static func quickFIXSession(
        _ harness: RouteHarness, owner: [(String, String)], account: String, broker: QuickFIXBroker
    ) async throws -> String {
        let defined = await harness.send(
            .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
            json:
                #"{"name":"QuickFIX","accountId":"\#(account)","host":"127.0.0.1","port":\#(broker.port),"senderCompID":"SCRYPTEX","targetCompID":"BROKER","tls":false,"heartbeatSeconds":5}"#
        )
        return try #require(json(defined)["id"] as? String, "\(text(defined))")
    }

    static func supervisor(_ harness: RouteHarness, loops: EventLoopGroup, owner: String) -> BrokerSessionSupervisor {
        var options = BrokerSessionSupervisor.Options()
        options.scanInterval = .milliseconds(200)
        options.sweepInterval = .milliseconds(500)
        return BrokerSessionSupervisor(
            pool: harness.pool, connector: OutboundBrokerConnector(loops: loops), owner: owner, options: options,
            logger: TestDatabase.logger
        ) { tenant in
            TenantAuditSink(schema: tenant.schema, actor: "system:tradfi", requestID: nil)
        }
    }

    /// An owner's and a compliance officer's credentials and an account ready to trade ETH/USD
    /// (KYC approved, an order limit of 50,000,000, a reference price of 2,500).
    static func tradingAccount(
        _ harness: RouteHarness
    ) async throws -> (owner: [(String, String)], officer: [(String, String)], account: String) {
        let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
        let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
        let account = try #require(
            Self.json(
                await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json:
                        #"{"accountName":"Prime","accountType":"hedge_fund","legalName":"Prime Fund LP","jurisdiction":"US","totalAUM":1000000000}"#
                ))["id"] as? String)
        _ = await harness.send(.post, "/api/enterprise/accounts/\(account)/kyc/submit", headers: owner)
        _ = await harness.send(
            .post, "/api/enterprise/accounts/\(account)/kyc/decision", headers: officer,
            json: #"{"status":"approved","reason":"verified"}"#)
        _ = await harness.send(
            .put, "/api/enterprise/accounts/\(account)/limits", headers: owner,
            json: #"{"maxOrderNotional":50000000}"#)
        _ = await harness.send(
            .post, "/api/enterprise/compliance/reference-prices", headers: owner,
            json: #"{"symbol":"ETH/USD","price":2500}"#)
        return (owner, officer, account)
    }

    /// The broker's connection lost mid-order — cut off just before the fill, or the fill garbled —
    /// the host reconnects by itself, asks for what it missed, and books the fill exactly once.
    @Test(arguments: ["cut", "corrupt"])
    func aFillLostWithTheConnectionIsBookedOnceAfterReconnecting(fault: String) async throws {
        try await RouteHarness.with { harness in
            let (owner, _, account) = try await Self.tradingAccount(harness)
            let broker = try await QuickFIXBroker.start()
            // The broker's third message on the first connection: Logon, acknowledgement, fill.
            let proxy = try await broker.proxy(fault, message: 3)
            let defined = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                json:
                    #"{"name":"Through a proxy","accountId":"\#(account)","host":"127.0.0.1","port":\#(proxy.port),"senderCompID":"SCRYPTEX","targetCompID":"BROKER","tls":false}"#
            )
            let session = try #require(Self.json(defined)["id"] as? String, "\(Self.text(defined))")
            let loops = try EventLoopGroup(loopCount: 1, name: "broker-fault-test")
            let supervisor = Self.supervisor(harness, loops: loops, owner: "host-fault")
            let running = Task { await supervisor.run() }
            let loggedOn = await Self.eventually({
                Self.json(
                    await harness.send(.get, "/api/enterprise/tradfi/broker-sessions/\(session)", headers: owner))
            }) { $0["status"] as? String == "logged_on" }
            #expect(loggedOn["status"] as? String == "logged_on", "\(loggedOn)")
            let entered = await harness.send(
                .post, "/api/enterprise/tradfi/orders", headers: owner,
                json:
                    #"{"sessionId":"\#(session)","clientOrderId":"lost-1","symbol":"ETH/USD","side":"sell","quantity":3,"price":2500}"#
            )
            let id = try #require(
                (Self.json(entered)["routed"] as? [String: Any])?["id"] as? String, "\(Self.text(entered))")
            let filled = await Self.eventually({
                Self.json(await harness.send(.get, "/api/enterprise/tradfi/orders/\(id)", headers: owner))
            }) { $0["status"] as? String == "filled" }
            #expect(filled["status"] as? String == "filled", "\(filled) \(proxy.process.output)")
            #expect(proxy.process.output.contains("\(fault) message 3"), "\(proxy.process.output)")
            let booked = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                transaction in
                try await transaction.query(
                    """
                    SELECT count(*)::int8 AS n FROM trades t JOIN tradfi_orders r ON r.order_id = t.order_id
                    WHERE r.id = \(UUID(uuidString: id)!)
                    """
                ).firstRow.decode("n", as: Int.self)
            }
            #expect(booked == 1)
            running.cancel()
            await running.value
            proxy.process.send(SIGTERM)
            _ = await proxy.process.waitForExit(timeout: .seconds(5))
            await broker.stop()
            await loops.shutdown()
        }
    }

    @Test func ordersAreCheckedSentFilledBookedOnceAndCancelled() async throws {
        try await RouteHarness.with { harness in
            let (owner, officer, account) = try await Self.tradingAccount(harness)
            let broker = try await QuickFIXBroker.start()
            let defined = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                json:
                    #"{"name":"QuickFIX","accountId":"\#(account)","host":"127.0.0.1","port":\#(broker.port),"senderCompID":"SCRYPTEX","targetCompID":"BROKER","tls":false,"heartbeatSeconds":5}"#
            )
            let session = try #require(Self.json(defined)["id"] as? String, "\(Self.text(defined))")
            let loops = try EventLoopGroup(loopCount: 1, name: "broker-test")
            let first = Self.supervisor(harness, loops: loops, owner: "host-a")
            let running = Task { await first.run() }
            func sessionStatus() async -> [String: Any] {
                Self.json(
                    await harness.send(.get, "/api/enterprise/tradfi/broker-sessions/\(session)", headers: owner))
            }
            let loggedOn = await Self.eventually({ await sessionStatus() }) { $0["status"] as? String == "logged_on" }
            #expect(loggedOn["status"] as? String == "logged_on", "\(loggedOn)")

            func submit(_ id: String, quantity: String, price: String = "2500") async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/tradfi/orders", headers: owner,
                    json:
                        #"{"sessionId":"\#(session)","clientOrderId":"\#(id)","symbol":"ETH/USD","side":"buy","quantity":\#(quantity),"price":\#(price)}"#
                )
            }
            func routed(_ id: String) async -> [String: Any] {
                Self.json(await harness.send(.get, "/api/enterprise/tradfi/orders/\(id)", headers: owner))
            }
            func settled(_ id: String, as status: String) async -> [String: Any] {
                await Self.eventually({ await routed(id) }) { $0["status"] as? String == status }
            }
            let scope = TenantScope(tenant: harness.tenant, pool: harness.pool)
            func trades(of routedID: String) async throws -> [(quantity: ExactDecimal, price: ExactDecimal)] {
                try await scope.withTransaction(readOnly: true) { transaction in
                    try await transaction.query(
                        """
                        SELECT t.quantity, t.price FROM trades t JOIN tradfi_orders r ON r.order_id = t.order_id
                        WHERE r.id = \(UUID(uuidString: routedID)!) AND t.cancelled_at IS NULL ORDER BY t.executed_at, t.id
                        """
                    ).map {
                        (
                            try $0.decode("quantity", as: ExactDecimal.self).normalized,
                            try $0.decode("price", as: ExactDecimal.self).normalized
                        )
                    }
                }
            }

            // Checked, sent, acknowledged and filled in full: one trade at the limit.
            let entered = await submit("fix-1", quantity: "2")
            #expect(entered.status == .created, "\(Self.text(entered))")
            let one = try #require((Self.json(entered)["routed"] as? [String: Any])?["id"] as? String)
            let filled = await settled(one, as: "filled")
            #expect(filled["status"] as? String == "filled", "\(filled)")
            #expect((filled["order"] as? [String: Any])?["status"] as? String == "filled")
            #expect(filled["brokerOrderId"] as? String == "BRK-1" && filled["cumulativeQuantity"] as? String == "2")
            let executions = try #require(filled["executions"] as? [[String: Any]])
            #expect(executions.map { $0["execType"] as? String } == ["0", "F"], "\(executions)")
            #expect(try await trades(of: one).map(\.quantity) == [ExactDecimal(2)])
            // The same clientOrderId again: the same order, not a second one.
            let again = await submit("fix-1", quantity: "2")
            #expect(again.status == .ok && (Self.json(again)["routed"] as? [String: Any])?["id"] as? String == one)

            // From 100 the broker fills in two halves: two trades, the order filled.
            let halves = try #require(
                (Self.json(await submit("fix-2", quantity: "150"))["routed"] as? [String: Any])?["id"] as? String)
            #expect(await settled(halves, as: "filled")["status"] as? String == "filled")
            #expect(try await trades(of: halves).map(\.quantity) == [ExactDecimal(75), ExactDecimal(75)])

            // From 1000 it rests; a cancel is sent and the broker cancels it.
            let resting = try #require(
                (Self.json(await submit("fix-3", quantity: "1000"))["routed"] as? [String: Any])?["id"] as? String)
            #expect(await settled(resting, as: "acknowledged")["status"] as? String == "acknowledged")
            let cancelling = await harness.send(
                .post, "/api/enterprise/tradfi/orders/\(resting)/cancel", headers: owner)
            #expect(cancelling.status == .accepted, "\(Self.text(cancelling))")
            let cancelled = await settled(resting, as: "cancelled")
            #expect(cancelled["status"] as? String == "cancelled", "\(cancelled)")
            #expect((cancelled["order"] as? [String: Any])?["status"] as? String == "cancelled")
            #expect(try await trades(of: resting).isEmpty)
            // Worked by the broker: the compliance routes neither cancel it nor book a fill for it
            // (the broker's reports do), and say where to go.
            let resting2 = try #require(
                (Self.json(await submit("fix-3b", quantity: "1000"))["routed"] as? [String: Any]))
            let resting2Order = try #require((resting2["order"] as? [String: Any])?["id"] as? String)
            let resting2ID = try #require(resting2["id"] as? String)
            // Working at the broker (a cancel before it is sent would stop it here: not_sent).
            #expect(await settled(resting2ID, as: "acknowledged")["status"] as? String == "acknowledged")
            let sideCancel = await harness.send(
                .post, "/api/enterprise/orders/\(resting2Order)/cancel", headers: owner)
            #expect(
                sideCancel.status == .conflict && Self.text(sideCancel).contains("/cancel"), "\(Self.text(sideCancel))")
            let sideFill = await harness.send(
                .post, "/api/enterprise/orders/\(resting2Order)/fills", headers: owner,
                json: #"{"quantity":1,"price":2500}"#)
            #expect(sideFill.status == .conflict && Self.text(sideFill).contains("execution reports"))
            #expect(
                await harness.send(.post, "/api/enterprise/tradfi/orders/\(resting2ID)/cancel", headers: owner).status
                    == .accepted)
            #expect(await settled(resting2ID, as: "cancelled")["status"] as? String == "cancelled")
            // A filled order has nothing to cancel.
            let late = await harness.send(.post, "/api/enterprise/tradfi/orders/\(one)/cancel", headers: owner)
            #expect(late.status == .conflict && Self.text(late).contains("filled"), "\(Self.text(late))")

            // Refused by the pre-trade check (over the order limit): 422, nothing routed or sent.
            let refused = await submit("fix-4", quantity: "30000")
            #expect(refused.status == .unprocessableContent, "\(Self.text(refused))")
            #expect(Self.json(refused)["routed"] == nil && Self.text(refused).contains("order_limit"))

            // Held for review (8 % from the reference): not sent until a second person approves it.
            let review = await submit("fix-6", quantity: "1", price: "2700")
            #expect(review.status == .created, "\(Self.text(review))")
            let held = try #require((Self.json(review)["routed"] as? [String: Any])?["id"] as? String)
            #expect((Self.json(review)["routed"] as? [String: Any])?["status"] as? String == "held")
            try? await Task.sleep(for: .seconds(1))
            #expect(await routed(held)["status"] as? String == "held")
            let heldOrder = try #require((Self.json(review)["order"] as? [String: Any])?["id"] as? String)
            let approved = await harness.send(.post, "/api/enterprise/orders/\(heldOrder)/approve", headers: officer)
            #expect(approved.status == .ok, "\(Self.text(approved))")
            #expect(await settled(held, as: "filled")["status"] as? String == "filled")

            // A fill resent after a reconnection (same ExecID) books nothing.
            let sessionID = try #require(UUID(uuidString: session))
            let desk = BrokerExecutionDesk()
            let audit = TenantAuditSink(schema: harness.tenant.schema, actor: "system:tradfi", requestID: nil)
            let fillID = try #require(executions.last?["execId"] as? String)
            let resent = FIXMessage(
                type: FIXMessageType.executionReport,
                fields: [
                    FIXField(FIXTag.orderID, "BRK-1"), FIXField(FIXTag.execID, fillID), FIXField(FIXTag.execType, "F"),
                    FIXField(FIXTag.ordStatus, "2"), FIXField(FIXTag.symbol, "ETH/USD"), FIXField(FIXTag.side, "1"),
                    FIXField(FIXTag.leavesQty, "0"), FIXField(FIXTag.cumQty, "2"), FIXField(FIXTag.avgPx, "2500"),
                    FIXField(FIXTag.lastQty, "2"), FIXField(FIXTag.lastPx, "2500"),
                    FIXField(FIXTag.clOrdID, try #require(filled["clOrdID"] as? String)),
                    FIXField(FIXTag.possDupFlag, "Y"),
                ])
            let outcome = try await scope.withTransaction {
                try await desk.handle(resent, session: sessionID, audit: audit, in: $0)
            }
            #expect(outcome == .duplicate)
            #expect(try await trades(of: one).count == 1)
            // A fill for an order that is not ours: kept, nothing booked, an alert raised.
            var stranger = resent
            stranger.set(FIXTag.execID, "EXE-STRANGER")
            stranger.set(FIXTag.clOrdID, "not-ours")
            #expect(
                try await scope.withTransaction {
                    try await desk.handle(stranger, session: sessionID, audit: audit, in: $0)
                } == .recorded)
            // A fill that can never be stored (a price beyond the columns): counted with an alert, not
            // thrown back (the broker would resend it forever).
            var huge = resent
            huge.set(FIXTag.execID, "EXE-HUGE")
            huge.set(FIXTag.lastPx, "1" + String(repeating: "0", count: 25))
            try await desk.handle(huge, session: sessionID, audit: audit) { body in
                try await scope.withTransaction { try await body($0) }
            }
            let alerts = Self.text(
                await harness.send(.get, "/api/enterprise/compliance/alerts", headers: officer))
            #expect(alerts.contains("broker_execution_unknown_order"), "\(alerts)")
            #expect(alerts.contains("broker_message_unhandled"), "\(alerts)")
            #expect(try await trades(of: one).count == 1)

            // The host stops: it logs out and gives up the lease; another host takes the session,
            // logs on with the numbers kept, and trades on.
            running.cancel()
            await running.value
            let released = await sessionStatus()
            #expect(released["status"] as? String == "disconnected", "\(released)")
            let second = Self.supervisor(harness, loops: loops, owner: "host-b")
            let resumed = Task { await second.run() }
            #expect(
                await Self.eventually({ await sessionStatus() }) { $0["status"] as? String == "logged_on" }["status"]
                    as? String == "logged_on")
            let after = try #require(
                (Self.json(await submit("fix-5", quantity: "1", price: "2490"))["routed"] as? [String: Any])?["id"]
                    as? String)
            #expect(await settled(after, as: "filled")["status"] as? String == "filled")
            #expect(!broker.log.contains("MsgSeqNum too low"), "\(broker.log)")
            // The broker's positions, asked for over FIX, agree with the book: 2 + 150 + 1 + 1 bought.
            let asked = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions/\(session)/position-requests", headers: owner)
            #expect(asked.status == .accepted, "\(Self.text(asked))")
            let reported = await Self.eventually({
                Self.json(
                    await harness.send(
                        .get, "/api/enterprise/tradfi/broker-sessions/\(session)/positions", headers: owner))
            }) { !(($0["positions"] as? [[String: Any]]) ?? []).isEmpty }
            let position = try #require((reported["positions"] as? [[String: Any]])?.first, "\(reported)")
            #expect(
                position["symbol"] as? String == "ETH/USD" && position["quantity"] as? String == "154", "\(position)")
            #expect(position["posReqId"] as? String == Self.json(asked)["posReqId"] as? String)
            #expect((position["businessDate"] as? String)?.count == 10)
            // Reconciled against the book: every position matches.
            let reconciled = Self.json(
                await harness.send(
                    .post, "/api/enterprise/tradfi/reconciliations", headers: owner,
                    json: #"{"source":"fix_positions","sessionId":"\#(session)"}"#))
            #expect(
                reconciled["matched"] as? Int == 1 && reconciled["breakCount"] as? Int == 0
                    && reconciled["sourceName"] as? String == "QuickFIX", "\(reconciled)")
            // Everything the broker holds was traded through the platform: nothing beyond the
            // book reaches the regulatory reports.
            let beyond = try await scope.withTransaction(readOnly: true) {
                try await PlatformHoldings().positions(
                    ofAccounts: [UUID(uuidString: account)!], before: Date().addingTimeInterval(60), in: $0)
            }
            #expect(beyond.isEmpty, "\(beyond)")
            let listed = Self.json(
                await harness.send(.get, "/api/enterprise/tradfi/orders?sessionId=\(session)", headers: owner))
            #expect((listed["orders"] as? [[String: Any]])?.count == 6)
            resumed.cancel()
            await resumed.value
            await broker.stop()
            await loops.shutdown()
        }
    }

    /// FIX over TLS from the session's settings: the broker's authority given as PEM through the
    /// API (kept in the database) is the only one trusted; a session trusting another authority
    /// never logs on and says why.
    @Test func aSessionOverTLSTrustsTheAuthorityItWasGiven() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"Prime","accountType":"hedge_fund","legalName":"Prime Fund LP"}"#)
                )["id"] as? String)
            let certificates = try TestCertificates()
            defer { certificates.remove() }
            let strangers = try TestCertificates()
            defer { strangers.remove() }
            let server = try certificates.server(["localhost"], keyType: .rsa2048)
            let broker = try await QuickFIXBroker.start(certificate: (server.certificatePEM, server.privateKeyPEM))
            // QuickFIX's SSL acceptor stalls after a client refuses its certificate: the impostor
            // session meets a broker process of its own.
            let other = try await QuickFIXBroker.start(certificate: (server.certificatePEM, server.privateKeyPEM))
            func define(_ name: String, trusting authority: String, targetCompID: String) async throws -> String {
                let body: [String: Any] = [
                    "name": name, "accountId": account, "host": "localhost",
                    "port": targetCompID == "BROKER" ? broker.port : other.port,
                    "senderCompID": "SCRYPTEX", "targetCompID": targetCompID, "tls": true,
                    "trustedCertificates": authority,
                ]
                let created = await harness.send(
                    .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                    json: String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
                return try #require(Self.json(created)["id"] as? String, "\(Self.text(created))")
            }
            let trusted = try await define(
                "QuickFIX TLS", trusting: certificates.authority.certificatePEM, targetCompID: "BROKER")
            let untrusted = try await define(
                "Impostor", trusting: strangers.authority.certificatePEM, targetCompID: "BROKER2")
            let loops = try EventLoopGroup(loopCount: 1, name: "broker-tls-test")
            let supervisor = Self.supervisor(harness, loops: loops, owner: "host-tls")
            let running = Task { await supervisor.run() }
            func status(_ id: String) async -> [String: Any] {
                Self.json(await harness.send(.get, "/api/enterprise/tradfi/broker-sessions/\(id)", headers: owner))
            }
            let loggedOn = await Self.eventually({ await status(trusted) }) { $0["status"] as? String == "logged_on" }
            #expect(loggedOn["status"] as? String == "logged_on", "\(loggedOn)")
            #expect(loggedOn["trustsOwnAuthorities"] as? Bool == true)
            let refused = await Self.eventually({ await status(untrusted) }) {
                ($0["statusDetail"] as? String ?? "").contains("certificate")
            }
            #expect(refused["status"] as? String != "logged_on", "\(refused)")
            #expect((refused["statusDetail"] as? String ?? "").contains("certificate"), "\(refused)")
            running.cancel()
            await running.value
            await broker.stop()
            await other.stop()
            await loops.shutdown()
        }
    }
}
