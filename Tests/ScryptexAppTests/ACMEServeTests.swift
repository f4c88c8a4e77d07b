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
}
