import Foundation
import Glibc
import ScryptexCrypto

/// Let's Encrypt's ACME test server (Debian's `pebble`), on loopback, with its mock DNS
/// (`pebble-challtestsrv`) answering 127.0.0.1 for every name, so an HTTP-01 challenge for any
/// domain is fetched from `http://127.0.0.1:<httpPort>`. Everything it issues chains to a root
/// made anew for each run, which `rootCertificatePEM()` fetches.
public final class Pebble: Sendable {
    /// The ACME directory.
    public let directoryURL: String
    /// The CA file that verifies Pebble's own HTTPS endpoint.
    public let trustedCertificatesFile: String
    private let managementURL: String
    private let folder: String
    private let server: ChildProcess
    private let resolver: ChildProcess

    /// Starts both programs; `httpPort` is where Pebble fetches HTTP-01 challenges.
    public init(httpPort: Int) async throws {
        folder = NSTemporaryDirectory() + "scryptex-pebble-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let authority = try CertificateFactory.makeAuthority(commonName: "Pebble endpoint test CA")
        let endpoint = try CertificateFactory.makeServerCertificate(domains: ["localhost"], signedBy: authority)
        trustedCertificatesFile = folder + "/endpoint-ca.pem"
        try authority.certificatePEM.write(toFile: trustedCertificatesFile, atomically: true, encoding: .utf8)
        try endpoint.certificatePEM.write(toFile: folder + "/endpoint.pem", atomically: true, encoding: .utf8)
        try endpoint.privateKeyPEM.write(toFile: folder + "/endpoint.key", atomically: true, encoding: .utf8)
        let acmePort = try FreePort.tcp()
        let managementPort = try FreePort.tcp()
        let dnsPort = try FreePort.udp()
        let resolverManagementPort = try FreePort.tcp()
        directoryURL = "https://localhost:\(acmePort)/dir"
        managementURL = "https://localhost:\(managementPort)"
        let configuration = """
            {"pebble": {"listenAddress": "127.0.0.1:\(acmePort)", "managementListenAddress": "127.0.0.1:\(managementPort)",
            "certificate": "\(folder)/endpoint.pem", "privateKey": "\(folder)/endpoint.key",
            "httpPort": \(httpPort), "tlsPort": \(try FreePort.tcp()), "ocspResponderURL": "",
            "externalAccountBindingRequired": false}}
            """
        try configuration.write(toFile: folder + "/pebble.json", atomically: true, encoding: .utf8)
        resolver = try ChildProcess(
            "/usr/bin/pebble-challtestsrv",
            [
                "-dns01", "127.0.0.1:\(dnsPort)", "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-management", "127.0.0.1:\(resolverManagementPort)", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
            ])
        server = try ChildProcess(
            "/usr/bin/pebble", ["-config", folder + "/pebble.json", "-dnsserver", "127.0.0.1:\(dnsPort)"],
            // No random sleeps before validating; the default 5 % of refused nonces stays, so
            // clients must retry them.
            environment: ["PEBBLE_VA_NOSLEEP": "1"])
        guard await server.waitForOutput(containing: "Listening on", timeout: .seconds(20)) else {
            throw ChildProcessError(message: "pebble did not start: \(server.output) \(resolver.output)")
        }
    }

    deinit {
        server.send(SIGTERM)
        resolver.send(SIGTERM)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The root every certificate Pebble issues in this run chains to, PEM.
    public func rootCertificatePEM() throws -> String {
        let output = folder + "/root.pem"
        let fetch = try ChildProcess(
            "/usr/bin/curl", ["-sf", "--cacert", trustedCertificatesFile, "-o", output, managementURL + "/roots/0"])
        var status: Int32 = 0
        waitpid(fetch.processID, &status, 0)
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}
