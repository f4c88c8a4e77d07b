import Foundation
import Glibc
import ScryptexCore
import ScryptexCrypto
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Certificates from an ACME authority, in a running host", .serialized)
struct ACMEServeTests {
    @Test(.timeLimit(.minutes(2)))
    func theCommandAnswersTheChallengesItselfWhenNoHostRuns() async throws {
        let executable = ChildProcess.scryptexExecutable
        let root = "/tmp/scryptex-acme-standalone-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let httpPort = try FreePort.tcp()
        let pebble = try await Pebble(httpPort: httpPort)
        let command = try ChildProcess(
            executable, ["cert", "issue", "--domain", "desk.standalone.localhost"],
            environment: [
                "SCRYPTEX_DATA_DIR": root, "HTTP_LISTEN": "127.0.0.1:\(httpPort)", "LOG_LEVEL": "warning",
                "ACME_DIRECTORY_URL": pebble.directoryURL, "ACME_CA_FILE": pebble.trustedCertificatesFile,
            ])
        #expect(await command.waitForExit(timeout: .seconds(60)) == 0, "\(command.output)")
        #expect(command.output.contains("answering the authority's challenges on 127.0.0.1:\(httpPort)"))
        let issued = try String(
            contentsOfFile: root + "/tls/certificates/desk.standalone.localhost.pem", encoding: .utf8)
        let summary = try CertificateFactory.inspect(certificatePEM: issued)
        #expect(summary.domains == ["desk.standalone.localhost"])
        #expect(summary.issuerOrganization != CertificateFactory.developmentOrganization)
    }

