internal import COpenSSL
import Dispatch
import Foundation
import Glibc
import ScryptexCrypto

/// A small SMTP submission client (RFC 5321) for the host's own mail: one message per
/// connection, over TLS — implicit (`smtps://`, port 465) or upgraded with STARTTLS (RFC 3207,
/// `smtp://`, port 587) with the relay's certificate and name verified — and AUTH PLAIN
/// (RFC 4616) when the URL carries credentials. Credentials never go over a connection without
/// TLS; `smtp+insecure://` (plain, no credentials) exists only for a relay on the same machine.
/// The blocking socket work runs on a Dispatch queue, never on the event loops or Swift's
/// cooperative threads.
public struct SMTPClient: Sendable {
    public enum Security: Sendable, Equatable {
        /// TLS from the first byte (`smtps://`).
        case implicitTLS
        /// Plain until STARTTLS, which the relay must offer (`smtp://`).
        case startTLS
        /// No TLS at all (`smtp+insecure://`): loopback relays only, no credentials.
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// PEM file of the certificate authorities to trust; nil trusts the system's.
    public var trustedCertificatesFile: String?
    public var timeout: Duration
    /// The name this host gives in EHLO.
    public var clientName: String

    /// - Parameter url: `smtps://user:password@host:465`, `smtp://user:password@host:587`
    ///   (STARTTLS required) or `smtp+insecure://localhost:25`; user and password
    ///   percent-encoded.
    public init(
        url: String, trustedCertificatesFile: String? = nil, timeout: Duration = .seconds(30),
        clientName: String = "scryptex.localhost"
    ) throws(SMTPError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw SMTPError("SMTP_URL: '\(Self.redacted(url))' is not an smtp://, smtps:// or smtp+insecure:// URL")
        }
        switch scheme {
        case "smtps": (security, port) = (.implicitTLS, components.port ?? 465)
        case "smtp": (security, port) = (.startTLS, components.port ?? 587)
        case "smtp+insecure": (security, port) = (.none, components.port ?? 25)
        default:
            throw SMTPError("SMTP_URL: the scheme '\(scheme)' is not smtp, smtps or smtp+insecure")
        }
        self.host = host
        username = components.user?.removingPercentEncoding
        password = components.password?.removingPercentEncoding
        if security == .none {
            guard username == nil else {
                throw SMTPError("SMTP_URL: credentials are never sent without TLS; use smtp:// or smtps://")
            }
            guard ["localhost", "127.0.0.1", "::1"].contains(host) else {
                throw SMTPError("SMTP_URL: smtp+insecure:// is for a relay on this machine only, not \(host)")
            }
        }
        self.trustedCertificatesFile = trustedCertificatesFile
        self.timeout = timeout
        self.clientName = clientName
    }

    /// The URL without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "(an SMTP URL)"
    }

    /// Sends `message` (headers and body, lines ending in CRLF or LF) from `sender` to
    /// `recipients`; throws naming the relay and its reply when any step is refused.
    public func send(_ message: String, from sender: String, to recipients: [String]) async throws {
        for address in [sender] + recipients {
            guard !address.isEmpty, address.utf8.count <= 254,
                !address.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "<" || $0 == ">" })
            else { throw SMTPError("'\(address.prefix(80))' is not a mail address the relay can be given") }
        }
        guard !recipients.isEmpty else { throw SMTPError("a message needs at least one recipient") }
        let session = SMTPSession(client: self, sender: sender, recipients: recipients, message: message)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try session.run() })
            }
        }
    }

    /// A message's body as DATA carries it: CRLF line ends, each line that starts with a dot
    /// given a second one (RFC 5321 §4.5.2), ended by a line holding a dot.
    static func dataSection(_ message: String) -> [UInt8] {
        let lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        var text = lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        return Array((text + ".\r\n").utf8)
    }
}

/// A refused or failed submission, naming the relay and what it answered.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// One submission on one connection, run start to finish on a blocking socket.
private struct SMTPSession: Sendable {
    let client: SMTPClient
    let sender: String
    let recipients: [String]
    let message: String

    var relay: String { "the mail relay \(client.host):\(client.port)" }

