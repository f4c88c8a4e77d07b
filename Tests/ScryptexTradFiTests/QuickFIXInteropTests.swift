import Foundation
import ScryptexEventLoops
import ScryptexHTTP
import ScryptexTestSupport
import Synchronization
import Testing

@testable import ScryptexTradFi

/// Our FIX engine against a counterparty no one here wrote: QuickFIX (Debian's libquickfix-dev),
/// built by the test into a small executor (Fixtures/executor.cpp) and started by it.
@Suite("FIX against QuickFIX", .serialized)
struct QuickFIXInteropTests {
    /// The executor, built once per source version.
    static func executor() async throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/executor.cpp"
        ).path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let binary =
            "/tmp/scryptex-fix-executor-\(bytes.count)-\(bytes.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFF_FFFF })"
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        let build = try ChildProcess(
            "/usr/bin/g++", ["-std=gnu++11", "-DHAVE_SSL=1", "-O1", "-o", binary, source, "-lquickfix", "-lpthread"])
        let status = await build.waitForExit(timeout: .seconds(300))
        guard status == 0 else {
            throw ChildProcessError(message: "g++ failed (\(String(describing: status))): \(build.output)")
        }
        return binary
    }

    /// A running executor on a fresh port and folder.
    struct Broker {
        let process: ChildProcess
        let port: Int
        let folder: String

        static func start(certificates: TestCertificates? = nil) async throws -> Broker {
            let folder = "/tmp/scryptex-quickfix-\(UInt64.random(in: 0...UInt64.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let port = Int.random(in: 20_000...40_000)
            var tls = ""
            if let certificates {
                let server = try certificates.server(["localhost"], keyType: .rsa2048)
                try server.certificatePEM.write(toFile: folder + "/server.pem", atomically: true, encoding: .utf8)
                try server.privateKeyPEM.write(toFile: folder + "/server.key", atomically: true, encoding: .utf8)
                tls = """
                    ServerCertificateFile=\(folder)/server.pem
                    ServerCertificateKeyFile=\(folder)/server.key
                    SSLProtocol=+TLSv1.2

                    """
            }
            let configuration = """
                [DEFAULT]
                ConnectionType=acceptor
                SocketAcceptPort=\(port)
                SocketReuseAddress=Y
                FileStorePath=\(folder)/store
                FileLogPath=\(folder)/log
                StartTime=00:00:00
                EndTime=00:00:00
                UseDataDictionary=N
                \(tls)BeginString=FIX.4.4
                SenderCompID=BROKER

                [SESSION]
                TargetCompID=SCRYPTEX
                """
            try configuration.write(toFile: folder + "/executor.cfg", atomically: true, encoding: .utf8)
            let process = try ChildProcess(
                try await QuickFIXInteropTests.executor(),
                [folder + "/executor.cfg"] + (certificates == nil ? [] : ["ssl"]))
            guard await process.waitForOutput(containing: "ready", timeout: .seconds(20)) else {
                throw ChildProcessError(message: "the executor did not start: \(process.output)")
            }
            return Broker(process: process, port: port, folder: folder)
        }

        func stop() async {
            process.send(SIGTERM)
            _ = await process.waitForExit(timeout: .seconds(10))
        }

        /// Everything the executor logged of its messages.
        var messagesLog: String {
            let folder = folder + "/log"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return files.filter { $0.hasSuffix(".messages.current.log") || $0.hasSuffix(".event.current.log") }
                .compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
        }
    }

    /// The host's outbound stream as a FIX transport.
    struct StreamTransport: FIXTransport {
        let stream: OutboundStream
        let events: AsyncStream<FIXTransportEvent>

        init(_ stream: OutboundStream) {
            self.stream = stream
            let (events, continuation) = AsyncStream.makeStream(of: FIXTransportEvent.self)
            self.events = events
            Task {
                for await event in stream.events {
                    switch event {
                    case .connected: continuation.yield(.connected)
                    case .received(let bytes): continuation.yield(.received(bytes))
                    case .closed(let reason): continuation.yield(.closed(reason))
                    }
                }
                continuation.finish()
            }
        }

        func write(_ bytes: [UInt8]) { stream.write(bytes) }
        func close(_ reason: String) { stream.close(reason) }
    }

    /// What the application received.
    final class Inbox: Sendable {
        let messages = Mutex<[FIXMessage]>([])

        func add(_ message: FIXMessage) { messages.withLock { $0.append(message) } }

        func wait(for count: Int, timeout: Duration = .seconds(10)) async -> [FIXMessage] {
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
        _ broker: Broker, port: Int? = nil, tls: TLSClientContext? = nil, store: any FIXMessageStore, inbox: Inbox,
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
            store: store, transport: StreamTransport(stream)
        ) { inbox.add($0) }
        let running = Task { await runner.run() }
        try await runner.waitUntilLoggedOn()
        return (runner, running)
    }

    @Test func logsOnTradesAndResumesItsNumbersAfterAReconnection() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-test")
        let broker = try await Broker.start()
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
        #expect(!broker.messagesLog.contains("MsgSeqNum too low"), "\(broker.messagesLog.suffix(2000))")
        await broker.stop()
        await group.shutdown()
        try? FileManager.default.removeItem(atPath: broker.folder)
    }

    /// FIX over TLS: QuickFIX's SSL acceptor, its certificate verified by our engine.
    @Test func tradesOverTLSAndRefusesAnUntrustedBroker() async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-tls-test")
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let broker = try await Broker.start(certificates: certificates)
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
        try? FileManager.default.removeItem(atPath: broker.folder)
    }

    /// A proxy that spoils the broker's `number`th message on the first connection (Fixtures/fixproxy.py).
    static func proxy(to broker: Broker, _ action: String, message number: Int) async throws -> (ChildProcess, Int) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/fixproxy.py"
        ).path
        let port = Int.random(in: 40_001...60_000)
        let process = try ChildProcess(
            "/usr/bin/python3", [script, String(port), String(broker.port), action, String(number)])
        guard await process.waitForOutput(containing: "listening", timeout: .seconds(20)) else {
            throw ChildProcessError(message: "the proxy did not start: \(process.output)")
        }
        return (process, port)
    }

    /// The broker's second message (the order's acknowledgement) lost, garbled or cut off with
    /// the connection: the engine asks for it again and gets acknowledgement and fill once each,
    /// in order.
    @Test(arguments: ["drop", "corrupt", "cut"])
    func aLostGarbledOrCutOffMessageIsResentOnce(action: String) async throws {
        let group = try EventLoopGroup(loopCount: 1, name: "fix-fault-test")
        let broker = try await Broker.start()
        let (proxy, port) = try await Self.proxy(to: broker, action, message: 2)
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
        try? FileManager.default.removeItem(atPath: broker.folder)
    }
}
