import Foundation
import ScryptexAPI
import ScryptexBI
import ScryptexCore
import ScryptexCrypto
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Synchronization
import Testing

@testable import ScryptexApp

@Suite("Business intelligence over the API", .serialized)
struct BIRoutesTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    static func worker(_ harness: RouteHarness) -> TenantJobWorker {
        TenantJobWorker(
            pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
            logger: TestDatabase.logger)
    }

    /// A metric of a panel, as the dashboard wrote it.
    static func metric(_ dashboard: [String: Any], _ panel: String, _ name: String) -> Any? {
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        let metrics = panels.first { $0["name"] as? String == panel }?["metrics"] as? [[String: Any]] ?? []
        return metrics.first { $0["name"] as? String == name }?["value"] as Any?
    }

    static func amount(_ dashboard: [String: Any], _ panel: String, _ name: String) -> ExactDecimal? {
        (metric(dashboard, panel, name) as? String).flatMap { ExactDecimal($0) }
    }

    struct Desk {
        let harness: RouteHarness
        let owner: [(String, String)]
        let master: String
        let fund: String

        static func open(_ harness: RouteHarness) async throws -> Desk {
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            func create(_ name: String, parent: String? = nil) async throws -> String {
                let parentField = parent.map { #","parentId":"\#($0)""# } ?? ""
                let created = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json:
                        #"{"accountName":"\#(name)","accountType":"hedge_fund","legalName":"\#(name) LP","jurisdiction":"US","totalAUM":1000000\#(parentField)}"#
                )
                let id = try #require(BIRoutesTests.json(created)["id"] as? String, "\(BIRoutesTests.text(created))")
                _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                _ = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
                    json: #"{"status":"approved","reason":"verified"}"#)
                return id
            }
            let master = try await create("Master")
            return Desk(
                harness: harness, owner: owner, master: master, fund: try await create("Fund A", parent: master))
        }

        func book(_ side: String, _ quantity: Int, at price: Int, daysAgo: Int) async throws -> String {
            let executed = Timestamp.format(Date().addingTimeInterval(-Double(daysAgo) * 86_400))
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json:
                    #"{"accountId":"\#(fund)","symbol":"ETH/USDC","side":"\#(side)","quantity":\#(quantity),"price":\#(price),"executedAt":"\#(executed)"}"#
            )
            #expect(booked.status.code == 201, "\(BIRoutesTests.text(booked))")
            return try #require(BIRoutesTests.json(booked)["id"] as? String)
        }

        func dashboard(refresh: Bool = true) async -> [String: Any] {
            let response = await harness.send(
                .get, "/api/enterprise/accounts/\(master)/dashboard\(refresh ? "?refresh=true" : "")", headers: owner)
            #expect(response.status == .ok, "\(BIRoutesTests.text(response))")
            return BIRoutesTests.json(response)
        }
    }

    /// The dashboard's figures against a hand-computed average-cost ledger, kept incrementally
    /// through a late trade (out of execution order) and a cancellation.
    @Test func theDashboardFollowsTheTradesAsTheLedgerSays() async throws {
        try await RouteHarness.with { harness in
            let desk = try await Desk.open(harness)
            let quiet = await desk.dashboard()
            #expect((quiet["note"] as? String)?.contains("no trading activity yet") == true, "\(quiet)")
            #expect(Self.amount(quiet, "pnl", "net") == .zero && Self.amount(quiet, "assets", "aum") == .zero)
            #expect(Self.amount(quiet, "assets", "declaredAUM") == ExactDecimal(1_000_000))
            #expect(quiet["accounts"] as? Int == 2)

            _ = await harness.send(
                .post, "/api/enterprise/compliance/reference-prices", headers: desk.owner,
                json: #"{"symbol":"ETH/USDC","price":2600}"#)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: desk.owner,
                json: #"{"currency":"USDC","usdPerUnit":1}"#)
            _ = try await desk.book("buy", 10, at: 2000, daysAgo: 2)
            _ = try await desk.book("buy", 10, at: 2200, daysAgo: 1)
            let sell = try await desk.book("sell", 5, at: 2500, daysAgo: 0)
            // Average cost 2,100: the sale realises 5 × 400.
            var dashboard = await desk.dashboard()
            #expect(Self.amount(dashboard, "pnl", "realisedToday") == ExactDecimal(2_000), "\(dashboard)")
            // A trade booked late, executed three days ago: the book is rebuilt in execution order
            // (cost 2 × 1,000 + 10 × 2,000 + 10 × 2,200 = 44,000 for 22, average 2,000).
            _ = try await desk.book("buy", 2, at: 1000, daysAgo: 3)
            dashboard = await desk.dashboard()
            #expect(Self.amount(dashboard, "pnl", "realisedToday") == ExactDecimal(2_500), "\(dashboard)")
            #expect(Self.amount(dashboard, "pnl", "realisedYearToDate") == ExactDecimal(2_500))
            // Long 17 at a basis of 34,000, marked at 2,600: 44,200 − 34,000.
            #expect(Self.amount(dashboard, "pnl", "unrealised") == ExactDecimal(10_200))
            #expect(Self.amount(dashboard, "pnl", "net") == ExactDecimal(12_700))
            #expect(Self.amount(dashboard, "assets", "aum") == ExactDecimal(44_200))
            #expect(Self.metric(dashboard, "activity", "tradesToday") as? Int == 1)
            #expect(
                Self.amount(dashboard, "activity", "volume30Days") == ExactDecimal(2 * 1000 + 20_000 + 22_000 + 12_500))
            // Four days of realised P&L (0, 0, 0, 2,500) over the 44,200 valued.
            #expect(Self.metric(dashboard, "risk", "days") as? Int == 4)
            #expect(Self.metric(dashboard, "risk", "maxDrawdown") as? Double == 0)
            let panels = (dashboard["panels"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
            #expect(
                panels == [
                    "assets", "pnl", "risk", "compliance", "activity", "deadlines", "quant", "ml", "marketMaking",
                    "platform",
                ])
            let compliance = Self.metric(dashboard, "compliance", "score") as? Int
            #expect(compliance == 100, "\(dashboard)")
            let marketMaking = (dashboard["panels"] as? [[String: Any]])?.first {
                $0["name"] as? String == "marketMaking"
            }
            #expect(
                marketMaking?["available"] as? Bool == true
                    && marketMaking?["note"] as? String == "no market-making strategies yet")

            // Cancelled: the sale's P&L is gone, the position is 22 again.
            let cancelled = await harness.send(
                .post, "/api/enterprise/trades/\(sell)/cancel", headers: desk.owner, json: #"{"reason":"busted"}"#)
            #expect(cancelled.status.code < 300, "\(Self.text(cancelled))")
            dashboard = await desk.dashboard()
            #expect(Self.amount(dashboard, "pnl", "realisedToday") == .zero, "\(dashboard)")
            #expect(Self.amount(dashboard, "pnl", "unrealised") == ExactDecimal(22 * 2600 - 44_000))

            // Kept for EXECUTIVE_DASHBOARD_REFRESH: the next read is the cached one.
            let cached = await desk.dashboard(refresh: false)
            #expect(cached["cached"] as? Bool == true && cached["refreshSeconds"] as? Int == 300)
            // The firm's dashboard covers every account.
            let firm = Self.json(await harness.send(.get, "/api/enterprise/dashboard", headers: desk.owner))
            #expect(firm["scope"] as? String == "tenant" && Self.amount(firm, "assets", "aum") == ExactDecimal(57_200))
            // Another tenant's key cannot read this account; an unknown account is 404.
            let other = [
                (
                    "Authorization",
                    "Bearer "
                        + (try await harness.apiKey(
                            roles: ["owner"],
                            tenant: harness.directory.tenant(forHost: "zenith.localhost")))
                )
            ]
            let foreign = await harness.send(
                .get, "/api/enterprise/accounts/\(desk.master)/dashboard", host: "zenith.localhost", headers: other)
            #expect(foreign.status == .notFound, "\(Self.text(foreign))")
            let refused = await harness.send(
                .get, "/api/enterprise/accounts/\(desk.master)/dashboard?refresh=maybe", headers: desk.owner)
            #expect(refused.status == .badRequest && Self.text(refused).contains("query 'refresh'"))
        }
    }

    /// A report defined over the API, generated by its job, served as JSON, CSV, HTML and PDF;
    /// bad definitions refused naming the field.
    @Test func aCustomReportIsGeneratedInEveryFormat() async throws {
        try await RouteHarness.with { harness in
            let desk = try await Desk.open(harness)
            _ = try await desk.book("buy", 10, at: 2000, daysAgo: 2)
            _ = try await desk.book("sell", 4, at: 2100, daysAgo: 1)
            _ = try await desk.book("sell", 6, at: 1900, daysAgo: 0)
            let today = PostgresDate(containing: Date())
            let from = today.adding(days: -6).description
            let path = "/api/enterprise/accounts/\(desk.master)/reports"
            let catalogue = Self.json(await harness.send(.get, path + "/catalogue", headers: desk.owner))
            #expect((catalogue["metrics"] as? [[String: Any]])?.contains { $0["name"] as? String == "pnl" } == true)

            let created = await harness.send(
                .post, path, headers: desk.owner,
                json:
                    #"{"name":"Weekly desk","metrics":["pnl","volume","trades"],"dimensions":["day","instrument"],"period":{"from":"\#(from)","to":"\#(today)"},"sections":["risk"],"format":"pdf"}"#
            )
            #expect(created.status == .accepted, "\(Self.text(created))")
            let report = try #require(Self.json(created)["id"] as? String)
            #expect(Self.json(created)["status"] as? String == "queued")
            // Not generated yet: a file is a 409 that says so.
            let early = await harness.send(.get, path + "/\(report)?format=csv", headers: desk.owner)
            #expect(early.status == .conflict && Self.text(early).contains("no completed run yet"))
            #expect(try await Self.worker(harness).runOnce())
            let shown = Self.json(await harness.send(.get, path + "/\(report)", headers: desk.owner))
            let run = try #require(shown["latestRun"] as? [String: Any])
            #expect(run["status"] as? String == "completed", "\(shown)")
            #expect((run["files"] as? [String: String])?.keys.sorted() == ["csv", "html", "json", "pdf"])

            // JSON: the realised P&L as the ledger says: 4 × 100 − 6 × 100 = −200, on two days.
            let body = Self.json(await harness.send(.get, path + "/\(report)?format=json", headers: desk.owner))
            #expect(
                body["totals"] as? [String: String] == ["pnl": "-200", "trades": "3", "volume": "39800"], "\(body)")
            #expect((body["rows"] as? [[String]])?.count == 3)
            #expect(((body["risk"] as? [String: Any])?["days"] as? Int) == 7)
            let csv = await harness.send(.get, path + "/\(report)?format=csv", headers: desk.owner)
            #expect(csv.headers.first("Content-Type")?.hasPrefix("text/csv") == true)
            let lines = Self.text(csv).components(separatedBy: "\r\n")
            #expect(lines.first == "day,instrument,pnl,volume,trades" && lines.count == 5, "\(lines)")
            #expect(lines[2] == "\(today.adding(days: -1)),ETH/USDC,400,8400,1")
            #expect(lines[3] == "\(today),ETH/USDC,-600,11400,1")
            let html = Self.text(await harness.send(.get, path + "/\(report)?format=html", headers: desk.owner))
            #expect(html.contains("<svg") && html.contains("Acme Fund") && !html.contains("<script"))
            let pdf = await harness.send(.get, path + "/\(report)?format=pdf", headers: desk.owner)
            #expect(
                pdf.headers.first("Content-Type") == "application/pdf" && pdf.body.starts(with: Array("%PDF-1.4".utf8)))
            let file = "/tmp/scryptex-bi-\(UInt64.random(in: 0...UInt64.max)).pdf"
            try Data(pdf.body).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let extracted = try ChildProcess("/usr/bin/pdftotext", ["-layout", file, "-"])
            #expect(await extracted.waitForExit(timeout: .seconds(30)) == 0)
            #expect(
                extracted.output.contains("Weekly desk") && extracted.output.contains("-200 USD"), "\(extracted.output)"
            )

            // Bad definitions, named; another tenant's account is out of reach.
            for (json, message) in [
                (
                    #"{"name":"X","metrics":["alpha"],"dimensions":[],"period":{"from":"2026-11-01","to":"2026-11-30"}}"#,
                    "'metrics[0]': 'alpha' is not a metric"
                ),
                (
                    #"{"name":"X","metrics":["pnl"],"dimensions":["desk"],"period":{"from":"2026-11-01","to":"2026-11-30"}}"#,
                    "'dimensions[0]': 'desk' is not a dimension"
                ),
                (
                    #"{"name":"X","metrics":["pnl"],"dimensions":[],"period":{"from":"2026-11-30","to":"2026-11-01"}}"#,
                    "ends (2026-11-01) before it starts"
                ),
                (
                    #"{"name":"X","metrics":["pnl"],"dimensions":[],"period":{"from":"2026-11-01","to":"2026-11-30"},"schedule":{"frequency":"daily","timeZone":"Nowhere/Land","time":"06:00"}}"#,
                    "'Nowhere/Land' is not a time zone"
                ),
            ] {
                let refused = await harness.send(.post, path, headers: desk.owner, json: json)
                #expect(refused.status == .badRequest && Self.text(refused).contains(message), "\(Self.text(refused))")
            }
            let unknown = await harness.send(
                .get, "/api/enterprise/accounts/\(UUID().uuidString)/reports/\(report)", headers: desk.owner)
            #expect(unknown.status == .notFound)
            let viewer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["viewer"])))]
            let forbidden = await harness.send(
                .post, path, headers: viewer,
                json:
                    #"{"name":"X","metrics":["pnl"],"dimensions":[],"period":{"from":"2026-11-01","to":"2026-11-30"}}"#)
            #expect(forbidden.status == .forbidden)
        }
    }

    /// A run that passes REPORT_GENERATION_TIMEOUT is stopped and marked failed with the
    /// reason, never completed.
    @Test func aRunPastItsTimeoutFailsSayingSo() async throws {
        try await RouteHarness.with { harness in
            let desk = try await Desk.open(harness)
            let path = "/api/enterprise/accounts/\(desk.master)/reports"
            let created = await harness.send(
                .post, path, headers: desk.owner,
                json:
                    #"{"name":"Slow","metrics":["pnl"],"dimensions":["day"],"period":{"from":"2026-01-01","to":"2026-11-30"}}"#
            )
            let report = try #require(Self.json(created)["id"] as? String)
            let run = try #require(Self.json(created)["runId"] as? String)
            // Generated with a timeout nothing can meet.
            let scope = TenantScope(tenant: harness.tenant, pool: harness.pool)
            await #expect(throws: ServiceError.self) {
                try await ReportService().generate(
                    run: try #require(UUID(uuidString: run)),
                    branding: ReportBranding(productName: "Acme", primaryHex: nil, accentHex: nil, footer: nil),
                    timeout: .zero, withTransaction: { body in try await scope.withTransaction(body) },
                    snapshotTransaction: { body in
                        try await scope.withTransaction(isolationLevel: .repeatableRead, body)
                    },
                    progress: { _ in })
            }
            let shown = Self.json(await harness.send(.get, path + "/\(report)/runs/\(run)", headers: desk.owner))
            #expect(shown["status"] as? String == "failed", "\(shown)")
            #expect((shown["error"] as? String)?.contains("REPORT_GENERATION_TIMEOUT") == true)
            let file = await harness.send(.get, path + "/\(report)/runs/\(run)?format=pdf", headers: desk.owner)
            #expect(file.status == .conflict && Self.text(file).contains("the run failed: timed out"))
        }
    }
}

