import Foundation
import Glibc
import ScryptexHTTP
import ScryptexIdentity
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 18: a custom domain was served (and would get an ACME certificate) the moment it was
/// added. Now it is served only once a TXT record proves its owner controls it, checked here
/// against a real DNS server (dnsmasq) the test starts.
@Suite("Custom domains verified by DNS", .serialized)
struct DomainVerificationTests {
    /// A dnsmasq answering only from the given TXT records, on a loopback port.
    final class LocalDNS {
        let process: ChildProcess
        let port: Int

        init(port: Int, txt records: [(String, String)]) async throws {
            self.port = port
            process = try ChildProcess(
                "/usr/sbin/dnsmasq",
                [
                    "--keep-in-foreground", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--no-resolv", "--no-hosts", "--pid-file=", "--conf-file=/dev/null",
                    // The zone it answers for: a name without a record there does not exist.
                    "--local=/acme.example/",
                ] + records.map { "--txt-record=\($0.0),\($0.1)" })
            // Up when it answers (a name without a record is an empty answer, not a timeout).
            let resolver = DNSResolver(server: "127.0.0.1", port: port, timeout: .milliseconds(200))
            for _ in 0..<50 {
                if (try? await resolver.txtRecords(for: "ready.acme.example")) != nil { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw ChildProcessError(message: "dnsmasq did not answer: \(process.output)")
        }

        func stop() async {
            process.send(SIGTERM)
            _ = await process.waitForExit(timeout: .seconds(5))
        }
    }

    static func json(_ body: [UInt8]) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }

    @Test func aCustomDomainIsServedOnlyWhileItsTXTRecordProvesOwnership() async throws {
        let port = try FreePort.udp()
        try await RouteHarness.with(
            environment: [
                "RATE_LIMIT_LOGIN": "1000/s", "CUSTOM_DOMAIN_SUPPORT": "true", "DNS_RESOLVER": "127.0.0.1:\(port)",
            ]
        ) { harness in
            let admin = [
                (
                    "Authorization",
                    "Bearer "
                        + (try await IdentityService(pool: harness.pool, keyring: harness.keyring).createAdminKey(
                            name: "ops", expiresAt: nil)).text
                )
            ]
            let added = await harness.send(
                .post, "/admin/api/tenants/acme/domains", host: "localhost", headers: admin,
                json: #"{"hostname":"desk.acme.example"}"#)
            #expect(added.status.code == 201)
            let domain = try #require(Self.json(added.body)["domain"] as? [String: Any])
            #expect(domain["state"] as? String == "pending")
            let challenge = try #require(domain["challenge"] as? [String: Any])
            #expect(challenge["recordName"] as? String == "_scryptex-challenge.desk.acme.example")
            #expect(challenge["recordType"] as? String == "TXT")
            let token = try #require(challenge["value"] as? String)
            try await harness.directory.reload(from: harness.pool)
            #expect(harness.directory.tenant(forHost: "desk.acme.example") == nil, "served before it was proven")
            func verify() async -> [String: Any] {
                Self.json(
                    await harness.send(
                        .post, "/admin/api/tenants/acme/domains/desk.acme.example/verify", host: "localhost",
                        headers: admin
                    ).body)
            }

            // A record with another token proves nothing.
            var dns = try await LocalDNS(port: port, txt: [("_scryptex-challenge.desk.acme.example", "not-the-token")])
            var outcome = await verify()
            #expect(outcome["state"] as? String == "pending")
            #expect((outcome["error"] as? String)?.contains("does not hold this domain's token") == true, "\(outcome)")
            await dns.stop()

            // The right token: verified, and served.
            dns = try await LocalDNS(port: port, txt: [("_scryptex-challenge.desk.acme.example", token)])
            outcome = await verify()
            #expect(outcome["state"] as? String == "verified", "\(outcome)")
            try await harness.directory.reload(from: harness.pool)
            #expect(harness.directory.tenant(forHost: "desk.acme.example")?.slug.value == "acme")
            await dns.stop()

            // The record removed: the periodic re-check takes the domain out of service.
            dns = try await LocalDNS(port: port, txt: [])
            let outcomes = try await DomainVerification(lookup: DNSResolver(server: "127.0.0.1", port: port))
                .checkAll(on: harness.pool)
            #expect(outcomes.first { $0.hostname == "desk.acme.example" }?.state == .failed, "\(outcomes)")
            try await harness.directory.reload(from: harness.pool)
            #expect(harness.directory.tenant(forHost: "desk.acme.example") == nil)
            // The platform subdomain needed no proof and is still served.
            #expect(harness.directory.tenant(forHost: "acme.localhost")?.slug.value == "acme")
            await dns.stop()

            // No DNS server answering: the domain keeps its state, and the answer says why.
            outcome = await verify()
            #expect(outcome["state"] as? String == "failed")
            #expect((outcome["error"] as? String)?.contains("could not be made") == true, "\(outcome)")
        }
    }
}
