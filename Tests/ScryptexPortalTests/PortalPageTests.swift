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
                // The session cookie came host-only, HTTPS-only and hidden from scripts (curl's jar
                // marks HttpOnly and Secure; SameSite it does not record).
                let jar = try String(contentsOfFile: session.jar, encoding: .utf8)
                #expect(
                    jar.split(separator: "\n").contains {
                        $0.hasPrefix("#HttpOnly_") && $0.contains("\t/\tTRUE\t")
                            && $0.contains("__Host-scryptex_session")
                    }, "\(jar)")
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
            // A post from another site's page is refused before anything else, whatever it carries.
            let crossSite = try await host.curl([
                "-b", session.jar, "-H", "Origin: https://evil.example", "--data-urlencode", "csrf=\(token)",
                host.url("acme", "/portal/sign-out"),
            ])
            #expect(crossSite.status == 403 && crossSite.body.contains("from another site"), "\(crossSite.body)")
            #expect(try await session.get("/portal").status == 200, "the session is still on")
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

    @Test(.timeLimit(.minutes(4)))
    func aForgottenPasswordIsResetOnceThroughTheMailedLinkEndingEverySession() async throws {
        let host = try await PortalHost()
        do {
            let password = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
            let earlier = CurlSession(host: host, tenant: "acme")
            #expect(try await earlier.signIn(email: "ada@acme.example", password: password))
            let outbox = host.root + "/outbox"
            func mails() -> [String] {
                ((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []).sorted().compactMap {
                    try? String(contentsOfFile: outbox + "/" + $0, encoding: .utf8)
                }
            }
            let session = CurlSession(host: host, tenant: "acme")
            func ask(_ email: String) async throws -> (status: Int, headers: String, body: String) {
                let form = try await session.get("/portal/password-reset")
                let token = try #require(CurlSession.formToken(in: form.body))
                return try await session.post("/portal/password-reset", [("csrf", token), ("email", email)])
            }
            // An unknown address gets the same answer and no mail.
            let unknown = try await ask("nobody@acme.example")
            #expect(unknown.status == 200 && unknown.body.contains("If that address belongs to a member"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(mails().isEmpty)
            let known = try await ask("Ada@Acme.example")
            #expect(known.status == unknown.status && known.body.contains("If that address belongs to a member"))
            // The mail leaves after the answer (so a member's address answers no later than another's).
            for _ in 0..<100 where mails().isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            let mail = try #require(mails().first)
            #expect(mail.contains("To: ada@acme.example\r\n"))
            #expect(mail.contains("Subject: Reset your Acme Prime password"))
            let link = try #require(
                mail.split(whereSeparator: \.isNewline).first { $0.hasPrefix("https://") }.map(String.init))
            #expect(link.hasPrefix(host.url("acme", "/portal/password-reset/link/")))
            let path = String(link.dropFirst(host.url("acme", "").count))

            // The link moves its token into a cookie and out of the address.
            let opened = try await session.get(path)
            #expect(opened.status == 303 && opened.headers.contains("Location: /portal/password-reset/new"))
            #expect(opened.headers.contains("__Host-scryptex_reset="))
            let form = try await session.get("/portal/password-reset/new")
            let token = try #require(CurlSession.formToken(in: form.body))
            let mismatch = try await session.post(
                "/portal/password-reset/new",
                [("csrf", token), ("password", "a-new-long-passphrase"), ("confirmation", "another-long-one")])
            #expect(mismatch.status == 400 && mismatch.body.contains("The two passwords differ"))
            let short = try await session.post(
                "/portal/password-reset/new", [("csrf", token), ("password", "short"), ("confirmation", "short")])
            #expect(short.status == 400 && short.body.contains("12 to 1024 characters"))
            let forged = try await session.post(
                "/portal/password-reset/new",
                [("password", "a-new-long-passphrase"), ("confirmation", "a-new-long-passphrase")])
            #expect(forged.status == 403)
            let done = try await session.post(
                "/portal/password-reset/new",
                [("csrf", token), ("password", "a-new-long-passphrase"), ("confirmation", "a-new-long-passphrase")])
            #expect(done.status == 303 && done.headers.contains("Location: /portal/sign-in?reset=1"), "\(done.body)")

            // Once only; the new password works, the old one and the old session do not.
            let again = try await CurlSession(host: host, tenant: "acme").get(path)
            #expect(again.status == 410)
            #expect(
                try await CurlSession(host: host, tenant: "acme").signIn(
                    email: "ada@acme.example", password: "a-new-long-passphrase"))
            #expect(
                try await !CurlSession(host: host, tenant: "acme").signIn(email: "ada@acme.example", password: password)
            )
            let stale = try await earlier.get("/portal")
            #expect(stale.status == 303 && stale.headers.contains("/portal/sign-in?expired=1"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(4)))
    func anOwnerAddsAMemberWhoSignsInAndAComplianceOfficerWorksAnAlertCase() async throws {
        let host = try await PortalHost()
        do {
            let password = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
            let owner = CurlSession(host: host, tenant: "acme")
            #expect(try await owner.signIn(email: "ada@acme.example", password: password))
            let team = try await owner.get("/portal/team")
            #expect(team.body.contains("ada@acme.example"))
            let added = try await owner.post(
                "/portal/team",
                [
                    ("csrf", try #require(CurlSession.formToken(in: team.body))), ("email", "cleo@acme.example"),
                    ("name", "Cleo Compliance"), ("role", "compliance_officer"),
                ])
            #expect(added.status == 201)
            let first = try #require(
                added.body.range(of: #"<p class="secret">"#).map { String(added.body[$0.upperBound...].prefix(20)) })
            let officer = CurlSession(host: host, tenant: "acme")
            #expect(try await officer.signIn(email: "cleo@acme.example", password: first))

            // A structuring pattern raises an alert (three deposits just under the threshold).
            let key = try await host.newAPIKey("acme", role: "owner")
            let account = try await host.curl([
                "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "-d",
                #"{"accountName":"Desk","accountType":"hedge_fund","legalName":"Desk LLC","jurisdiction":"US"}"#,
                host.url("acme", "/api/enterprise/accounts"),
            ])
            let id = try #require(
                account.body.range(of: #""id":""#).map { String(account.body[$0.upperBound...].prefix(36)) })
            for _ in 0..<3 {
                let deposit = try await host.curl([
                    "-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "-d",
                    #"{"direction":"deposit","asset":"USD","amount":"9500","usdValue":"9500"}"#,
                    host.url("acme", "/api/enterprise/accounts/\(id)/transfers"),
                ])
                #expect((200..<300).contains(deposit.status), "\(deposit.body)")
            }
            let alerts = try await officer.get("/portal/alerts?status=open")
            #expect(alerts.status == 200)
            let alertID = try #require(
                alerts.body.range(of: #"action="/portal/alerts/"#).map {
                    String(alerts.body[$0.upperBound...].prefix(36))
                },
                "\(alerts.body)")
            let csrf = try #require(CurlSession.formToken(in: alerts.body))
            let escalateFirst = try await officer.post("/portal/alerts/\(alertID)/escalate", [("csrf", csrf)])
            #expect(
                escalateFirst.status == 400 && escalateFirst.body.contains("only an assigned case can be escalated"))
            for (action, fields) in [
                ("assign", [("assignee", "cleo@acme.example")]), ("escalate", []),
                ("close", [("reason", "Payroll deposits, documented")]),
            ] {
                let answer = try await officer.post("/portal/alerts/\(alertID)/\(action)", [("csrf", csrf)] + fields)
                #expect(answer.status == 303, "\(action): \(answer.body)")
            }
            let closed = try await officer.get("/portal/alerts?status=closed")
            #expect(closed.body.contains("Payroll deposits, documented"))
            // Not a page for a compliance officer: the team.
            #expect(try await officer.get("/portal/team").status == 403)

            // The officer records a KYC document; the owner sets limits (the officer may not).
            let accountPage = try await officer.get("/portal/accounts/\(id)")
            #expect(!accountPage.body.contains("Save the limits"))
            let officerToken = try #require(CurlSession.formToken(in: accountPage.body))
            let document = try await officer.post(
                "/portal/accounts/\(id)/kyc/documents",
                [
                    ("csrf", officerToken), ("kind", "certificate_of_incorporation"), ("reference", "vault://coi-2026"),
                    ("issuedOn", "2026-01-15"),
                ])
            #expect(document.status == 303, "\(document.body)")
            let refusedLimits = try await officer.post(
                "/portal/accounts/\(id)/limits", [("csrf", officerToken), ("maxOrderNotional", "1")])
            #expect(refusedLimits.status == 403)
            let ownerPage = try await owner.get("/portal/accounts/\(id)")
            #expect(ownerPage.body.contains("vault://coi-2026"))
            let limits = try await owner.post(
                "/portal/accounts/\(id)/limits",
                [
                    ("csrf", try #require(CurlSession.formToken(in: ownerPage.body))), ("maxOrderNotional", "250000"),
                    ("dailyNotional", ""), ("allowedInstruments", "BTC/USD, ETH/USD"),
                ])
            #expect(limits.status == 303, "\(limits.body)")
            let saved = try await owner.get("/portal/accounts/\(id)")
            #expect(saved.body.contains("<dd>250000") && saved.body.contains("BTC/USD, ETH/USD"), "\(saved.body)")
            let bad = try await owner.post(
                "/portal/accounts/\(id)/limits",
                [("csrf", try #require(CurlSession.formToken(in: saved.body))), ("maxOrderNotional", "lots")])
            #expect(bad.status == 400 && bad.body.contains("field &#39;maxOrderNotional&#39;"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(4)))
    func aPartnerOwnerReadsTheirRevenueShareAndItsClosedMonthsStatement() async throws {
        let host = try await PortalHost()
        do {
            let admin = try #require(
                try await host.command(["admin-key", "create", "--name", "revenue"]).split(separator: "\n").first {
                    $0.hasPrefix("sxa_")
                }.map(String.init))
            func platform(_ path: String, _ body: String) async throws -> (status: Int, headers: String, body: String) {
                try await host.curl([
                    "-H", "Authorization: Bearer \(admin)", "-H", "Content-Type: application/json", "-d", body,
                    "https://localhost:\(host.httpsPort)/api/enterprise/white-label\(path)",
                ])
            }
            let created = try await platform(
                "/instances",
                #"{"slug":"orion","displayName":"Orion Capital","plan":"starter","branding":{"productName":"Orion Prime"},"revenueShare":{"model":"tiered","currency":"USD","tierBasis":"revenue","tiers":[{"from":"0","upTo":"1000","percent":"10"},{"from":"1000","percent":"20"}]}}"#
            )
            #expect(created.status == 201, "\(created.body)")
            // The instance's plan starts this month; October is covered by a version of its own.
            let plan = try await platform(
                "/orion/plans",
                #"{"effectiveFrom":"2026-10","plan":{"model":"tiered","currency":"USD","tierBasis":"revenue","tiers":[{"from":"0","upTo":"1000","percent":"10"},{"from":"1000","percent":"20"}]}}"#
            )
            #expect(plan.status == 201, "\(plan.body)")
            let events = try await platform(
                "/fee-events",
                #"{"events":[{"partner":"orion","idempotencyKey":"t-1","product":"trading_fees","amount":"900.00","currency":"USD","volume":"1800000","occurredAt":"2026-10-03T09:00:00Z"},{"partner":"orion","idempotencyKey":"t-2","product":"trading_fees","amount":"300.00","currency":"USD","occurredAt":"2026-10-20T16:30:00Z"},{"partner":"orion","idempotencyKey":"s-1","product":"subscriptions","amount":"99.99","currency":"USD","occurredAt":"2026-10-01T00:00:00Z"}]}"#
            )
            #expect(events.status == 200, "\(events.body)")
            let close = try await platform("/periods/2026-10/close", "{}")
            #expect(close.status == 200, "\(close.body)")

            let password = try await host.newUser("orion", email: "olga@orion.example", role: "owner")
            let owner = CurlSession(host: host, tenant: "orion", extraArguments: ["-k"])
            var signedIn = false
            for _ in 0..<50 where !signedIn {
                signedIn = try await owner.signIn(email: "olga@orion.example", password: password)
                if !signedIn { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(signedIn)
            let page = try await owner.get("/portal/revenue")
            #expect(page.status == 200, "\(page.body)")
            // 10 % of the first 1,000 and 20 % of the other 299.99: 159.998, rounded once to 160.00.
            #expect(page.body.contains("<td>2026-10</td><td>closed</td>"), "\(page.body)")
            #expect(page.body.contains("1299.99") && page.body.contains("160.00"), "\(page.body)")
            let link = "/api/enterprise/white-label/orion/statements/2026-10?format=html"
            #expect(page.body.contains("href=\"\(link)\""))
            let statement = try await owner.get(link)
            #expect(statement.status == 200 && statement.body.contains("Orion Prime"), "\(statement.status)")
            // Not a page for the demo tenants: their owners have no white-label instance.
            let acme = try await host.newUser("acme", email: "ada@acme.example", role: "owner")
            let acmeOwner = CurlSession(host: host, tenant: "acme")
            #expect(try await acmeOwner.signIn(email: "ada@acme.example", password: acme))
            #expect(!(try await acmeOwner.get("/portal").body.contains("/portal/revenue")))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
