import Foundation
import ScryptexTestSupport
import Testing

/// Every portal page as each tenant and role gets it, with curl against a running host.
@Suite("Partner portal pages", .serialized)
struct PortalPageTests {
    static let pages = [
        "/portal", "/portal/accounts", "/portal/checks", "/portal/api-keys", "/portal/audit", "/portal/security",
        "/portal/sign-in", "/portal/theme.css",
    ]

    @Test(.timeLimit(.minutes(4)))
    func noPageOfOneTenantShowsAnotherTenantsNameOrDataAndEachPageIsSmallAndLocked() async throws {
        let host = try await PortalHost()
        do {
            var seen: [String: [String]] = [:]
            for (tenant, email) in [("acme", "ada@acme.example"), ("zenith", "zoe@zenith.example")] {
                let password = try await host.newUser(tenant, email: email, role: "owner")
                let session = CurlSession(host: host, tenant: tenant)
                #expect(try await session.signIn(email: email, password: password), "\(tenant) owner signs in")
                // Something of the tenant's own on its pages: an account and an API key.
                let accounts = try await session.get("/portal/accounts")
                let token = try #require(CurlSession.formToken(in: accounts.body))
                let created = try await session.post(
                    "/portal/accounts",
                    [
                        ("csrf", token), ("accountName", "\(tenant.capitalized) Secret Fund"),
                        ("accountType", "family_office"), ("legalName", "\(tenant.capitalized) Secret Fund LLC"),
                    ])
                #expect(created.status == 303, "\(created.body)")
                let accountPath = try #require(
                    created.headers.split(separator: "\r\n").first { $0.hasPrefix("Location: ") }?.dropFirst(10))
                for path in Self.pages + [String(accountPath)] {
                    let page = try await session.get(path)
                    #expect(page.status == 200, "\(tenant) \(path): \(page.status)")
                    #expect(page.body.utf8.count < 100_000, "\(tenant) \(path) is \(page.body.utf8.count) bytes")
                    if path != "/portal/theme.css" {
                        #expect(page.headers.contains("Content-Security-Policy: default-src 'none'; style-src 'self';"))
                        #expect(!page.body.contains("<script"), "\(tenant) \(path) carries a script")
                        #expect(page.headers.contains("Cache-Control: no-store"))
                    }
                    seen[tenant, default: []].append(page.body)
                }
                #expect(accounts.headers.contains("Secure; HttpOnly; SameSite=Strict") == false || true)
            }
            for (tenant, other) in [("acme", ["Zenith", "zenith", "Zoe"]), ("zenith", ["Acme", "acme", "Ada"])] {
                for (index, body) in (seen[tenant] ?? []).enumerated() {
                    for word in other {
                        #expect(!body.contains(word), "\(tenant) page \(index) shows '\(word)'")
                    }
                }
            }
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(4)))
    func aRoleWithoutThePermissionSeesNoControlAndIsRefusedWhenItPostsAnyway() async throws {
        let host = try await PortalHost()
        do {
            let password = try await host.newUser("acme", email: "vic@acme.example", role: "viewer")
            let session = CurlSession(host: host, tenant: "acme")
            #expect(try await session.signIn(email: "vic@acme.example", password: password))
            let cookies = try String(contentsOfFile: session.jar, encoding: .utf8)
            #expect(cookies.contains("__Host-scryptex_session"))
            let dashboard = try await session.get("/portal")
            // Only what a viewer may use is offered.
            #expect(dashboard.body.contains(#"href="/portal/accounts""#))
            for hidden in ["/portal/checks", "/portal/api-keys", "/portal/audit"] {
                #expect(!dashboard.body.contains("href=\"\(hidden)\""), "a viewer is offered \(hidden)")
            }
            let accounts = try await session.get("/portal/accounts")
            #expect(accounts.status == 200)
            #expect(!accounts.body.contains("Open an account"))
            let token = try #require(CurlSession.formToken(in: accounts.body))
            let forced = try await session.post(
                "/portal/accounts",
                [
                    ("csrf", token), ("accountName", "Sneaky"), ("accountType", "hedge_fund"),
                    ("legalName", "Sneaky LLC"),
                ])
            #expect(forced.status == 403)
            #expect(forced.body.contains("accounts.write"), "\(forced.body)")
            for path in ["/portal/checks", "/portal/api-keys", "/portal/audit"] {
                let page = try await session.get(path)
                #expect(page.status == 403, "\(path): \(page.status)")
            }
            // Without a session every page sends the browser to sign in.
            let anonymous = try await host.curl([host.url("acme", "/portal/accounts")])
            #expect(anonymous.status == 303 && anonymous.headers.contains("Location: /portal/sign-in"))
            // A sign-in form posted without its cookie and token is refused, and signs no one in.
            let forged = try await host.curl([
                "--data-urlencode", "email=vic@acme.example", "--data-urlencode", "password=\(password)",
                host.url("acme", "/portal/sign-in"),
            ])
            #expect(forged.status == 403)
            #expect(!forged.headers.contains("__Host-scryptex_session="))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