extension BIRoutesTests {
    /// With market making off on the host, its panel says so; with BI off, every BI route is a
    /// 403 naming the variable.
    @Test func switchedOffServicesAreSaidSo() async throws {
        try await RouteHarness.with(environment: ["MARKET_MAKING_ENABLED": "false"]) { harness in
            let desk = try await Desk.open(harness)
            let dashboard = await desk.dashboard()
            let panel = (dashboard["panels"] as? [[String: Any]])?.first { $0["name"] as? String == "marketMaking" }
            #expect(panel?["available"] as? Bool == false)
            #expect((panel?["note"] as? String)?.contains("not available") == true, "\(panel ?? [:])")
        }
        try await RouteHarness.with(environment: ["BI_REPORTS_ENABLED": "false"]) { harness in
            let desk = try await Desk.open(harness)
            let refused = await harness.send(
                .get, "/api/enterprise/accounts/\(desk.master)/dashboard", headers: desk.owner)
            #expect(refused.status == .forbidden && Self.text(refused).contains("BI_REPORTS_ENABLED=false"))
        }
    }
}

extension BIRoutesTests {
    /// What the test's webhook receiver saw.
    final class Receiver: Sendable {
        let deliveries = Mutex<[(signature: String, delivery: String, body: [UInt8])]>([])
        /// Answers 500 to the first delivery, 204 after.
        var router: Router {
            var router = Router()
            router.post("/hooks/reports") { [self] request, _ in
                let count = self.deliveries.withLock {
                    $0.append(
                        (
                            request.headers.first("Scryptex-Signature") ?? "",
                            request.headers.first("Scryptex-Delivery") ?? "", request.body
                        ))
                    return $0.count
                }
                return HTTPResponse(status: count == 1 ? .internalServerError : .noContent)
            }
            return router
        }
    }

