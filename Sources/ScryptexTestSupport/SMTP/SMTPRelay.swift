import Foundation
import Glibc
import ScryptexCrypto

/// A real SMTP relay on loopback (`relay.py`, Debian's python3-aiosmtpd) with a certificate for
/// `localhost` from a CA made for the run, one user, and a folder where each accepted message
/// lands as JSON.
public final class SMTPRelay: Sendable {
    public enum Mode: String, Sendable {
        /// STARTTLS offered and required before AUTH, AUTH required.
        case startTLS = "starttls"
        /// TLS from the first byte, AUTH required.
        case implicitTLS = "implicit"
        /// No TLS offered.
        case plain
    }

    /// One message as the relay received it.
    public struct Received: Sendable, Decodable {
        public var from: String
        public var to: [String]
        public var data: String
        public var user: String?
        public var tls: Bool
    }

    public let port: Int
    /// The CA that signed the relay's certificate.
    public let trustedCertificatesFile: String
    private let folder: String
    private let process: ChildProcess

    public init(mode: Mode, user: String = "mailer", password: String = "s3cret pass") async throws {
        folder = NSTemporaryDirectory() + "scryptex-smtp-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
        let authority = try CertificateFactory.makeAuthority(commonName: "SMTP relay test CA")
        let certificate = try CertificateFactory.makeServerCertificate(domains: ["localhost"], signedBy: authority)
        trustedCertificatesFile = folder + "/ca.pem"
        try authority.certificatePEM.write(toFile: trustedCertificatesFile, atomically: true, encoding: .utf8)
        try certificate.certificatePEM.write(toFile: folder + "/relay.pem", atomically: true, encoding: .utf8)
        try certificate.privateKeyPEM.write(toFile: folder + "/relay.key", atomically: true, encoding: .utf8)
        port = try FreePort.tcp()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("relay.py").path
        // Debian's interpreter, where python3-aiosmtpd is installed (not a pyenv shim's).
        process = try ChildProcess(
            "/usr/bin/python3",
            [
                script, String(port), folder + "/relay.pem", folder + "/relay.key", user, password, folder + "/out",
                mode.rawValue,
            ])
        guard await process.waitForOutput(containing: "relay ready", timeout: .seconds(20)) else {
            process.send(SIGKILL)
            throw ChildProcessError(message: "the SMTP relay did not start: \(process.output)")
        }
    }

    deinit {
        process.send(SIGTERM)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The messages received so far, oldest first.
    public func received() throws -> [Received] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/out").sorted {
            (Int($0.prefix { $0 != "." }) ?? 0) < (Int($1.prefix { $0 != "." }) ?? 0)
        }
        return try names.map { name in
            try JSONDecoder().decode(
                Received.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/out/" + name)))
        }
    }

    /// Waits (up to `timeout`) for at least `count` messages.
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let messages = try received()
            if messages.count >= count { return messages }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try received()
    }
}
