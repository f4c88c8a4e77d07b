import Foundation
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

@testable import ScryptexApp
@testable import ScryptexTradFi

/// Our FIX engine against a counterparty no one here wrote: QuickFIX (Debian's libquickfix-dev),
/// built by the test into a small executor (ScryptexTestSupport's QuickFIX/executor.cpp) and started by it.
@Suite("FIX against QuickFIX", .serialized)
struct QuickFIXInteropTests {
    /// What the application received.
    final class Inbox: Sendable {
        let messages = Mutex<[FIXMessage]>([])

        func add(_ message: FIXMessage) { messages.withLock { $0.append(message) } }

        /// Returns as soon as `count` messages are in; the limit is for a loaded CI machine (10 s
        /// once was not enough for a reconnection and a fill while the whole suite ran).
        func wait(for count: Int, timeout: Duration = .seconds(40)) async -> [FIXMessage] {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let seen = messages.withLock { $0 }
                if seen.count >= count { return seen }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return messages.withLock { $0 }
        }
    }

    static func order(_ id: String, quantity: String, price: String) -> FIXMessage {
        FIXMessage(
            type: FIXMessageType.newOrderSingle,
            fields: [
                FIXField(FIXTag.clOrdID, id), FIXField(FIXTag.symbol, "BTC/USD"), FIXField(FIXTag.side, "1"),
                FIXField(FIXTag.transactTime, FIXTime.format(Date())), FIXField(FIXTag.orderQty, quantity),
                FIXField(FIXTag.ordType, "2"), FIXField(FIXTag.price, price),
            ])
    }

    static func connect(
        _ broker: QuickFIXBroker, port: Int? = nil, tls: TLSClientContext? = nil, store: any FIXMessageStore,
        inbox: Inbox,
        loop: EventLoop
    ) async throws -> (FIXSessionRunner, Task<String, Never>) {
        let (sender, target) = try await store.sequenceNumbers()
        let stream = try await OutboundStream.connect(
            host: tls == nil ? "127.0.0.1" : "localhost", port: port ?? broker.port, tls: tls, publicOnly: false,
            on: loop)
        let runner = FIXSessionRunner(
            session: FIXSession(
                role: .initiator, senderCompID: "SCRYPTEX", targetCompID: "BROKER", heartbeatInterval: 30,
                nextSenderSequence: sender, nextTargetSequence: target),
            store: store, transport: OutboundStreamTransport(stream)
        ) { inbox.add($0) }
        let running = Task { await runner.run() }
        try await runner.waitUntilLoggedOn()
        return (runner, running)
    }

    @Test func logsOnTradesAndResumesItsNumbersAfterAReconnection() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-test")
        let broker = try await QuickFIXBroker.start()
        let store = InMemoryFIXMessageStore()
        let inbox = Inbox()
        var (runner, running) = try await Self.connect(broker, store: store, inbox: inbox, loop: group.next())
        try await runner.send(Self.order("ORD-1", quantity: "2", price: "64000.5"))
        let reports = await inbox.wait(for: 2)
        #expect(reports.map(\.type) == ["8", "8"], "\(reports.map(\.readable))")
        let fill = try #require(reports.last)
        #expect(fill[FIXTag.execType] == "F" && fill[FIXTag.ordStatus] == "2", "\(fill.readable)")
        #expect(fill[FIXTag.lastQty].flatMap(Double.init) == 2 && fill[FIXTag.lastPx].flatMap(Double.init) == 64000.5)
        #expect(fill[FIXTag.clOrdID] == "ORD-1")
        // Too late to cancel: QuickFIX's OrderCancelReject, read as such.
        try await runner.send(
            FIXMessage(
                type: FIXMessageType.orderCancelRequest,
                fields: [
                    FIXField(FIXTag.origClOrdID, "ORD-1"), FIXField(FIXTag.clOrdID, "CXL-1"),
                    FIXField(FIXTag.symbol, "BTC/USD"), FIXField(FIXTag.side, "1"),
                    FIXField(FIXTag.transactTime, FIXTime.format(Date())),
                ]))
        let afterCancel = await inbox.wait(for: 3)
        #expect(afterCancel.last?.type == FIXMessageType.orderCancelReject, "\(afterCancel.map(\.readable))")
        await runner.logout("end of test day")
        #expect(await running.value == "logged out")