    func run() throws {
        let descriptor: Int32
        do {
            descriptor = try OutboundSocket.connect(
                host: client.host, port: client.port, timeout: client.timeout, publicOnly: false)
        } catch {
            throw SMTPError("\(relay) cannot be reached: \(error)")
        }
        let connection = SMTPConnection(descriptor: descriptor, relay: relay)
        defer { connection.close() }
        if client.security == .implicitTLS { try connection.startTLS(client) }
        try connection.expect(220, after: "connecting")
        var extensions = try connection.hello(client.clientName)
        if client.security == .startTLS {
            guard extensions.contains("STARTTLS") else {
                throw SMTPError(
                    "\(relay) does not offer STARTTLS, and smtp:// requires it (use smtps:// for TLS on connect)")
            }
            try connection.command("STARTTLS", expect: 220)
            try connection.startTLS(client)
            extensions = try connection.hello(client.clientName)
        }
        if let username = client.username {
            guard extensions.contains(where: { $0.hasPrefix("AUTH") && $0.split(separator: " ").contains("PLAIN") })
            else { throw SMTPError("\(relay) does not offer AUTH PLAIN") }
            let credentials = Data(("\0" + username + "\0" + (client.password ?? "")).utf8).base64EncodedString()
            try connection.command("AUTH PLAIN " + credentials, expect: 235, shown: "AUTH PLAIN (credentials)")
        }
        try connection.command("MAIL FROM:<\(sender)>", expect: 250)
        for recipient in recipients {
            try connection.command("RCPT TO:<\(recipient)>", expect: 250, alternatively: 251)
        }
        try connection.command("DATA", expect: 354)
        try connection.write(SMTPClient.dataSection(message))
        try connection.expect(250, after: "the message")
        try? connection.command("QUIT", expect: 221)
    }
}

/// The socket, TLS once started, and the bytes read but not yet taken as lines. Used by one
/// session on one thread only.
private final class SMTPConnection {
    let descriptor: Int32
    let relay: String
    var ssl: OpaquePointer?
    var context: TLSClientContext?
    var pending: [UInt8] = []

    init(descriptor: Int32, relay: String) {
        self.descriptor = descriptor
        self.relay = relay
    }

    func startTLS(_ client: SMTPClient) throws {
        let context: TLSClientContext
        do {
            context = try TLSClientContext(trustedCertificatesFile: client.trustedCertificatesFile)
        } catch {
            throw SMTPError(error.message)
        }
        do {
            ssl = try context.handshake(on: descriptor, host: client.host, peer: relay)
        } catch {
            throw SMTPError(error.message)
        }
        self.context = context
        pending = []
    }

    /// EHLO, answering the extensions the relay lists.
    func hello(_ name: String) throws -> [String] {
        try write(Array("EHLO \(name)\r\n".utf8))
        let reply = try readReply()
        guard reply.code == 250 else { throw SMTPError("\(relay) refused EHLO: \(reply.text)") }
        return reply.lines.dropFirst().map { $0.uppercased() }
    }

    func command(_ line: String, expect code: Int, alternatively other: Int? = nil, shown: String? = nil) throws {
        try write(Array((line + "\r\n").utf8))
        let reply = try readReply()
        guard reply.code == code || reply.code == other else {
            throw SMTPError("\(relay) refused \(shown ?? line): \(reply.text)")
        }
    }

    func expect(_ code: Int, after step: String) throws {
        let reply = try readReply()
        guard reply.code == code else { throw SMTPError("\(relay) answered \(step) with \(reply.text)") }
    }

    /// A whole reply: its code and its lines' texts (`250-first`, …, `250 last`).
    func readReply() throws -> (code: Int, lines: [String], text: String) {
        var lines: [String] = []
        while true {
            let line = try readLine()
            guard line.count >= 3, let code = Int(line.prefix(3)) else {
                throw SMTPError("\(relay) sent something that is not an SMTP reply: \(line.prefix(80))")
            }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                return (code, lines, "\(code) " + lines.joined(separator: " / "))
            }
            guard lines.count < 100 else { throw SMTPError("\(relay) sent a reply of more than 100 lines") }
        }
    }

    private func readLine() throws -> String {
        while true {
            if let end = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<end])
                pending.removeSubrange(...end)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count < 4_096 else { throw SMTPError("\(relay) sent a line longer than 4 KiB") }
            var buffer = [UInt8](repeating: 0, count: 4_096)
            let count: Int
            if let ssl {
                count = Int(buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) })
            } else {
                count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            }
            guard count > 0 else { throw SMTPError("\(relay) closed the connection or did not answer in time") }
            pending += buffer[0..<count]
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let count: Int
            if let ssl {
                count = Int(bytes[written...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) })
            } else {
                count = bytes[written...].withUnsafeBytes {
                    Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
            }
            guard count > 0 else { throw SMTPError("sending to \(relay) failed") }
            written += count
        }
    }

    func close() {
        if let ssl {
            _ = SSL_shutdown(ssl)
            SSL_free(ssl)
        }
        Glibc.close(descriptor)
    }
}
