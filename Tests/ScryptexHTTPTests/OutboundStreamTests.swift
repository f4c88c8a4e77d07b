import Foundation
import ScryptexEventLoops
import ScryptexTestSupport
import Testing

@testable import ScryptexHTTP

/// The event-loop stream a FIX session runs over, against the host's own TLS server.
@Suite("Outbound stream", .serialized)
struct OutboundStreamTests {
    static func exchange(
        _ stream: OutboundStream, _ request: String
    ) async -> (connected: Bool, text: String, closed: String?) {
        var connected = false
        var received: [UInt8] = []
        var closed: String?
        stream.write(Array(request.utf8))
        for await event in stream.events {
            switch event {
            case .connected: connected = true
            case .received(let bytes): received += bytes
            case .closed(let reason): closed = reason
            }
        }
        return (connected, String(decoding: received, as: UTF8.self), closed)
    }

    @Test func speaksTLSVerifiedAndPlainTCPOverALoop() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (store, _) = try certificates.storeWithDefault(["localhost"])
        let group = try EventLoopGroup(loopCount: 1, name: "stream-test")
        try await withTestServer(tls: store) { server in
            let context = try TLSClientContext(trustedCertificatesFile: certificates.caFile)
            let stream = try await OutboundStream.connect(
                host: "localhost", port: server.port, tls: context, publicOnly: false, on: group.next())
            // Written before the handshake finished: queued, then sent.
            let body = String(repeating: "x", count: 100_000)
            let outcome = await Self.exchange(
                stream,
                "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                    + body)
            #expect(outcome.connected)
            #expect(
                outcome.text.hasPrefix("HTTP/1.1 200") && outcome.text.hasSuffix(body), "\(outcome.text.prefix(200))")
            #expect(outcome.closed?.contains("closed the connection") == true, "\(outcome.closed ?? "")")
        }
        // A certificate for another name: the handshake fails saying so.
        let (other, _) = try certificates.storeWithDefault(["elsewhere.example"])
        try await withTestServer(tls: other) { server in
            let context = try TLSClientContext(trustedCertificatesFile: certificates.caFile)
            let stream = try await OutboundStream.connect(
                host: "localhost", port: server.port, tls: context, publicOnly: false, on: group.next())
            let outcome = await Self.exchange(stream, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(!outcome.connected && outcome.closed?.contains("mismatch") == true, "\(outcome.closed ?? "")")
        }
        // Refused: nothing listens; a private address refused when only public ones may be reached.
        await #expect(throws: HTTPSClientError.self) {
            _ = try await OutboundStream.connect(
                host: "127.0.0.1", port: 1, tls: nil, publicOnly: false, on: group.next())
        }
        let refused = await #expect(throws: HTTPSClientError.self) {
            _ = try await OutboundStream.connect(
                host: "127.0.0.1", port: 9, tls: nil, publicOnly: true, on: group.next())
        }
        #expect(refused?.message.contains("may not reach") == true)
        await group.shutdown()
    }
}
