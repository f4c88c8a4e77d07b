/// A DNS host name as every part of the host compares them: lower-case LDH labels (RFC 1123) of 1
/// to 63 bytes with no hyphen at either end, at most 253 bytes in all, no final dot, no port.
/// International names must already be in punycode (`xn--…`).
///
/// The one normalization for the names that decide where a request goes and which certificate
/// answers it: the `Host` header (the tenant router), the TLS server name (certificate choice and
/// the misdirected-request check compare the same form), tenant domains, `PLATFORM_DOMAIN` and
/// `--domain` arguments.
public struct HostName: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The normal form, such as `trade-desk.acme.example`.
    public let value: String

    /// A name in any case, with or without a final dot; nil when it is not a host name (a port,
    /// an IP literal in brackets, an underscore, an empty label…).
    public init?(_ name: String) {
        guard !name.utf8.contains(UInt8(ascii: ":")), let value = Self.normalized(name) else { return nil }
        self.value = value
    }

    /// A `Host` header's or a URL authority's name: as `init(_:)`, also without a `:port`.
    public init?(authority: String) {
        guard let value = Self.normalized(authority) else { return nil }
        self.value = value
    }

    public var description: String { value }

    public static func < (left: HostName, right: HostName) -> Bool { left.value < right.value }

    /// Whether `self` is `domain` or a name under it.
    public func isWithin(_ domain: HostName) -> Bool {
        value == domain.value || value.hasSuffix("." + domain.value)
    }

    /// The normal form of a host name with an optional `:port`, or nil. Every request's `Host`
    /// passes here: the usual, already-normal name is checked in one pass over its bytes and
    /// returned as it is, without allocating; the next most usual is a normal name with a port.
    public static func normalized(_ host: String) -> String? {
        var host = host
        let normalLength = host.withUTF8 { bytes -> Int? in
            if isNormal(bytes) { return bytes.count }
            guard bytes.first != UInt8(ascii: "["), let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
                bytes[(colon + 1)...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                isNormal(bytes[..<colon])
            else { return nil }
            return colon
        }
        if let normalLength {
            return normalLength == host.utf8.count ? host : String(Substring(host.utf8.prefix(normalLength)))
        }
        // The rare forms: capitals, a final dot, or both (with or without a port).
        var name = Array(host.utf8)
        if name.first != UInt8(ascii: "["), let colon = name.lastIndex(of: UInt8(ascii: ":")) {
            guard name[(colon + 1)...].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            name.removeSubrange(colon...)
        }
        if name.last == UInt8(ascii: ".") { name.removeLast() }
        for index in name.indices where (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(name[index]) {
            name[index] |= 0x20
        }
        return isNormal(name) ? String(decoding: name, as: UTF8.self) : nil
    }

    /// Lower-case LDH labels of 1 to 63 bytes, no hyphen at either end, no port, no final dot.
    private static func isNormal<Bytes: Collection<UInt8>>(_ host: Bytes) -> Bool {
        var labelLength = 0
        var previous: UInt8 = UInt8(ascii: ".")
        var total = 0
        for byte in host {
            total += 1
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                labelLength += 1
            case UInt8(ascii: "-"):
                guard previous != UInt8(ascii: ".") else { return false }
                labelLength += 1
            case UInt8(ascii: "."):
                guard labelLength > 0, previous != UInt8(ascii: "-") else { return false }
                labelLength = 0
            default:
                return false
            }
            guard labelLength <= 63 else { return false }
            previous = byte
        }
        return total > 0 && total <= 253 && labelLength > 0 && previous != UInt8(ascii: "-")
    }
}
