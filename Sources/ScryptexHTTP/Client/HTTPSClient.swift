internal import COpenSSL
import Dispatch
import Foundation
import Glibc
import ScryptexCrypto

/// A small HTTPS/1.1 client for the host's own outbound calls (an ACME server): one request per
/// connection, TLS 1.2 or 1.3 with the server's certificate and name verified, bodies up to
/// `maximumBodyBytes`. The blocking socket work runs on a Dispatch queue, never on the event
/// loops or Swift's cooperative threads.
public struct HTTPSClient: Sendable {
    public typealias Response = HTTPClientResponse

    /// PEM file of the certificate authorities to trust; `nil` trusts the system's.
    public var trustedCertificatesFile: String?
    public var timeout: Duration
    public var maximumBodyBytes: Int
    /// Whether the client may connect to loopback, private, link-local and other non-public
    /// addresses. URLs a tenant supplies (webhooks) are sent with `.publicOnly`, so a tenant
    /// cannot make the host call its own network (SSRF). The addresses are checked after
    /// resolution, on the very addresses connected to.
    public var addresses: AddressPolicy

    public enum AddressPolicy: Sendable {
        case any
        case publicOnly
    }

    public init(
        trustedCertificatesFile: String? = nil, timeout: Duration = .seconds(30), maximumBodyBytes: Int = 1 << 20,
        addresses: AddressPolicy = .any
    ) {
        self.trustedCertificatesFile = trustedCertificatesFile
        self.timeout = timeout
        self.maximumBodyBytes = maximumBodyBytes
        self.addresses = addresses
    }

    /// Sends one request and reads the whole response.
    public func send(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> Response {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host,
            !host.isEmpty
        else {
            throw HTTPSClientError("'\(url)' is not an https URL")
        }
        let port = components.port ?? 443
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        let authority = host.contains(":") ? "[\(host)]" : host
        var head =
            "\(method.rawValue) \(target) HTTP/1.1\r\nHost: \(port == 443 ? authority : "\(authority):\(port)")\r\n"
        head += "Connection: close\r\nUser-Agent: scryptex-host\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == .post || method == .put { head += "Content-Length: \(body.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let exchange = Exchange(
            host: host, port: port, request: request, trustedCertificatesFile: trustedCertificatesFile,
            timeout: timeout, maximumBodyBytes: maximumBodyBytes, isHead: method == .head,
            publicOnly: addresses == .publicOnly)
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try exchange.run() })
            }
        }
    }
}

/// A failed outbound request, naming the server and what went wrong.
public struct HTTPSClientError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// One request on one connection, run start to finish on a blocking socket.
private struct Exchange: Sendable {
    let host: String
    let port: Int
    let request: [UInt8]
    let trustedCertificatesFile: String?
    let timeout: Duration
    let maximumBodyBytes: Int
    let isHead: Bool
    let publicOnly: Bool

    func run() throws -> HTTPSClient.Response {
        let descriptor = try connect()
        defer { close(descriptor) }
        let context: TLSClientContext
        do {
            context = try TLSClientContext(trustedCertificatesFile: trustedCertificatesFile)
        } catch {
            throw HTTPSClientError(error.message)
        }
        let ssl: OpaquePointer
        do {
            ssl = try context.handshake(on: descriptor, host: host, peer: "\(host):\(port)")
        } catch {
            throw HTTPSClientError(error.message)
        }
        defer { SSL_free(ssl) }
        defer { _ = SSL_shutdown(ssl) }
        var written = 0
        while written < request.count {
            let count = request[written...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard count > 0 else { throw HTTPSClientError("sending to \(host):\(port) failed") }
            written += Int(count)
        }
        var reader = ResponseReader(maximumBodyBytes: maximumBodyBytes, isHead: isHead)
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count <= 0 {
                if let response = try reader.finish(), !(100..<200).contains(response.status) { return response }
                throw HTTPSClientError("\(host):\(port) closed the connection before the response was complete")
            }
            if let response = try reader.append(buffer[0..<Int(count)]) { return response }
        }
    }

    private func connect() throws -> Int32 {
        try OutboundSocket.connect(host: host, port: port, timeout: timeout, publicOnly: publicOnly)
    }
}

