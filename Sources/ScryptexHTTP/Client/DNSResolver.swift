import Dispatch
import Foundation
import Glibc
import ScryptexCore

/// Asks a DNS server for a name's TXT records over UDP (RFC 1035): what domain verification
/// needs, and nothing more. IPv4 servers; answers bigger than a UDP datagram are not followed
/// over TCP (a verification record is a few dozen bytes).
public struct DNSResolver: Sendable {
    public var server: String
    public var port: Int
    public var timeout: Duration

    public init(server: String, port: Int = 53, timeout: Duration = .seconds(5)) {
        self.server = server
        self.port = port
        self.timeout = timeout
    }

    /// The resolver `DNS_RESOLVER` names (`host` or `host:port`), else the first IPv4
    /// `nameserver` of `/etc/resolv.conf`, else 127.0.0.1.
    public static func system(_ setting: String? = nil) -> DNSResolver {
        if let setting, !setting.isEmpty {
            let parts = setting.split(separator: ":")
            return DNSResolver(server: String(parts[0]), port: parts.count > 1 ? Int(parts[1]) ?? 53 : 53)
        }
        let configuration = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in configuration.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0] == "nameserver", inet_addr(String(words[1])) != INADDR_NONE {
                return DNSResolver(server: String(words[1]))
            }
        }
        return DNSResolver(server: "127.0.0.1")
    }

    /// The TXT records of `name` (each record's strings joined); empty when it has none or does
    /// not exist.
    /// - Throws: `DNSLookupError` when the server does not answer in time or answers with an
    ///   error; `ServiceError` for a name that is not a DNS name.
    public func txtRecords(for name: String) async throws -> [String] {
        let query = try Self.query(for: name, identifier: UInt16.random(in: 0...UInt16.max))
        let (server, port, timeout) = (server, port, timeout)
        // The socket calls block: they run on a dispatch thread, not the cooperative pool.
        let answer = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[UInt8], any Error>) in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { try Self.exchange(query, server: server, port: port, timeout: timeout) })
            }
        }
        return try Self.txtRecords(in: answer, identifier: UInt16(query[0]) << 8 | UInt16(query[1]))
    }

    static func query(for name: String, identifier: UInt16) throws -> [UInt8] {
        var packet: [UInt8] = [
            UInt8(identifier >> 8), UInt8(identifier & 0xFF), 0x01, 0x00,  // recursion desired
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count) else {
                throw ServiceError(.invalidInput, "'\(name)' is not a DNS name (a label is 1 to 63 bytes)")
            }
            packet.append(UInt8(bytes.count))
            packet += bytes
        }
        packet += [0x00, 0x00, 0x10, 0x00, 0x01]  // end of name, TXT, IN
        return packet
    }

    private static func exchange(_ query: [UInt8], server: String, port: Int, timeout: Duration) throws -> [UInt8] {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw DNSLookupError("cannot open a UDP socket for DNS") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(server)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(descriptor, query, query.count, 0, $0, length)
            }
        }
        guard sent == query.count else {
            throw DNSLookupError("cannot send a DNS query to \(server):\(port)")
        }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(
            timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else {
            throw DNSLookupError("the DNS server \(server):\(port) did not answer within \(timeout)")
        }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let received = recv(descriptor, &buffer, buffer.count, 0)
        guard received > 0 else { throw DNSLookupError("no answer from the DNS server \(server):\(port)") }
        return Array(buffer[..<received])
    }

    static func txtRecords(in packet: [UInt8], identifier: UInt16) throws -> [String] {
        func malformed() -> DNSLookupError { DNSLookupError("the DNS answer is malformed") }
        guard packet.count >= 12, UInt16(packet[0]) << 8 | UInt16(packet[1]) == identifier else { throw malformed() }
        let responseCode = packet[3] & 0x0F
        if responseCode == 3 { return [] }  // NXDOMAIN: the name does not exist
        guard responseCode == 0 else { throw DNSLookupError("the DNS server answered with error \(responseCode)") }
        let questions = Int(packet[4]) << 8 | Int(packet[5])
        let answers = Int(packet[6]) << 8 | Int(packet[7])
        var position = 12
        /// Moves past a (possibly compressed) name.
        func skipName() throws {
            while true {
                guard position < packet.count else { throw malformed() }
                let length = packet[position]
                if length == 0 {
                    position += 1
                    return
                }
                if length & 0xC0 == 0xC0 {
                    position += 2
                    return
                }
                position += 1 + Int(length)
            }
        }
        for _ in 0..<questions {
            try skipName()
            position += 4
        }
        var records: [String] = []
        for _ in 0..<answers {
            try skipName()
            guard position + 10 <= packet.count else { throw malformed() }
            let type = Int(packet[position]) << 8 | Int(packet[position + 1])
            let dataLength = Int(packet[position + 8]) << 8 | Int(packet[position + 9])
            position += 10
            guard position + dataLength <= packet.count else { throw malformed() }
            if type == 16 {
                var text: [UInt8] = []
                var offset = position
                while offset < position + dataLength {
                    let length = Int(packet[offset])
                    guard offset + 1 + length <= position + dataLength else { throw malformed() }
                    text += packet[(offset + 1)..<(offset + 1 + length)]
                    offset += 1 + length
                }
                records.append(String(decoding: text, as: UTF8.self))
            }
            position += dataLength
        }
        return records
    }
}

/// A DNS server that did not answer, or answered with an error or a malformed message.
public struct DNSLookupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
