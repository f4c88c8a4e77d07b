import ScryptexHTTP
import Testing

/// The PROXY protocol header as HAProxy sends it (byte layouts from the specification,
/// haproxy.org/download/2.6/doc/proxy-protocol.txt), and the address ranges trusted to send it.
@Suite("PROXY protocol headers")
struct ProxyProtocolTests {
    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    @Test func versionOneGivesTheClientsAddress() {
        let header = Array("PROXY TCP4 203.0.113.9 192.0.2.1 51234 443\r\n".utf8)
        let tls: [UInt8] = [0x16, 0x03, 0x01]
        #expect(ProxyProtocol.parse(header + tls) == .header(length: header.count, source: "203.0.113.9"))
        let six = Array("PROXY TCP6 2001:db8::7 2001:db8::1 51234 443\r\n".utf8)
        #expect(ProxyProtocol.parse(six) == .header(length: six.count, source: "2001:db8::7"))
        let unknown = Array("PROXY UNKNOWN\r\n".utf8)
        #expect(ProxyProtocol.parse(unknown) == .header(length: unknown.count, source: nil))
        #expect(ProxyProtocol.parse(Array("PROXY TCP4 203.0.113.9".utf8)) == .incomplete)
        #expect(ProxyProtocol.parse(Array("PRO".utf8)) == .incomplete)
    }

    @Test func versionTwoGivesTheClientsAddressAndSkipsExtensions() {
        // PROXY, TCP over IPv4, 12 address bytes and a 7-byte TLV (PP2_TYPE_AUTHORITY "a.b").
        let addresses: [UInt8] = [203, 0, 113, 9, 192, 0, 2, 1, 0xC8, 0x22, 0x01, 0xBB]
        let extensionBytes: [UInt8] = [0x02, 0x00, 0x03] + Array("a.b".utf8) + [0x00]
        let body = addresses + extensionBytes
        let header = Self.signature + [0x21, 0x11, 0x00, UInt8(body.count)] + body
        #expect(ProxyProtocol.parse(header + [0x16, 0x03]) == .header(length: header.count, source: "203.0.113.9"))
        #expect(ProxyProtocol.parse(Array(header.prefix(20))) == .incomplete)
        // IPv6.
        let six: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [7]
        let sixBody = six + [UInt8](repeating: 0, count: 16) + [0, 1, 0, 2]
        let sixHeader = Self.signature + [0x21, 0x21, 0x00, UInt8(sixBody.count)] + sixBody
        #expect(ProxyProtocol.parse(sixHeader) == .header(length: sixHeader.count, source: "2001:db8::7"))
        // LOCAL (the balancer's own connection): the peer's address stands.
        let local = Self.signature + [0x20, 0x00, 0x00, 0x00]
        #expect(ProxyProtocol.parse(local) == .header(length: 16, source: nil))
    }

    @Test func aConnectionWithoutAHeaderAndBrokenHeadersAreTold() {
        #expect(ProxyProtocol.parse([0x16, 0x03, 0x01, 0x02, 0x00]) == .absent)  // a TLS ClientHello
        #expect(ProxyProtocol.parse(Array("GET / HTTP/1.1\r\n".utf8)) == .absent)
        #expect(ProxyProtocol.parse(Array("PUT / HTTP/1.1\r\n".utf8)) == .absent)
        guard case .invalid = ProxyProtocol.parse(Array("PROXY TCP4 not-an-address 192.0.2.1 1 2\r\n".utf8)) else {
            Issue.record("a v1 header with a bad address was taken")
            return
        }
        guard case .invalid = ProxyProtocol.parse(Array("PROXY TCP4 1.2.3.4\n".utf8)) else {
            Issue.record("a v1 header without CRLF was taken")
            return
        }
        guard case .invalid = ProxyProtocol.parse(Array(("PROXY " + String(repeating: "x", count: 120)).utf8)) else {
            Issue.record("an endless v1 header was waited for")
            return
        }
        guard
            case .invalid = ProxyProtocol.parse(
                Self.signature + [0x31, 0x11, 0x00, 0x0C] + [UInt8](repeating: 1, count: 12))
        else {
            Issue.record("a v2 header of version 3 was taken")
            return
        }
        guard case .invalid = ProxyProtocol.parse(Self.signature + [0x21, 0x11, 0xFF, 0xFF]) else {
            Issue.record("a 64 KiB v2 header was waited for")
            return
        }
    }

    @Test func addressRanges() throws {
        let private10 = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(private10.contains("10.200.3.4") && !private10.contains("11.0.0.1") && !private10.contains("::1"))
        let one = try #require(IPAddressRange("127.0.0.1"))
        #expect(one.contains("127.0.0.1") && !one.contains("127.0.0.2"))
        let six = try #require(IPAddressRange("2001:db8::/32"))
        #expect(six.contains("2001:db8:1::5") && !six.contains("2001:db9::1"))
        #expect(try #require(IPAddressRange("192.0.2.0/25")).contains("192.0.2.127"))
        #expect(!(try #require(IPAddressRange("192.0.2.0/25")).contains("192.0.2.128")))
        for bad in ["10.0.0.0/33", "not-an-address", "10.0.0.0/", "10.0.0.0/8/1", ""] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
        #expect(private10.description == "10.0.0.0/8")
    }
}