/// Outbound TCP connections.
enum OutboundSocket {
    /// A connected TCP socket to `host`:`port` (blocking: call it off the loops), each address in
    /// turn; with `publicOnly`, addresses off the public Internet are refused after resolution.
    /// Sends and receives on it give up after `timeout` while it stays blocking.
    static func connect(host: String, port: Int, timeout: Duration, publicOnly: Bool) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var addresses: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &addresses)
        guard status == 0, let addresses else {
            throw HTTPSClientError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(addresses) }
        var seconds = timeout.components.seconds
        if seconds <= 0 { seconds = 1 }
        var limit = timeval(tv_sec: Int(seconds), tv_usec: 0)
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = addresses
        while let address = candidate {
            candidate = address.pointee.ai_next
            if publicOnly, let refused = AddressClassification.nonPublicReason(address.pointee) {
                lastError = "it resolves to \(refused), which this request may not reach"
                continue
            }
            let descriptor = socket(
                address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard descriptor >= 0 else { continue }
            // Connect, send and receive each give up after the timeout.
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return descriptor }
            lastError = String(cString: strerror(errno))
            close(descriptor)
        }
        throw HTTPSClientError("cannot connect to \(host):\(port): \(lastError)")
    }
}

/// Collects a response's bytes with the server's own decoder (`HTTPMessageDecoder`): the same
/// strict rules for the head, lengths and chunked bodies, plus a body that runs until the
/// connection closes. Interim (1xx) responses are skipped.
struct ResponseReader {
    private var decoder: HTTPMessageDecoder<HTTPClientResponse>

    init(maximumBodyBytes: Int, isHead: Bool) {
        var limits = HTTPMessageLimits()
        limits.bodyBytes = maximumBodyBytes
        decoder = HTTPMessageDecoder(limits: limits)
        decoder.answeringHead = isHead
    }

    /// Adds bytes; returns the response once it is complete.
    mutating func append(_ more: ArraySlice<UInt8>) throws -> HTTPSClient.Response? {
        decoder.append(more)
        do {
            while true {
                switch try decoder.next() {
                case .needMoreData: return nil
                case .message(let response) where (100..<200).contains(response.status): continue
                case .message(let response): return response
                case .expectsContinue: continue
                }
            }
        } catch {
            throw HTTPSClientError("the response is not valid HTTP/1.1: \(error.reason)")
        }
    }

    /// The response when the connection ends (a body without framing ends there); nil when the
    /// response was cut short.
    mutating func finish() throws -> HTTPSClient.Response? {
        try? decoder.endOfInput()
    }
}

/// Which addresses are not on the public Internet: loopback, private (RFC 1918, RFC 4193),
/// link-local (cloud metadata services live there), carrier-grade NAT, "this network",
/// multicast and reserved ranges, and IPv4-mapped forms of them.
enum AddressClassification {
    /// Why `address` is not public, or nil when it is.
    static func nonPublicReason(_ address: addrinfo) -> String? {
        guard let socketAddress = address.ai_addr else { return "an unknown address" }
        switch address.ai_family {
        case AF_INET:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                withUnsafeBytes(of: $0.pointee.sin_addr.s_addr) { Array($0) }
            }
            return nonPublicReason(ipv4: bytes)
        case AF_INET6:
            let bytes = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
            }
            return nonPublicReason(ipv6: bytes)
        default:
            return "an address of an unknown family"
        }
    }

    static func nonPublicReason(ipv4 b: [UInt8]) -> String? {
        let text = b.map(String.init).joined(separator: ".")
        switch (b[0], b[1]) {
        case (0, _): return "\(text) (this network)"
        case (10, _), (172, 16...31), (192, 168): return "\(text) (a private address)"
        case (100, 64...127): return "\(text) (carrier-grade NAT)"
        case (127, _): return "\(text) (loopback)"
        case (169, 254): return "\(text) (link-local)"
        case (192, 0) where b[2] == 0 || b[2] == 2: return "\(text) (reserved)"
        case (198, 18...19): return "\(text) (benchmarking)"
        case (224...255, _): return "\(text) (multicast or reserved)"
        default: return nil
        }
    }

    static func nonPublicReason(ipv6 b: [UInt8]) -> String? {
        if b[0..<15].allSatisfy({ $0 == 0 }) && (b[15] == 0 || b[15] == 1) {
            return "::\(b[15]) (loopback or unspecified)"
        }
        // IPv4-mapped (::ffff:a.b.c.d): judged as the IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
            return nonPublicReason(ipv4: Array(b[12..<16]))
        }
        if b[0] & 0xFE == 0xFC { return "a unique local IPv6 address" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "a link-local IPv6 address" }
        if b[0] == 0xFF { return "a multicast IPv6 address" }
        return nil
    }
}
