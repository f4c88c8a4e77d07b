import Foundation
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import ScryptexWhiteLabel
import Testing

@testable import ScryptexApp

@Suite("White-label instances and partner revenue over HTTP", .serialized)
struct WhiteLabelTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    @Test func anAdminCreatesAnInstanceFeesFlowAMonthClosesAndThePartnerReadsItsStatement() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let admin = [
                ("Authorization", "Bearer " + (try await identity.createAdminKey(name: "ops", expiresAt: nil)).text)
            ]
            let base = "/api/enterprise/white-label"
            func adminSend(_ method: HTTPMethod, _ path: String, _ json: String? = nil) async -> HTTPResponse {
                await harness.send(method, path, host: "localhost", headers: admin, json: json)
            }

            // A feature the plan lacks cannot be switched on; bad terms name the field.
            let tooMuch = await adminSend(
                .post, base + "/instances",
                #"{"slug":"orion","displayName":"Orion Capital","plan":"starter","features":{"market_making":true}}"#)
            #expect(tooMuch.status.code == 400)
            #expect(Self.text(tooMuch).contains("field 'features.market_making': not included in the 'starter' plan"))
            let badShare = await adminSend(
                .post, base + "/instances",
                #"{"slug":"orion","displayName":"Orion","revenueShare":{"model":"flat","currency":"USD","percent":140}}"#
            )
            #expect(badShare.status.code == 400 && Self.text(badShare).contains("field 'revenueShare.percent'"))
            #expect(try await harness.pool.query("SELECT 1 FROM platform.tenants WHERE slug = 'orion'").isEmpty)

            let created = await adminSend(
                .post, base + "/instances",
                #"""
                {"slug":"orion","displayName":"Orion Capital","plan":"starter","domains":["trade.orion.example"],
                 "branding":{"productName":"Orion Prime","colors":{"primary":"#112233"},"legalFooter":"Orion Capital LLP"},
                 "revenueShare":{"model":"tiered","currency":"USD","tierBasis":"revenue",
                   "tiers":[{"from":"0","upTo":"1000","percent":"10"},{"from":"1000","percent":"20"}]}}
                """#)
            #expect(created.status.code == 201, "\(Self.text(created))")
            let body = Self.json(created)
            let ownerKey = try #require(body["ownerKey"] as? String)
            let instance = try #require(body["instance"] as? [String: Any])
            let instanceID = try #require(instance["id"] as? String)
            let flags = (instance["tenant"] as? [String: Any])?["features"] as? [String: Bool]
            #expect(flags?["market_making"] == false && flags?["compliance"] == true && flags?["white_label"] == true)
            try await harness.directory.reload(from: harness.pool)
            let owner = [("Authorization", "Bearer " + ownerKey)]

            // Instance routes are for platform admins only.
            #expect(await harness.send(.get, base + "/instances", host: "localhost", headers: owner).status.code == 401)
            #expect(
                await harness.send(.get, base + "/instances", host: "orion.localhost", headers: owner).status.code
                    == 404)
            let listed = Self.json(await adminSend(.get, base + "/instances"))
            #expect((listed["instances"] as? [[String: Any]])?.count == 1)

            // The plan covers October too (an open month).
            let plan = await adminSend(
                .post, base + "/orion/plans",
                #"{"effectiveFrom":"2026-10","plan":{"model":"tiered","currency":"USD","tierBasis":"revenue","tiers":[{"from":"0","upTo":"1000","percent":"10"},{"from":"1000","percent":"20"}]}}"#
            )
            #expect(plan.status.code == 201, "\(Self.text(plan))")

            // Fee events: bad ones name the event and field, nothing is posted; replay is a no-op.
            for (events, message, status) in [
                (
                    #"[{"partner":"orion","idempotencyKey":"x","product":"data","amount":"ten","currency":"USD","occurredAt":"2026-10-03T09:00:00Z"}]"#,
                    "amount", 400
                ),
                (
                    #"[{"partner":"nobody","idempotencyKey":"x","product":"data","amount":"1","currency":"USD","occurredAt":"2026-10-03T09:00:00Z"}]"#,
                    "field 'events[0].partner'", 400
                ),
                (
                    #"[{"partner":"orion","idempotencyKey":"x","product":"lottery","amount":"1","currency":"USD","occurredAt":"2026-10-03T09:00:00Z"}]"#,
                    "field 'events[0].product'", 400
                ),
                (
                    #"[{"partner":"orion","idempotencyKey":"x","product":"data","amount":"1","currency":"XYZ","occurredAt":"2026-10-03T09:00:00Z"}]"#,
                    "field 'events[0].currency'", 400
                ),
                (
                    #"[{"partner":"orion","idempotencyKey":"x","product":"data","amount":"1","currency":"USD","occurredAt":"yesterday"}]"#,
                    "field 'events[0].occurredAt'", 400
                ),
            ] {
                let answer = await adminSend(.post, base + "/fee-events", #"{"events":"# + events + "}")
                #expect(answer.status.code == status && Self.text(answer).contains(message), "\(Self.text(answer))")
            }
            let events = #"""
                {"events":[
                  {"partner":"orion","idempotencyKey":"t-1","product":"trading_fees","amount":"900.00","currency":"USD","volume":"1800000","occurredAt":"2026-10-03T09:00:00Z"},
                  {"partner":"orion","idempotencyKey":"t-2","product":"trading_fees","amount":"300.00","currency":"USD","volume":"600000","occurredAt":"2026-10-20T16:30:00.250Z"},
                  {"partner":"\#(instanceID)","idempotencyKey":"s-1","product":"subscriptions","amount":"99.99","currency":"USD","occurredAt":"2026-10-01T02:00:00+02:00"}
                ]}
                """#
            let ingested = await adminSend(.post, base + "/fee-events", events)
            #expect(ingested.status.code == 200, "\(Self.text(ingested))")
            #expect(Self.json(ingested)["recorded"] as? Int == 3)
            #expect(Self.json(await adminSend(.post, base + "/fee-events", events))["duplicates"] as? Int == 3)
            let changed = await adminSend(
                .post, base + "/fee-events",
                #"{"events":[{"partner":"orion","idempotencyKey":"t-1","product":"trading_fees","amount":"901.00","currency":"USD","occurredAt":"2026-10-03T09:00:00Z"}]}"#
            )
            #expect(changed.status.code == 409)

            // The month closes for every partner with a plan; the share is marginal:
            // 10 % of 1,000 + 20 % of 299.99 = 159.998 → 160.00.
            let close = await adminSend(.post, base + "/periods/2026-10/close")
            #expect(close.status.code == 200, "\(Self.text(close))")
            #expect(((Self.json(close)["closed"] as? [[String: Any]]) ?? []).map { $0["slug"] as? String } == ["orion"])
            #expect(await adminSend(.post, base + "/periods/2026-10/close?partner=orion").status.code == 409)

            // The partner reads its statement on its own domain, as JSON, CSV and a printable page.
            let statement = await harness.send(
                .get, base + "/orion/statements/2026-10", host: "orion.localhost", headers: owner)
            #expect(statement.status.code == 200, "\(Self.text(statement))")
            let document = Self.json(statement)
            #expect(document["share"] as? String == "160.00" && document["revenueTotal"] as? String == "1299.99")
            #expect(document["closingPayable"] as? String == "160.00")
            // The instance's custom domain, once proven (as if the DNS check had passed).
            try await harness.pool.execute(
                "UPDATE platform.tenant_domains SET verification_state = 'verified' WHERE hostname = 'trade.orion.example'"
            )
            try await harness.directory.reload(from: harness.pool)
            let csv = await harness.send(
                .get, base + "/orion/statements/2026-10?format=csv", host: "trade.orion.example", headers: owner)
            #expect(csv.headers.first("content-type")?.hasPrefix("text/csv") == true)
            #expect(Self.text(csv).contains("balance,closing payable,160.00,"))
            let page = await harness.send(
                .get, base + "/orion/statements/2026-10", host: "orion.localhost",
                headers: owner + [("Accept", "text/html")])
            #expect(page.headers.first("content-type")?.hasPrefix("text/html") == true)
            let html = Self.text(page)
            #expect(html.contains("Orion Prime") && html.contains("160.00") && html.contains("#112233"))
            #expect(html.contains("Orion Capital LLP") && html.contains("<td class=\"amount\">1299.99</td>"))
            // Another partner's statement does not exist for Orion; a trader cannot read revenue.
            #expect(
                await harness.send(.get, base + "/acme/revenue", host: "orion.localhost", headers: owner).status.code
                    == 404)
            let acmeOwner = try await harness.apiKey(roles: ["owner"])
            #expect(
                await harness.send(.get, base + "/orion/revenue", headers: [("Authorization", "Bearer " + acmeOwner)])
                    .status.code == 404)

            // Payouts: reserved, sent, and visible to the partner.
            let payout = await adminSend(
                .post, base + "/orion/payouts", #"{"amount":"100.00","currency":"USD","reference":"wire 1"}"#)
            #expect(payout.status.code == 201, "\(Self.text(payout))")
            let payoutID = try #require(Self.json(payout)["id"] as? String)
            #expect(
                await adminSend(.post, base + "/orion/payouts", #"{"amount":"60.01","currency":"USD"}"#).status.code
                    == 409)
            let sent = await adminSend(.patch, base + "/payouts/\(payoutID)", #"{"status":"sent"}"#)
            #expect(Self.json(sent)["status"] as? String == "sent")
            #expect(await adminSend(.patch, base + "/payouts/\(payoutID)", #"{"status":"pending"}"#).status.code == 409)

            // Revenue reporting: the partner sees its own; the admin sees every partner and a summary.
            let revenue = Self.json(
                await harness.send(.get, base + "/orion/revenue", host: "orion.localhost", headers: owner))
            #expect(revenue["partnerShare"] as? String == "160.00" && revenue["platformShare"] as? String == "1139.99")
            #expect(revenue["pending"] as? String == "60.00" && revenue["inTransit"] as? String == "100.00")
            let analytics = revenue["analytics"] as? [String: Any]
            #expect(analytics?["tradingVolume"] as? String == "2400000")
            #expect((analytics?["topProducts"] as? [[String: Any]])?.first?["product"] as? String == "trading_fees")
            #expect((analytics?["revenueTrend"] as? [[String: Any]])?.first?["period"] as? String == "2026-10")
            let all = Self.json(await adminSend(.get, base + "/all/revenue"))
            #expect((all["summary"] as? [[String: Any]])?.first?["revenue"] as? String == "1299.99")
            #expect(
                await harness.send(.get, base + "/all/revenue", host: "orion.localhost", headers: owner).status.code
                    == 404)
            let reconciliation = Self.json(await adminSend(.get, base + "/reconciliation"))
            #expect((reconciliation["differences"] as? [Any])?.isEmpty == true, "\(reconciliation)")

            // A placement is where the data is: it changes by moving the tenant, not by a patch.
            let same = await adminSend(.patch, base + "/instances/orion", #"{"placement":"primary"}"#)
            #expect(same.status.code == 200, "\(Self.text(same))")
            let elsewhere = await adminSend(.patch, base + "/instances/orion", #"{"placement":"eu"}"#)
            #expect(
                elsewhere.status.code == 409 && Self.text(elsewhere).contains("scryptex tenant move orion --to eu"),
                "\(Self.text(elsewhere))")

            // Changing the plan bounds the flags; a disabled white_label feature hides the pages.
            let downgrade = await adminSend(.patch, base + "/instances/orion", #"{"features":{"white_label":false}}"#)
            #expect(downgrade.status.code == 200, "\(Self.text(downgrade))")
            let beyond = await adminSend(.patch, base + "/instances/\(instanceID)", #"{"features":{"ml":true}}"#)
            #expect(beyond.status.code == 400 && Self.text(beyond).contains("'features.ml'"))
            let upgraded = await adminSend(
                .patch, base + "/instances/orion", #"{"plan":"professional","features":{"ml":true}}"#)
            #expect(((Self.json(upgraded)["tenant"] as? [String: Any])?["features"] as? [String: Bool])?["ml"] == true)
            // No path around the plan: the database refuses the flag too (a tenant file, a script).
            await #expect(throws: PostgresError.self) {
                try await harness.pool.execute(
                    """
                    UPDATE platform.tenant_features SET enabled = true
                    WHERE feature = 'market_making' AND tenant_id = (SELECT id FROM platform.tenants WHERE slug = 'orion')
                    """)
            }
            // The instance's own request limit replaces the platform's for its tenant.
            let limited = await adminSend(
                .patch, base + "/instances/orion", #"{"limits":{"requestsPerSecond":1,"burst":2}}"#)
            #expect(
                ((Self.json(limited)["limits"] as? [String: Any])?["requestsPerSecond"] as? Int) == 1,
                "\(Self.text(limited))")
            #expect(
                await adminSend(.patch, base + "/instances/orion", #"{"limits":{"requestsPerSecond":0}}"#).status.code
                    == 400)
            try await Task.sleep(for: .milliseconds(1_100))  // the flag cache lives a second
            #expect(
                await harness.send(.get, base + "/orion/revenue", host: "orion.localhost", headers: owner).status.code
                    == 404)
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(
                    Int(
                        await harness.send(.get, "/api/enterprise/auth/me", host: "orion.localhost", headers: owner)
                            .status.code))
            }
            #expect(statuses.contains(429) && statuses.first == 200, "\(statuses)")
        }
    }

    @Test func theDatabaseCatalogueOfPlansIsTheOneTheCodeUses() async throws {
        try await RouteHarness.with { harness in
            var catalogue: [String: Set<String>] = [:]
            for row in try await harness.pool.query("SELECT plan, features FROM platform.commercial_plans") {
                catalogue[try row.decode("plan", as: String.self)] = Set(try row.decode("features", as: [String].self))
            }
            let inCode = Dictionary(
                uniqueKeysWithValues: CommercialPlan.allCases.map { plan in
                    (plan.rawValue, Set(plan.features.map(\.rawValue)))
                })
            #expect(catalogue == inCode)
        }
    }

    @Test func theAPIIsClosedWhenWhiteLabelIsDisabled() async throws {
        try await RouteHarness.with(environment: ["WHITE_LABEL_ENABLED": "false"]) { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let admin = [
                ("Authorization", "Bearer " + (try await identity.createAdminKey(name: "ops", expiresAt: nil)).text)
            ]
            let answer = await harness.send(
                .get, "/api/enterprise/white-label/instances", host: "localhost", headers: admin)
            #expect(answer.status.code == 403)
            #expect(Self.text(answer).contains("WHITE_LABEL_ENABLED=false"))
        }
    }

    @Test func browsersGetBrandedPagesForASuspendedPlatformAndAPlainOneForUnknownHosts() async throws {
        try await RouteHarness.with { harness in
            try await harness.pool.execute(
                """
                UPDATE platform.tenant_branding SET product_name = 'Acme Prime', support_email = 'desk@acme.example',
                    colors = '{"primary": "#0B3D91"}'
                WHERE tenant_id = \(harness.tenant.id)
                """)
            try await TenantLifecycle(record: TenantIdentitySetUp.lifecycleRecorder(actor: "test"))
                .setStatus(.suspended, of: "acme", on: harness.pool)
            try await harness.directory.reload(from: harness.pool)
            let html = [("Accept", "text/html,application/xhtml+xml")]
            let page = await harness.send(.get, "/api/enterprise/branding", headers: html)
            #expect(page.status.code == 503)
            let body = Self.text(page)
            #expect(body.contains("Acme Prime is temporarily unavailable") && body.contains("mailto:desk@acme.example"))
            #expect(body.contains("#0B3D91"))
            // Any page of the suspended platform, not only its API routes.
            for path in ["/", "/desk/orders"] {
                let other = await harness.send(.get, path, headers: html)
                #expect(other.status.code == 503 && Self.text(other).contains("Acme Prime is temporarily unavailable"))
            }
            // An API client still gets the problem document.
            let api = await harness.send(.get, "/api/enterprise/branding")
            #expect(api.status.code == 503 && api.headers.first("content-type") == "application/problem+json")
            let unknown = await harness.send(.get, "/api/enterprise/branding", host: "nobody.example", headers: html)
            #expect(unknown.status.code == 404 && Self.text(unknown).contains("Nothing is served at this address"))
            #expect(!Self.text(unknown).contains("acme") && !Self.text(unknown).contains("Acme"))
            // An unknown path's page (through the middleware, in a task); health is answered
            // without one.
            let nowhere = await harness.send(.get, "/nowhere", host: "nobody.example", headers: html)
            #expect(nowhere.status.code == 404 && Self.text(nowhere).contains("Nothing is served at this address"))
            let context = RequestContext(
                requestID: "test", logger: TestDatabase.logger, isSecure: true, remoteAddress: "::1")
            let immediate = harness.application.respondImmediately(
                to: HTTPRequest(
                    method: .get, target: "/healthz", headers: HTTPHeaders([("Host", "nobody.example")] + html)),
                context: context)
            #expect(immediate?.status.code == 200)
            #expect(Self.text(await harness.send(.get, "/healthz", headers: html)) == #"{"status":"ok"}"#)
        }
    }
}
