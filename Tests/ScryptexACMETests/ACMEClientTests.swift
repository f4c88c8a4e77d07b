import Foundation
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexACME

@Suite("ACME client against Pebble")
struct ACMEClientTests {
    /// A challenge server on loopback answering from `webroot`, and Pebble validating against it.
    static func withAuthority(
        _ body: (Pebble, String) async throws -> Void
    ) async throws {
        let webroot = NSTemporaryDirectory() + "scryptex-acme-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: webroot) }
        var router = Router()
        router.get("/.well-known/acme-challenge/:token") { _, context in
            let token = try context.parameter("token")
            guard ACMEToken.isValid(token),
                let data = FileManager.default.contents(atPath: webroot + "/.well-known/acme-challenge/" + token)
            else { throw HTTPProblem.notFound() }
            return HTTPResponse(status: .ok, contentType: "application/octet-stream", body: Array(data))
        }
        let server = HTTPServer(
            configuration: .init(host: "127.0.0.1", port: 0, eventLoopCount: 1),
            application: HTTPApplication(router: router), logger: Logger(label: "test.acme", minimumLevel: .warning))
        try server.start()
        do {
            let pebble = try await Pebble(httpPort: server.port)
            try await body(pebble, webroot)
        } catch {
            await server.shutdown(gracePeriod: .zero)
            throw error
        }
        await server.shutdown(gracePeriod: .zero)
    }

    static func client(_ pebble: Pebble, key: P256SigningKey) -> ACMEClient {
        ACMEClient(
            directoryURL: pebble.directoryURL, accountKey: key, contacts: ["mailto:ops@acme.test"],
            transport: HTTPSClient(trustedCertificatesFile: pebble.trustedCertificatesFile),
            logger: Logger(label: "test.acme", minimumLevel: .warning))
    }

    @Test func issuesACertificateThatChainsToTheAuthoritysRoot() async throws {
        try await Self.withAuthority { pebble, webroot in
            let key = try P256SigningKey.generate()
            let issued = try await Self.client(pebble, key: key).issueCertificate(
                for: ["desk.acme.test", "shop.acme.test"], publishing: ACMEWebroot(folder: webroot))
            let inspected = try CertificateFactory.inspect(certificatePEM: issued.certificateChainPEM)
            #expect(Set(inspected.domains) == ["desk.acme.test", "shop.acme.test"])
            #expect(inspected.notAfter > Date().addingTimeInterval(86_400))
            // The challenge files are gone once the order is done.
            let left =
                (try? FileManager.default.contentsOfDirectory(atPath: webroot + "/.well-known/acme-challenge")) ?? []
            #expect(left.isEmpty)

            // The chain verifies against Pebble's root with OpenSSL, and the key is the certificate's.
            let folder = webroot + "-check"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try pebble.rootCertificatePEM().write(toFile: folder + "/root.pem", atomically: true, encoding: .utf8)
            try issued.certificateChainPEM.write(toFile: folder + "/chain.pem", atomically: true, encoding: .utf8)
            try issued.privateKeyPEM.write(toFile: folder + "/key.pem", atomically: true, encoding: .utf8)
            let verify = try ChildProcess(
                "/usr/bin/openssl",
                ["verify", "-CAfile", folder + "/root.pem", "-untrusted", folder + "/chain.pem", folder + "/chain.pem"])
            #expect(await verify.waitForExit(timeout: .seconds(10)) == 0, "\(verify.output)")
            let certificateKey = try ChildProcess(
                "/usr/bin/openssl", ["x509", "-in", folder + "/chain.pem", "-noout", "-pubkey"])
            let privateKey = try ChildProcess("/usr/bin/openssl", ["pkey", "-in", folder + "/key.pem", "-pubout"])
            _ = await certificateKey.waitForExit(timeout: .seconds(10))
            _ = await privateKey.waitForExit(timeout: .seconds(10))
            #expect(!certificateKey.output.isEmpty && certificateKey.output == privateKey.output)

            // The same account key orders again (the account is found, not made twice).
            let again = try await Self.client(pebble, key: key).issueCertificate(
                for: ["desk.acme.test"], publishing: ACMEWebroot(folder: webroot))
            #expect(
                try CertificateFactory.inspect(certificatePEM: again.certificateChainPEM).domains == ["desk.acme.test"])
        }
    }

    /// Publishes nothing: the authority finds no key authorization.
    struct SilentPublisher: ACMEChallengePublisher {
        func publish(token: String, keyAuthorization: String) throws {}
        func remove(token: String) {}
    }

    @Test func aChallengeTheAuthorityCannotFetchFailsNamingTheDomain() async throws {
        try await Self.withAuthority { pebble, _ in
            let error = await #expect(throws: ACMEError.self) {
                try await Self.client(pebble, key: try P256SigningKey.generate()).issueCertificate(
                    for: ["missing.acme.test"], publishing: SilentPublisher())
            }
            #expect(error?.message.contains("missing.acme.test") == true, "\(String(describing: error))")
            #expect(error?.problemType?.hasPrefix("urn:ietf:params:acme:error:") == true)
        }
    }

    @Test func anUntrustedAuthorityIsRefusedBeforeAnythingIsSent() async throws {
        try await Self.withAuthority { pebble, webroot in
            let client = ACMEClient(
                directoryURL: pebble.directoryURL, accountKey: try P256SigningKey.generate(),
                transport: HTTPSClient(trustedCertificatesFile: "/etc/ssl/certs/ca-certificates.crt"))
            let error = await #expect(throws: HTTPSClientError.self) {
                try await client.issueCertificate(for: ["desk.acme.test"], publishing: ACMEWebroot(folder: webroot))
            }
            #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
        }
    }

    @Test func tokensAreBase64URLOnly() {
        #expect(ACMEToken.isValid("token_AZ-09"))
        for token in ["", "a.b", "../x", "a/b", "a%2Fb", String(repeating: "a", count: 257), "tökén"] {
            #expect(!ACMEToken.isValid(token), "\(token)")
        }
    }

    @Test func keysSignES256AndHaveRFC7638Thumbprints() throws {
        let key = try P256SigningKey.generate()
        #expect(key.x.count == 32 && key.y.count == 32)
        #expect(key.jsonWebKey.hasPrefix(#"{"crv":"P-256","kty":"EC","x":""#))
        #expect(key.thumbprint == Base64URL.encode(SHA256.hash(key.jsonWebKey)))
        #expect(try key.sign(Array("message".utf8)).count == 64)
        #expect(try P256SigningKey(privateKeyPEM: key.privateKeyPEM).thumbprint == key.thumbprint)
        // An RSA key is refused, by name.
        let rsa = try CertificateFactory.makePrivateKeyPEM(.rsa2048)
        let error = #expect(throws: CryptoError.self) { try P256SigningKey(privateKeyPEM: rsa) }
        #expect(error?.message.contains("P-256") == true)
        #expect(throws: CryptoError.self) { try P256SigningKey(privateKeyPEM: "not a key") }
    }
}