        // Again, with the numbers where they were: QuickFIX takes the Logon without a reset.
        let numbers = await store.sequenceNumbers()
        #expect(numbers.sender > 3 && numbers.target > 3, "\(numbers)")
        (runner, running) = try await Self.connect(broker, store: store, inbox: inbox, loop: group.next())
        try await runner.send(Self.order("ORD-2", quantity: "1", price: "63000"))
        let more = await inbox.wait(for: 5)
        #expect(more.last?[FIXTag.clOrdID] == "ORD-2" && more.last?[FIXTag.execType] == "F")
        await runner.logout()
        #expect(await running.value == "logged out")
        #expect(!broker.log.contains("MsgSeqNum too low"), "\(broker.log.suffix(2000))")
        await broker.stop()
        await group.shutdown()
    }

    /// FIX over TLS: QuickFIX's SSL acceptor, its certificate verified by our engine.
    @Test func tradesOverTLSAndRefusesAnUntrustedBroker() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-tls-test")
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let server = try certificates.server(["localhost"], keyType: .rsa2048)
        let broker = try await QuickFIXBroker.start(certificate: (server.certificatePEM, server.privateKeyPEM))
        let inbox = Inbox()
        let trusted = try TLSClientContext(trustedCertificatesFile: certificates.caFile)
        let (runner, running) = try await Self.connect(
            broker, tls: trusted, store: InMemoryFIXMessageStore(), inbox: inbox, loop: group.next())
        try await runner.send(Self.order("TLS-1", quantity: "3", price: "2500"))
        let reports = await inbox.wait(for: 2)
        #expect(reports.last?[FIXTag.execType] == "F" && reports.last?[FIXTag.clOrdID] == "TLS-1")
        await runner.logout()
        #expect(await running.value == "logged out")
        // A broker whose certificate no trusted authority signed: no logon, and why.
        let stranger = try TLSClientContext(trustedCertificatesFile: "/etc/ssl/certs/ca-certificates.crt")
        let refused = await #expect(throws: FIXSessionError.self) {
            _ = try await Self.connect(
                broker, tls: stranger, store: InMemoryFIXMessageStore(), inbox: inbox, loop: group.next())
        }
        #expect(refused?.message.contains("certificate") == true, "\(String(describing: refused))")
        await broker.stop()
        await group.shutdown()
    }

    /// The broker's second message (the order's acknowledgement) lost, garbled or cut off with
    /// the connection: the engine asks for it again and gets acknowledgement and fill once each,
    /// in order.
    @Test(arguments: ["drop", "corrupt", "cut"])
    func aLostGarbledOrCutOffMessageIsResentOnce(action: String) async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-fault-test")
        let broker = try await QuickFIXBroker.start()
        let (proxy, port) = try await broker.proxy(action, message: 2)
        let store = InMemoryFIXMessageStore()
        let inbox = Inbox()
        var (runner, running) = try await Self.connect(
            broker, port: port, store: store, inbox: inbox, loop: group.next())
        try await runner.send(Self.order("GAP-1", quantity: "5", price: "100.25"))
        if action == "cut" {
            let reason = await running.value
            #expect(reason.contains("closed the connection"), "\(reason)")
            #expect(await inbox.wait(for: 1, timeout: .milliseconds(300)).isEmpty)
            // Back on: the broker's Logon is numbered past what we had, so we ask for the rest.
            (runner, running) = try await Self.connect(
                broker, port: port, store: store, inbox: inbox, loop: group.next())
        }
        let reports = await inbox.wait(for: 2)
        try? await Task.sleep(for: .milliseconds(300))
        let settled = inbox.messages.withLock { $0 }
        let notes = await runner.log
        #expect(settled.map { $0[FIXTag.execType] } == ["0", "F"], "\(settled.map(\.readable)) \(notes)")
        #expect(Set(settled.compactMap { $0[FIXTag.execID] }).count == 2, "each execution once")
        #expect(reports.allSatisfy { $0[FIXTag.clOrdID] == "GAP-1" })
        #expect(proxy.output.contains("\(action) message 2"), "\(proxy.output)")
        if action == "corrupt" {
            #expect(notes.contains { $0.contains("dropped: CheckSum") }, "\(notes)")
        }
        await runner.logout()
        #expect(await running.value == "logged out")
        proxy.send(SIGTERM)
        _ = await proxy.waitForExit(timeout: .seconds(5))
        await broker.stop()
        await group.shutdown()
    }

    /// The store in the tenant's schema: a host that stops after storing an order but before
    /// writing it resumes from the database — its Logon is numbered past what the broker has,
    /// the broker asks for the rest, and the order is resent from the store and filled.
    @Test func aRestartResumesFromTheDatabaseAndResendsWhatWasNotWritten() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json: #"{"accountName":"Prime","accountType":"hedge_fund","legalName":"Prime Fund LP"}"#)
            let account = try #require(
                (try? JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any])?["id"] as? String)
            let broker = try await QuickFIXBroker.start()
            let scope = TenantScope(tenant: harness.tenant, pool: harness.pool)
            let defined = await harness.send(
                .post, "/api/enterprise/tradfi/broker-sessions", headers: owner,
                json:
                    #"{"name":"QuickFIX","accountId":"\#(account)","host":"127.0.0.1","port":\#(broker.port),"senderCompID":"SCRYPTEX","targetCompID":"BROKER","tls":false}"#
            )
            let sessionID = try #require(
                ((try? JSONSerialization.jsonObject(with: Data(defined.body)) as? [String: Any])?["id"] as? String)
                    .flatMap(UUID.init(uuidString:)), "\(String(decoding: defined.body, as: UTF8.self))")
            let store = PostgresFIXMessageStore(scope: scope, sessionID: sessionID)
            let group = try EventLoopGroup(loopCount: 1, name: "fix-store-test")
            let inbox = Inbox()
            var (runner, running) = try await Self.connect(broker, store: store, inbox: inbox, loop: group.next())
            try await runner.send(Self.order("DB-1", quantity: "1", price: "10"))
            #expect(await inbox.wait(for: 2).count == 2)
            await runner.logout()
            _ = await running.value
            let numbers = try await store.sequenceNumbers()
            #expect(
                numbers.sender == 4 && numbers.target == 5,
                "logon, order, logout sent; logon, two reports, logout received: \(numbers)")

            // Stored, never written: the host stopped in between.
            var stopped = FIXSession(
                role: .initiator, senderCompID: "SCRYPTEX", targetCompID: "BROKER",
                nextSenderSequence: numbers.sender, nextTargetSequence: numbers.target)
            let lost = stopped.stamp(
                Self.order("DB-LOST", quantity: "2", price: "11"), now: Date().timeIntervalSince1970)
            try await store.recordSent(lost, nextSender: stopped.nextSenderSequence)

            (runner, running) = try await Self.connect(broker, store: store, inbox: inbox, loop: group.next())
            let reports = await inbox.wait(for: 4)
            #expect(
                reports.suffix(2).map { $0[FIXTag.clOrdID] } == ["DB-LOST", "DB-LOST"], "\(reports.map(\.readable))")
            #expect(reports.last?[FIXTag.execType] == "F")
            await runner.logout()
            _ = await running.value
            let stored = try await scope.withTransaction { transaction in
                try await transaction.query(
                    "SELECT count(*)::int8 AS n FROM tradfi_fix_messages WHERE session_id = \(sessionID) AND message_type = 'D'"
                ).firstRow.decode("n", as: Int.self)
            }
            #expect(stored == 2)
            #expect(!broker.log.contains("MsgSeqNum too low"))
            await broker.stop()
            await group.shutdown()
        }
    }
}