    @Test(.timeLimit(.minutes(3)))
    func theHostObtainsCertificatesForItsDomainsAndTheCommandForMore() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-acme-serve-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Pebble fetches HTTP-01 challenges from this port, which the host's plain HTTP port takes.
        let httpPort = try FreePort.tcp()
        let httpsPort = try FreePort.tcp()
        let pebble = try await Pebble(httpPort: httpPort)
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let environment = [
            "SCRYPTEX_DATA_DIR": root, "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(httpsPort)",
            "HTTP_LISTEN": "127.0.0.1:\(httpPort)", "SCRYPTEX_EVENT_LOOPS": "1",
            "SCRYPTEX_TENANTS_DIR": project.appendingPathComponent("tenants").path,
            "SCRYPTEX_TEMPLATES_DIR": project.appendingPathComponent("templates").path,
            "SCRYPTEX_SPARE_TENANT_SCHEMAS": "0", "ACME_DIRECTORY_URL": pebble.directoryURL,
            "ACME_CA_FILE": pebble.trustedCertificatesFile, "ACME_EMAIL": "ops@scryptex.test",
            "ACME_CHECK_SECONDS": "1",
        ]
        let host = try ChildProcess(executable, ["serve"], environment: environment)
        defer { host.send(SIGKILL) }
        #expect(
            await host.waitForOutput(containing: "scryptex host ready", timeout: .seconds(90)),
            "the host never became ready:\n\(host.output)")

        // The demo tenants' domains start on development certificates and move to the
        // authority's without a restart.
        let rootFile = root + "/pebble-root.pem"
        try pebble.rootCertificatePEM().write(toFile: rootFile, atomically: true, encoding: .utf8)
        func servedByTheAuthority(_ domain: String) async throws -> Bool {
            let probe = try ChildProcess(
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "--cacert", rootFile, "https://\(domain):\(httpsPort)/healthz"])
            return await probe.waitForExit(timeout: .seconds(10)) == 0
        }
        for domain in ["acme.localhost", "zenith.localhost"] {
            var served = false
            let started = ContinuousClock.now
            while !served && ContinuousClock.now - started < .seconds(60) {
                served = try await servedByTheAuthority(domain)
                if !served { try await Task.sleep(for: .milliseconds(500)) }
            }
            #expect(served, "\(domain) is not served with the authority's certificate:\n\(host.output)")
        }
        #expect(host.output.contains("certificate obtained from the ACME authority"))
        let issued = try String(contentsOfFile: root + "/tls/certificates/acme.localhost.pem", encoding: .utf8)
        let summary = try CertificateFactory.inspect(certificatePEM: issued)
        #expect(
            summary.domains == ["acme.localhost"]
                && summary.issuerOrganization != CertificateFactory.developmentOrganization)
        var keyInfo = stat()
        #expect(stat(root + "/tls/certificates/acme.localhost.key", &keyInfo) == 0 && keyInfo.st_mode & 0o777 == 0o600)
        #expect(stat(root + "/tls/acme-account.key", &keyInfo) == 0 && keyInfo.st_mode & 0o777 == 0o600)
        // A certificate is not asked for again while it is far from expiry.
        let obtained = host.output.components(separatedBy: "certificate obtained from the ACME authority").count - 1
        try await Task.sleep(for: .seconds(3))
        #expect(
            host.output.components(separatedBy: "certificate obtained from the ACME authority").count - 1 == obtained)

        // Each attempt is kept in the database, where the console and `cert status` read it.
        let status = try ChildProcess(
            executable, ["cert", "status", "--domain", "acme.localhost"], environment: environment)
        #expect(await status.waitForExit(timeout: .seconds(30)) == 0, "\(status.output)")
        #expect(
            status.output.contains("acme.localhost: issued by \(summary.issuerOrganization ?? "")"), "\(status.output)")
        #expect(status.output.contains(": obtained") && !status.output.contains("development CA"), "\(status.output)")

        // The command obtains one for another domain; the running host serves it.
        let command = try ChildProcess(
            executable, ["cert", "issue", "--domain", "desk.orion.localhost"], environment: environment)
        #expect(await command.waitForExit(timeout: .seconds(60)) == 0, "\(command.output)")
        #expect(command.output.contains("desk.orion.localhost: \(root)/tls/certificates/desk.orion.localhost.pem"))
        var served = false
        let started = ContinuousClock.now
        while !served && ContinuousClock.now - started < .seconds(10) {
            served = try await servedByTheAuthority("desk.orion.localhost")
            if !served { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(served, "the certificate from the command was not served within 10 s")

        // Without an authority configured the command says what to set.
        var unset = environment
        unset["ACME_DIRECTORY_URL"] = nil
        let refused = try ChildProcess(executable, ["cert", "issue", "--domain", "x.localhost"], environment: unset)
        #expect(await refused.waitForExit(timeout: .seconds(30)) == 2)
        #expect(refused.output.contains("set ACME_DIRECTORY_URL"))

        host.send(SIGTERM)
        #expect(await host.waitForExit(timeout: .seconds(30)) == 0, "\(host.output)")
    }

    /// Two hosts on one database; the authority reaches only A's HTTP port (as a load balancer
    /// may send it anywhere), while B orders: B's challenges, published in the database, are
    /// answered by A.
    @Test(.timeLimit(.minutes(4)))
    func aChallengeIsAnsweredByWhicheverHostTheAuthorityReaches() async throws {
        let executable = ChildProcess.scryptexExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "no scryptex binary at \(executable)")
        let root = "/tmp/scryptex-acme-two-" + SecureRandom.hexToken(byteCount: 6)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = ["SCRYPTEX_DATA_DIR": root + "/database", "LOG_LEVEL": "warning"]
        let start = try ChildProcess(executable, ["db", "start"], environment: database)
        try #require(await start.waitForExit(timeout: .seconds(120)) == 0, "\(start.output)")
        let urlCommand = try ChildProcess(executable, ["db", "url"], environment: database)
        _ = await urlCommand.waitForExit(timeout: .seconds(30))
        let url = try #require(
            urlCommand.output.split(separator: "\n").last { $0.hasPrefix("postgres") }.map(String.init))
        let reachedPort = try FreePort.tcp()
        let pebble = try await Pebble(httpPort: reachedPort)
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let masterKey = SecureRandom.hexToken(byteCount: 32)
        func environment(_ name: String, http: Int) throws -> [String: String] {
            [
                "DATABASE_URL": url, "SCRYPTEX_MASTER_KEY": masterKey, "SCRYPTEX_DATA_DIR": root + "/" + name,
                "LOG_LEVEL": "info", "HTTPS_LISTEN": "127.0.0.1:\(try FreePort.tcp())",
                "HTTP_LISTEN": "127.0.0.1:\(http)",
                "SCRYPTEX_EVENT_LOOPS": "1", "SCRYPTEX_SPARE_TENANT_SCHEMAS": "0",
                "SCRYPTEX_TENANTS_DIR": project.appendingPathComponent("tenants").path,
                "SCRYPTEX_TEMPLATES_DIR": project.appendingPathComponent("templates").path,
            ]
        }
        // A: reached by the authority, orders nothing (no ACME directory).
        let hostA = try ChildProcess(executable, ["serve"], environment: try environment("a", http: reachedPort))
        defer { hostA.send(SIGKILL) }
        #expect(await hostA.waitForOutput(containing: "scryptex host ready", timeout: .seconds(120)), "\(hostA.output)")
        // B: orders, on an HTTP port the authority never calls.
        var environmentB = try environment("b", http: try FreePort.tcp())
        environmentB["ACME_DIRECTORY_URL"] = pebble.directoryURL
        environmentB["ACME_CA_FILE"] = pebble.trustedCertificatesFile
        environmentB["ACME_CHECK_SECONDS"] = "1"
        let hostB = try ChildProcess(executable, ["serve"], environment: environmentB)
        defer { hostB.send(SIGKILL) }
        #expect(await hostB.waitForOutput(containing: "scryptex host ready", timeout: .seconds(120)), "\(hostB.output)")
        #expect(
            await hostB.waitForOutput(
                containing: "certificate obtained from the ACME authority", timeout: .seconds(90)),
            "\(hostB.output.suffix(3000))")
        let issued = try String(contentsOfFile: root + "/b/tls/certificates/acme.localhost.pem", encoding: .utf8)
        #expect(
            try CertificateFactory.inspect(certificatePEM: issued).issuerOrganization
                != CertificateFactory.developmentOrganization)
        // B wrote no challenge file (the authority could not have fetched one from it anyway): A
        // answered from the database, where nothing is left once the orders are done.
        #expect(!FileManager.default.fileExists(atPath: root + "/b/acme/.well-known/acme-challenge"))
        // (B may still be ordering its other domains: wait for those orders to end.)
        var left = ""
        for _ in 0..<120 {
            let query = try ChildProcess(
                "/usr/bin/psql", [url, "-tA", "-c", "SELECT count(*) FROM platform.acme_challenges"])
            _ = await query.waitForExit(timeout: .seconds(30))
            left = query.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if left == "0" { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(left == "0", "challenges left: \(left)")
        let status = try ChildProcess(
            executable, ["cert", "status", "--domain", "acme.localhost"], environment: environmentB)
        _ = await status.waitForExit(timeout: .seconds(30))
        #expect(status.output.contains(": obtained"), "\(status.output)")
        // A never ordered, yet has the authority's certificate: B stored it in the database (its
        // key sealed with the master key both share) and A wrote it into its own folder.
        var shared = false
        for _ in 0..<60 where !shared {
            if let pem = try? String(contentsOfFile: root + "/a/tls/certificates/acme.localhost.pem", encoding: .utf8),
                let summary = try? CertificateFactory.inspect(certificatePEM: pem),
                summary.issuerOrganization != CertificateFactory.developmentOrganization
            {
                shared = true
            } else {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(shared, "\(hostA.output.suffix(2000))")
        #expect(!hostA.output.contains("certificate obtained from the ACME authority"))
        let keyInfo = try FileManager.default.attributesOfItem(atPath: root + "/a/tls/certificates/acme.localhost.key")
        #expect((keyInfo[.posixPermissions] as? Int) == 0o600)
        hostA.send(SIGKILL)
        hostB.send(SIGKILL)
        _ = await hostB.waitForExit(timeout: .seconds(10))
        let stop = try ChildProcess(executable, ["db", "stop"], environment: database)
        _ = await stop.waitForExit(timeout: .seconds(60))
    }
}
