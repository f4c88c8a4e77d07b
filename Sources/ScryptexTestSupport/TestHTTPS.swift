import Foundation
import ScryptexCore
public import ScryptexCrypto
public import ScryptexHTTP

/// A CA and certificates for test domains, written to a temporary folder.
public struct TestCertificates: Sendable {
    public let folder: String
    public let authority: CertificateAndKey
    /// The CA's certificate (PEM), for clients that should trust the test servers.
    public var caFile: String { folder + "/ca.pem" }

    public init() throws {
        folder = "/tmp/scryptex-tls-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        authority = try CertificateFactory.makeAuthority(commonName: "Scryptex Test CA")
        try authority.certificatePEM.write(toFile: caFile, atomically: true, encoding: .utf8)
    }

    public func server(
        _ domains: [String], keyType: CertificateFactory.KeyType = .ecdsaP256
    ) throws
        -> CertificateAndKey
    {
        try CertificateFactory.makeServerCertificate(domains: domains, signedBy: authority, keyType: keyType)
    }

    /// A store whose default certificate (served for any name) is one for `domains`.
    public func storeWithDefault(
        _ domains: [String]
    ) throws -> (store: CertificateStore, certificate: CertificateAndKey) {
        let certificate = try server(domains)
        let store = try CertificateStore(unknownNamePolicy: .defaultCertificate)
        try store.setDefaultCertificate(
            certificateChainPEM: certificate.certificatePEM, privateKeyPEM: certificate.privateKeyPEM)
        return (store, certificate)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

/// An HTTPS server on 127.0.0.1 with the given routes and a certificate for `127.0.0.1` and
/// `localhost` from a fresh test CA: a counterpart (a provider's API) for a test to talk to.
public enum TestHTTPSServer {
    /// Starts the server, runs `body` with its base URL (`https://127.0.0.1:PORT`) and the CA
    /// file that verifies it, and stops it.
    public static func with<Result>(
        _ router: Router, _ body: (_ baseURL: String, _ caFile: String) async throws -> Result
    ) async throws -> Result {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (store, _) = try certificates.storeWithDefault(["127.0.0.1", "localhost"])
        let server = HTTPServer(
            configuration: .init(host: "127.0.0.1", port: 0, eventLoopCount: 1, tls: store),
            application: HTTPApplication(router: router),
            logger: Logger(label: "test.counterpart", minimumLevel: .warning))
        try server.start()
        do {
            let result = try await body("https://127.0.0.1:\(server.port)", certificates.caFile)
            await server.shutdown(gracePeriod: .seconds(2))
            return result
        } catch {
            await server.shutdown(gracePeriod: .seconds(2))
            throw error
        }
    }
}