    /// A scheduled report: queued when due for its schedule's period, generated, and its webhook
    /// delivered signed with the secret shown once — retried after the receiver's 500.
    @Test func aScheduledReportIsDeliveredByASignedWebhook() async throws {
        let receiver = Receiver()
        try await TestHTTPSServer.with(receiver.router) { url, caFile in
            try await RouteHarness.with { harness in
                let desk = try await Desk.open(harness)
                _ = try await desk.book("buy", 3, at: 2000, daysAgo: 1)
                let path = "/api/enterprise/accounts/\(desk.master)/reports"
                let created = await harness.send(
                    .post, path, headers: desk.owner,
                    json:
                        #"{"name":"Daily","metrics":["volume"],"dimensions":["instrument"],"period":{"from":"2026-11-01","to":"2026-11-30"},"schedule":{"frequency":"daily","timeZone":"Europe/London","time":"06:00"},"webhook":{"url":"\#(url)/hooks/reports"}}"#
                )
                #expect(created.status == .accepted, "\(Self.text(created))")
                let body = Self.json(created)
                let report = try #require(body["id"] as? String)
                let secret = try #require(body["webhookSecret"] as? String)
                #expect(secret.hasPrefix("whsec_") && body["nextRunAt"] != nil)
                // Shown once: the report's record never carries it.
                let shown = await harness.send(.get, path + "/\(report)", headers: desk.owner)
                #expect(!Self.text(shown).contains(secret))
                let sealed = try await harness.pool.query(
                    "SELECT webhook_secret_encrypted::text AS sealed FROM t_acme.bi_reports WHERE id = \(UUID(uuidString: report)!)"
                ).firstRow.decode("sealed", as: String.self)
                #expect(!sealed.contains(Hex.encode(Array(secret.utf8))))

                // A day later the schedule is due: a run for yesterday (London) is queued.
                let tomorrow = Date().addingTimeInterval(86_400 + 3_600)
                let queued = try await BIRoutes.queueScheduledRuns(
                    tenant: harness.tenant, pool: harness.pool, timeout: .seconds(60), now: tomorrow)
                #expect(queued == 1)
                #expect(
                    try await BIRoutes.queueScheduledRuns(
                        tenant: harness.tenant, pool: harness.pool, timeout: .seconds(60), now: tomorrow) == 0)
                let worker = TenantJobWorker(
                    pool: harness.pool,
                    handlers: HostService.jobHandlers(
                        logger: TestDatabase.logger,
                        dataKeys: { [keyring = harness.keyring, pool = harness.pool] in
                            try await keyring.keys(for: $0, on: pool)
                        },
                        webhookClient: HTTPSClient(trustedCertificatesFile: caFile, timeout: .seconds(10))),
                    owner: "test", retryDelay: { _ in .zero }, logger: TestDatabase.logger)
                var ran = 0
                while try await worker.runOnce() { ran += 1 }
                // Two runs, two deliveries, one of them retried once.
                #expect(ran == 5, "\(ran) jobs")
                let record = Self.json(await harness.send(.get, path + "/\(report)", headers: desk.owner))
                let runs = try #require(record["runs"] as? [[String: Any]])
                #expect(runs.count == 2 && runs.allSatisfy { $0["status"] as? String == "completed" })
                let yesterday = PostgresDate(containing: tomorrow).adding(days: -1).description
                #expect(runs.contains { ($0["period"] as? [String: String])?["from"] == yesterday }, "\(runs)")
                let deliveries = try #require(record["webhookDeliveries"] as? [[String: String]])
                #expect(deliveries.count == 2 && deliveries.allSatisfy { $0["status"] == "delivered" }, "\(deliveries)")
                #expect(deliveries.map { $0["attempts"] ?? "" }.sorted() == ["1", "2"])
                let seen = receiver.deliveries.withLock { $0 }
                #expect(seen.count == 3)
                let now = Int(Date().timeIntervalSince1970)
                for delivery in seen {
                    #expect(WebhookSignature.verify(delivery.signature, secret: secret, body: delivery.body, now: now))
                    #expect(
                        !WebhookSignature.verify(
                            delivery.signature, secret: "whsec_wrong", body: delivery.body, now: now))
                    #expect(
                        !WebhookSignature.verify(
                            delivery.signature, secret: secret, body: delivery.body, now: now + 3_600))
                    let message = try #require(
                        try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
                    #expect(message["event"] as? String == "report.completed")
                    let files = (message["run"] as? [String: Any])?["files"] as? [String: [String: String]]
                    #expect(
                        files?["pdf"]?["path"]?.hasSuffix("?format=pdf") == true
                            && files?["pdf"]?["sha256"]?.count == 64)
                }
            }
        }
    }
}

