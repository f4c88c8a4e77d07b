import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

@Suite("Platform admin API", .serialized)
struct AdminAPITests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    @Test func adminsProvisionAndRunTenantsOnlyFromThePlatformDomain() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let admin = [
                ("Authorization", "Bearer " + (try await identity.createAdminKey(name: "ops", expiresAt: nil)).text)
            ]
            let create = await harness.send(
                .post, "/admin/api/tenants", host: "localhost", headers: admin,
                json:
                    #"{"slug":"orion","displayName":"Orion Capital","domains":["trade.orion.example"],"features":{"ml":false}}"#
            )
            #expect(create.status.code == 201, "\(String(decoding: create.body, as: UTF8.self))")
            let body = Self.json(create)
            let ownerKey = try #require(body["ownerKey"] as? String)
            let tenant = try #require(body["tenant"] as? [String: Any])
            #expect(tenant["domains"] as? [String] == ["orion.localhost", "trade.orion.example"])
            #expect((tenant["features"] as? [String: Bool])?["ml"] == false)

            // The custom domain is served once its ownership is proven (here as if the DNS check
            // had passed: DomainVerificationTests checks against a real DNS server).
            try await harness.directory.reload(from: harness.pool)
            #expect(harness.directory.tenant(forHost: "trade.orion.example") == nil)
            try await harness.pool.execute(
                "UPDATE platform.tenant_domains SET verification_state = 'verified' WHERE hostname = 'trade.orion.example'"
            )
            // The first owner key works on the new tenant's domain, and nowhere else.
            try await harness.directory.reload(from: harness.pool)
            let me = await harness.send(
                .get, "/api/enterprise/auth/me", host: "trade.orion.example",
                headers: [("Authorization", "Bearer " + ownerKey)])
            #expect(me.status.code == 200)
            let onAcme = await harness.send(
                .get, "/api/enterprise/auth/me", headers: [("Authorization", "Bearer " + ownerKey)])
            #expect(onAcme.status.code == 401)
            // A tenant key is no admin key; admin routes do not exist on tenant domains.
            let tenantKeyOnAdmin = await harness.send(
                .get, "/admin/api/tenants", host: "localhost", headers: [("Authorization", "Bearer " + ownerKey)])
            #expect(tenantKeyOnAdmin.status.code == 401)
            let adminOnTenantDomain = await harness.send(.get, "/admin/api/tenants", headers: admin)
            #expect(adminOnTenantDomain.status.code == 404)

            // Bad input and conflicts name the problem.
            let duplicate = await harness.send(
                .post, "/admin/api/tenants", host: "localhost", headers: admin,
                json: #"{"slug":"orion","displayName":"Again"}"#)
            #expect(duplicate.status.code == 409)
            #expect(String(decoding: duplicate.body, as: UTF8.self).contains("the slug 'orion' is already taken"))
            let badSlug = await harness.send(
                .post, "/admin/api/tenants", host: "localhost", headers: admin,
                json: #"{"slug":"Or-ion","displayName":"X"}"#)
            #expect(badSlug.status.code == 400)
            // A cluster this platform does not have: refused before anything is created.
            let nowhere = await harness.send(
                .post, "/admin/api/tenants", host: "localhost", headers: admin,
                json: #"{"slug":"vega","displayName":"Vega","placement":"eu"}"#)
            #expect(
                nowhere.status.code == 400
                    && String(decoding: nowhere.body, as: UTF8.self).contains("field 'placement'"),
                "\(String(decoding: nowhere.body, as: UTF8.self))")
            let placedHere = await harness.send(
                .post, "/admin/api/tenants", host: "localhost", headers: admin,
                json: #"{"slug":"vega","displayName":"Vega","placement":"primary"}"#)
            #expect(placedHere.status.code == 201, "\(String(decoding: placedHere.body, as: UTF8.self))")
            let takenDomain = await harness.send(
                .post, "/admin/api/tenants/acme/domains", host: "localhost", headers: admin,
                json: #"{"hostname":"Trade.Orion.Example."}"#)
            #expect(takenDomain.status.code == 409)
            let added = await harness.send(
                .post, "/admin/api/tenants/acme/domains", host: "localhost", headers: admin,
                json: #"{"hostname":"desk.acme.example"}"#)
            #expect(added.status.code == 201)
            let badHost = await harness.send(
                .post, "/admin/api/tenants/acme/domains", host: "localhost", headers: admin,
                json: #"{"hostname":"not a host"}"#)
            #expect(badHost.status.code == 400)

            // Delete is two-step: refused while active, then with the slug typed again.
            let early = await harness.send(
                .delete, "/admin/api/tenants/orion?confirm=orion", host: "localhost", headers: admin)
            #expect(early.status.code == 400)
            #expect(
                await harness.send(.post, "/admin/api/tenants/orion/suspend", host: "localhost", headers: admin).status
                    .code == 200)
            let wrongConfirm = await harness.send(
                .delete, "/admin/api/tenants/orion?confirm=acme", host: "localhost", headers: admin)
            #expect(wrongConfirm.status.code == 400)
            let deleted = await harness.send(
                .delete, "/admin/api/tenants/orion?confirm=orion", host: "localhost", headers: admin)
            #expect(deleted.status.code == 200, "\(String(decoding: deleted.body, as: UTF8.self))")
            if let path = Self.json(deleted)["finalExport"] as? String {
                #expect(FileManager.default.fileExists(atPath: path))
                try? FileManager.default.removeItem(atPath: path)
            }

            // Everything the admin did is in the platform trail, and it verifies.
            let actions = try await harness.pool.query(
                "SELECT action FROM platform.audit_records WHERE actor LIKE 'platform-admin:%' ORDER BY chain_position")
            #expect(
                try actions.map { try $0.decode("action", as: String.self) } == [
                    "tenant.provisioned", "tenant.provisioned", "domain.added", "tenant.suspended", "tenant.deleted",
                ])
            let verify = await harness.send(.get, "/admin/api/audit-trail/verify", host: "localhost", headers: admin)
            #expect(!String(decoding: verify.body, as: UTF8.self).contains("firstBrokenLink"))
        }
    }

    @Test func breakGlassGivesAnAuditedTemporaryReadOnlyView() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let token = try await identity.createAdminKey(name: "ops", expiresAt: nil)
            let admin = [("Authorization", "Bearer " + token.text)]
            // Without a grant, an admin sees nothing of a tenant's data.
            let before = await harness.send(.get, "/api/enterprise/audit-trail", headers: admin)
            #expect(before.status.code == 403)
            let short = await harness.send(
                .post, "/admin/api/break-glass", host: "localhost", headers: admin,
                json: #"{"tenant":"acme","reason":"why","minutes":30}"#)
            #expect(short.status.code == 400)
            let grant = await harness.send(
                .post, "/admin/api/break-glass", host: "localhost", headers: admin,
                json: #"{"tenant":"acme","reason":"incident 4711: customer asked for help","minutes":30}"#)
            #expect(grant.status.code == 201)
            let read = await harness.send(.get, "/api/enterprise/audit-trail", headers: admin)
            #expect(read.status.code == 200)
            #expect(String(decoding: read.body, as: UTF8.self).contains("break_glass.granted"))
            // Read-only: managing keys is refused.
            let write = await harness.send(
                .post, "/api/enterprise/api-keys", headers: admin, json: #"{"name":"x","roles":["owner"]}"#)
            #expect(write.status.code == 403)
        }
    }
}
