import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 18: `tenant import` restored sealed fields bound to the old tenant's id and key (the
/// imported users could not sign in, personal data answered 500). A tenant exported and imported
/// under a new slug must work in every respect.
@Suite("A tenant exported and imported under a new slug", .serialized)
struct TenantArchiveRoundTripTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func usersSignInPersonalDataReadsAndTheAuditChainContinues() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            #expect(
                await harness.send(
                    .post, "/api/enterprise/users", headers: owner,
                    json:
                        #"{"email":"ana@acme.example","name":"Ana Lima","password":"a very good password","role":"viewer"}"#
                ).status.code == 201)
            let account = try await harness.addAccountWithSealedPeople(headers: owner)

            let provisioner = TenantIdentitySetUp.provisioner(
                platformDomain: "localhost", tenantSchema: SchemaPlans.tenant, keyring: harness.keyring,
                logger: TestDatabase.logger)
            let archive = TenantArchive(
                provisioner: provisioner,
                participants: [DataKeyArchive(keyring: harness.keyring, columns: SchemaPlans.tenant.sealedColumns)],
                logger: TestDatabase.logger)
            let lines = try await archive.export("acme", on: harness.pool)
            let sourceHead = try await harness.pool.query(
                "SELECT record_hash FROM t_acme.audit_records ORDER BY chain_position DESC LIMIT 1"
            ).firstRow.decode("record_hash", as: String.self)
            #expect(!lines.joined().contains("Ana Lima"), "personal data stays sealed in the archive")

            // An archive without the data keys (an older export) is refused, creating nothing.
            let withoutKeys = lines.filter { !$0.contains(#""section":"identity.dataKeys""#) }
            do {
                try await archive.import(withoutKeys, as: "acmeold", on: harness.pool)
                Issue.record("an archive without its data keys was imported")
            } catch let error as ServiceError {
                #expect(error.message.contains("no identity.dataKeys section"), "\(error.message)")
            }
            #expect(try await TenantRegistry().tenant(try TenantSlug("acmeold"), from: harness.pool) == nil)

            let copy = try await archive.import(lines, as: "acmecopy", on: harness.pool)
            try await harness.directory.reload(from: harness.pool)
            let host = "acmecopy.localhost"

            // Ana signs in on the copy with her password; her name reads.
            let login = await harness.send(
                .post, "/api/enterprise/auth/login", host: host,
                json: #"{"email":"ana@acme.example","password":"a very good password"}"#)
            #expect(login.status.code == 200, "\(Self.text(login))")
            let copyOwner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"], tenant: copy)))]
            let users = await harness.send(.get, "/api/enterprise/users", host: host, headers: copyOwner)
            #expect(users.status.code == 200 && Self.text(users).contains("Ana Lima"), "\(Self.text(users))")
            let members = await harness.send(
                .get, "/api/enterprise/accounts/\(account)/members", host: host, headers: copyOwner)
            #expect(members.status.code == 200 && Self.text(members).contains("Tom Trader"), "\(Self.text(members))")
            let owners = await harness.send(
                .get, "/api/enterprise/accounts/\(account)/kyc/beneficial-owners", host: host, headers: copyOwner)
            #expect(owners.status.code == 200 && Self.text(owners).contains("Jane Founder"))
            // The blind index works under the copy's key: the same member cannot be added twice.
            let duplicate = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/members", host: host, headers: copyOwner,
                json: #"{"email":"tom@acme.example","role":"analyst"}"#)
            #expect(duplicate.status.code == 409)

            // The audit chain verifies, and records the import with the source chain's head.
            let verify = await harness.send(.get, "/api/enterprise/audit-trail/verify", host: host, headers: copyOwner)
            #expect(
                Self.text(verify).contains(#""recordsChecked""#) && !Self.text(verify).contains("firstBrokenLink"),
                "\(Self.text(verify))")
            let imported = try await harness.pool.query(
                "SELECT details ->> 'sourceChainHead' AS head FROM t_acmecopy.audit_records WHERE action = 'tenant.imported'"
            )
            #expect(try imported.first?.decode("head", as: String.self) == sourceHead)
            // The source still works, untouched.
            let source = await harness.send(.get, "/api/enterprise/users", headers: owner)
            #expect(Self.text(source).contains("Ana Lima"))
        }
    }
}