extension BIRoutesTests {
    /// The platform admins' dashboard: tenants by state, revenue, usage; not for tenant keys.
    @Test func platformAdminsSeeEveryTenant() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let admin = [
                ("Authorization", "Bearer " + (try await identity.createAdminKey(name: "ops", expiresAt: nil)).text)
            ]
            let response = await harness.send(.get, "/admin/api/dashboard", host: "localhost", headers: admin)
            #expect(response.status == .ok, "\(Self.text(response))")
            let dashboard = Self.json(response)
            #expect(dashboard["scope"] as? String == "platform")
            #expect(Self.metric(dashboard, "tenants", "tenants") as? Int == 2)
            #expect(Self.metric(dashboard, "tenants", "active") as? Int == 2)
            let usage = (dashboard["panels"] as? [[String: Any]])?.first { $0["name"] as? String == "usage" }
            #expect((usage?["rows"] as? [[String: String]])?.map { $0["tenant"] ?? "" }.sorted() == ["acme", "zenith"])
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let tenantKey = await harness.send(.get, "/admin/api/dashboard", host: "localhost", headers: owner)
            #expect(tenantKey.status == .unauthorized || tenantKey.status == .forbidden, "\(tenantKey.status)")
        }
    }
}

extension BIRoutesTests {
    /// A trade whose transaction commits after a sync, with an earlier booking time than trades
    /// folded in meanwhile, is folded in once, by the next sync — and only once after that.
    @Test func aTradeCommittedLateIsFoldedOnce() async throws {
        try await RouteHarness.with { harness in
            let desk = try await Desk.open(harness)
            let scope = TenantScope(tenant: harness.tenant, pool: harness.pool)
            func sync() async throws -> TradingFacts.SyncSummary {
                try await TradingFacts().sync { body in
                    try await scope.withTransaction(isolationLevel: .repeatableRead) { try await body($0) }
                }
            }
            let fund = try #require(UUID(uuidString: desk.fund))
            func insert(_ quantity: Int, on connection: PostgresConnection) async throws {
                try await connection.execute(
                    """
                    INSERT INTO t_acme.trades (account_id, symbol, side, quantity, price, notional, notional_usd, executed_at)
                    VALUES (\(fund), 'ETH/USD', 'buy', \(quantity), 2000, \(quantity * 2000), \(quantity * 2000), now())
                    """)
            }
            _ = try await desk.book("buy", 1, at: 2000, daysAgo: 0)
            #expect(try await sync().tradesFolded == 1)
            // A booking transaction stays open across a sync…
            try await harness.pool.withConnection { late in
                try await late.executeScript("BEGIN")
                try await insert(5, on: late)
                try await harness.pool.withConnection { other in try await insert(2, on: other) }
                #expect(try await sync().tradesFolded == 1)
                try await late.executeScript("COMMIT")
            }
            // …and is seen by the next one, once: executed (its transaction's now()) before the trade
            // folded meanwhile, it has the account's ETH/USD book rebuilt in execution order.
            let after = try await sync()
            #expect(after.tradesFolded == 0 && after.pairsRebuilt == 1, "\(after)")
            let again = try await sync()
            #expect(again.tradesFolded == 0 && again.pairsRebuilt == 0, "\(again)")
            let quantity = try await harness.pool.query(
                "SELECT sum(quantity)::int8 AS q, sum(trades)::int8 AS n FROM t_acme.bi_daily_facts"
            ).firstRow
            #expect(try quantity.decode("q", as: Int.self) == 8 && quantity.decode("n", as: Int.self) == 3)
        }
    }
}
