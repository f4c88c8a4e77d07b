import Glibc

/// The PROXY protocol header (versions 1 and 2, as HAProxy sends it with `send-proxy` /
/// `send-proxy-v2`) that a load balancer in TCP mode puts before the client's bytes, so the host
/// sees the client's address rather than the balancer's. Read only from the sources the host
/// trusts (`PROXY_PROTOCOL_FROM`); anyone else could claim any address with it.
public enum ProxyProtocol {
    public enum Parsed: Equatable, Sendable {
        /// More bytes are needed to know.
        case incomplete
        /// The connection does not start with a header (a TLS handshake, a health check from the
        /// balancer itself): the peer's own address stands.
        case absent
        /// A header of `length` bytes; `source` is the client's address (nil for a LOCAL or
        /// UNKNOWN header, where the peer's own address stands).
        case header(length: Int, source: String?)
        case invalid(String)
    }

    /// The longest header read: version 1 is at most 107 bytes; version 2 carries TLVs the host
    /// skips, up to this much in all.
    public static let largestHeader = 1024

    static let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// Reads a header at the start of `bytes` (what has arrived so far).
    public static func parse(_ bytes: [UInt8]) -> Parsed {
        if bytes.isEmpty { return .incomplete }
        if bytes[0] == signature[0] { return parseVersion2(bytes) }
        if bytes[0] == UInt8(ascii: "P") { return parseVersion1(bytes) }
        return .absent
    }

    private static func parseVersion2(_ bytes: [UInt8]) -> Parsed {
        let prefix = min(bytes.count, signature.count)
        guard Array(bytes[0..<prefix]) == Array(signature[0..<prefix]) else { return .absent }
        guard bytes.count >= 16 else { return .incomplete }
        let versionAndCommand = bytes[12]
        guard versionAndCommand >> 4 == 2 else {
            return .invalid("PROXY v2 header of version \(versionAndCommand >> 4)")
        }
        let length = 16 + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard length <= largestHeader else { return .invalid("PROXY v2 header of \(length) bytes") }
        guard bytes.count >= length else { return .incomplete }
        switch versionAndCommand & 0x0F {
        case 0x0: return .header(length: length, source: nil)  // LOCAL: the balancer itself
        case 0x1: break
        default: return .invalid("PROXY v2 command \(versionAndCommand & 0x0F)")
        }
        let body = Array(bytes[16..<length])
        switch bytes[13] {
        case 0x11, 0x12:  // TCP or UDP over IPv4: source, destination, ports
            guard body.count >= 12 else { return .invalid("PROXY v2 IPv4 addresses cut short") }
            return .header(length: length, source: text(Array(body[0..<4]), family: AF_INET))
        case 0x21, 0x22:  // over IPv6
            guard body.count >= 36 else { return .invalid("PROXY v2 IPv6 addresses cut short") }
            return .header(length: length, source: text(Array(body[0..<16]), family: AF_INET6))
        default:
            return .header(length: length, source: nil)  // UNSPEC or unix: no address to take
        }
    }

    private static func parseVersion1(_ bytes: [UInt8]) -> Parsed {
        let start = Array("PROXY ".utf8)
        let prefix = min(bytes.count, start.count)
        guard Array(bytes[0..<prefix]) == Array(start[0..<prefix]) else { return .absent }
        guard let end = bytes.firstIndex(of: 0x0A) else {
            return bytes.count >= 107 ? .invalid("PROXY v1 header longer than 107 bytes") : .incomplete
        }
        guard end > 0, bytes[end - 1] == 0x0D, end < 107 else { return .invalid("PROXY v1 header not ended by CRLF") }
        let fields = String(decoding: bytes[0..<(end - 1)], as: UTF8.self).split(separator: " ")
        guard fields.count >= 2 else { return .invalid("PROXY v1 header without a protocol") }
        switch fields[1] {
        case "UNKNOWN": return .header(length: end + 1, source: nil)
        case "TCP4", "TCP6":
            guard fields.count == 6 else { return .invalid("PROXY v1 header with \(fields.count) fields") }
            let source = String(fields[2])
            var binary = [UInt8](repeating: 0, count: 16)
            guard inet_pton(fields[1] == "TCP4" ? AF_INET : AF_INET6, source, &binary) == 1 else {
                return .invalid("PROXY v1 source '\(source.prefix(45))' is not an address")
            }
            return .header(length: end + 1, source: source)
        default:
            return .invalid("PROXY v1 protocol '\(fields[1].prefix(10))'")
        }
    }

    private static func text(_ address: [UInt8], family: Int32) -> String? {
        var output = [CChar](repeating: 0, count: 64)
        guard inet_ntop(family, address, &output, socklen_t(output.count)) != nil else { return nil }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An IPv4 or IPv6 address range (`10.0.0.0/8`, `::1`, `192.0.2.7`).
public struct IPAddressRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        guard let bytes = Self.binary(String(parts[0])) else { return nil }
        let prefix = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let prefix, (0...(bytes.count * 8)).contains(prefix) else { return nil }
        self.bytes = bytes
        prefixLength = prefix
    }

    static func binary(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }

    /// Whether `address` (text, as the server reports a peer) is in the range.
    public func contains(_ address: String) -> Bool {
        guard let other = Self.binary(address), other.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if bytes[index] & mask != other[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String {
        var output = [CChar](repeating: 0, count: 64)
        _ = inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, bytes, &output, socklen_t(output.count))
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + "/\(prefixLength)"
    }
}
