import Foundation
import ScryptexCrypto
import ScryptexTestSupport
import Testing

@testable import ScryptexHTTP

@Suite("HTTPS client", .serialized)
struct HTTPSClientTests {
    @Test func verifiesTheServersNameOrAddress() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (store, _) = try certificates.storeWithDefault(["localhost", "127.0.0.1"])
        try await withTestServer(tls: store) { server in
            let client = HTTPSClient(trustedCertificatesFile: certificates.caFile)
            for url in ["https://localhost:\(server.port)/healthz", "https://127.0.0.1:\(server.port)/healthz"] {
                let response = try await client.send(.get, url)
                #expect(response.status == 200, "\(url)")
                #expect(String(decoding: response.body, as: UTF8.self) == #"{"status":"ok"}"#)
            }
            let echoed = try await client.send(.post, "https://localhost:\(server.port)/echo", body: Array("ping".utf8))
            #expect(String(decoding: echoed.body, as: UTF8.self) == "ping")
            let missing = try await client.send(.get, "https://localhost:\(server.port)/nowhere")
            #expect(missing.status == 404 && missing.headers.first("content-type") == "application/problem+json")
        }
    }

    @Test func refusesACertificateForAnotherNameOrAnUntrustedOne() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (store, _) = try certificates.storeWithDefault(["elsewhere.example"])
        try await withTestServer(tls: store) { server in
            let client = HTTPSClient(trustedCertificatesFile: certificates.caFile)
            for url in ["https://localhost:\(server.port)/healthz", "https://127.0.0.1:\(server.port)/healthz"] {
                let error = await #expect(throws: HTTPSClientError.self) { try await client.send(.get, url) }
                #expect(error?.message.contains("mismatch") == true, "\(String(describing: error))")
            }
            let untrusting = HTTPSClient(trustedCertificatesFile: "/etc/ssl/certs/ca-certificates.crt")
            let error = await #expect(throws: HTTPSClientError.self) {
                try await untrusting.send(.get, "https://localhost:\(server.port)/healthz")
            }
            #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
        }
        let error = await #expect(throws: HTTPSClientError.self) {
            try await HTTPSClient().send(.get, "http://localhost/healthz")
        }
        #expect(error?.message.contains("is not an https URL") == true)
    }

    @Test func readsContentLengthChunkedAndCloseDelimitedBodies() throws {
        func read(_ chunks: [String]) throws -> HTTPSClient.Response? {
            var reader = ResponseReader(maximumBodyBytes: 1_000, isHead: false)
            for chunk in chunks {
                if let response = try reader.append(ArraySlice(chunk.utf8)) { return response }
            }
            return try reader.finish()
        }
        let sized = try read(["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", "lo"])
        #expect(sized.map { String(decoding: $0.body, as: UTF8.self) } == "hello")
        let chunked = try read([
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "2;ext=1\r\nde\r\n0\r\n\r\n",
        ])
        #expect(chunked?.status == 201 && chunked.map { String(decoding: $0.body, as: UTF8.self) } == "abcde")
        let closed = try read(["HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"])
        #expect(closed.map { String(decoding: $0.body, as: UTF8.self) } == "until the end")
        #expect(try read(["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]) == nil)
        #expect(throws: HTTPSClientError.self) { try read(["SSH-2.0-OpenSSH\r\n\r\n"]) }
        #expect(throws: HTTPSClientError.self) { try read(["HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n"]) }
    }

    @Test func responsesAreReadWithTheServersRules() throws {
        func read(_ text: String, head: Bool = false, byteAtATime: Bool = false) throws -> HTTPSClient.Response? {
            var reader = ResponseReader(maximumBodyBytes: 1_000, isHead: head)
            let bytes = Array(text.utf8)
            for piece in byteAtATime ? bytes.map({ [$0] }) : [bytes] {
                if let response = try reader.append(piece[...]) { return response }
            }
            return try reader.finish()
        }
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n4\r\nwxyz\r\n0\r\nT: 1\r\n\r\n"
        #expect(try read(text, byteAtATime: true)?.body == Array("wxyz".utf8))
        #expect(try read(text)?.headers.first("x") == "y")
        // Interim responses are skipped; HEAD, 204 and 304 have no body whatever the fields say.
        let interim = try read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
        #expect(interim?.status == 201 && interim?.body == Array("ok".utf8))
        #expect(try read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", head: true)?.body == [])
        #expect(try read("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")?.status == 204)
        #expect(try read("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")?.status == 200)
        // What the server refuses in requests is refused in responses too.
        for malformed in [
            "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",  // bare LF
            "HTTP/1.1 200 OK\r\nX: 1\r\n 2\r\nContent-Length: 0\r\n\r\n",  // obs-fold
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab",  // conflicting lengths
            "HTTP/1.1 20 OK\r\n\r\n",  // not three digits
            "HTTP/2.0 200 OK\r\n\r\n",  // not HTTP/1.x
            "HTTP/1.1 200 OK\r\nBad Name: 1\r\n\r\n",  // whitespace in a field name
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  // chunk size not hex
        ] {
            #expect(throws: HTTPSClientError.self, "\(malformed)") { try read(malformed) }
        }
        // A body that runs to the close is bounded like the others.
        #expect(throws: HTTPSClientError.self) {
            try read("HTTP/1.1 200 OK\r\n\r\n" + String(repeating: "x", count: 1_001))
        }
    }
}

/// A URL a tenant supplies (a report webhook) must not make the host call its own network.
@Suite("Public addresses only")
struct PublicAddressTests {
    @Test func nonPublicRangesAreNamed() {
        let refused: [[UInt8]] = [
            [127, 0, 0, 1], [10, 1, 2, 3], [172, 20, 0, 1], [192, 168, 1, 1], [169, 254, 169, 254], [100, 64, 0, 1],
            [0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255],
        ]
        for address in refused { #expect(AddressClassification.nonPublicReason(ipv4: address) != nil, "\(address)") }
        for address: [UInt8] in [[8, 8, 8, 8], [172, 32, 0, 1], [192, 169, 0, 1], [1, 1, 1, 1]] {
            #expect(AddressClassification.nonPublicReason(ipv4: address) == nil, "\(address)")
        }
        #expect(AddressClassification.nonPublicReason(ipv4: [169, 254, 169, 254]) == "169.254.169.254 (link-local)")
        var loopback = [UInt8](repeating: 0, count: 16)
        loopback[15] = 1
        #expect(AddressClassification.nonPublicReason(ipv6: loopback) != nil)
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1]
        #expect(AddressClassification.nonPublicReason(ipv6: mapped) == "10.0.0.1 (a private address)")
        #expect(AddressClassification.nonPublicReason(ipv6: [0xFD] + [UInt8](repeating: 1, count: 15)) != nil)
        #expect(AddressClassification.nonPublicReason(ipv6: [0xFE, 0x80] + [UInt8](repeating: 0, count: 14)) != nil)
        #expect(
            AddressClassification.nonPublicReason(ipv6: [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 12))
                == nil)
    }

    /// Refused before any connection: loopback by address and by name.
    @Test func aPublicOnlyClientRefusesLoopback() async {
        let client = HTTPSClient(timeout: .seconds(2), addresses: .publicOnly)
        for url in ["https://127.0.0.1:9/", "https://localhost:9/hook"] {
            do {
                _ = try await client.send(.post, url, body: Array("{}".utf8))
                Issue.record("\(url) was not refused")
            } catch {
                #expect("\(error)".contains("(loopback") && "\(error)".contains("may not reach"), "\(error)")
            }
        }
    }
}
