import Foundation
import ScryptexTestSupport
import Testing

/// Quant pages: a backtest run through the API on the real ETH-USD file, then seen in the portal.
@Suite("Quant pages", .serialized)
struct QuantPageTests {
    @Test(.timeLimit(.minutes(5)))
    func aBacktestsEquityAndDrawdownAreDrawnFromItsCurve() async throws {
        let host = try await PortalHost()
        do {
            let admin = try #require(
                try await host.command(["admin-key", "create", "--name", "quant"]).split(separator: "\n").first {
                    $0.hasPrefix("sxa_")
                }.map(String.init))
            let key = try await host.newAPIKey("acme", role: "owner")
            func json(_ answer: (status: Int, headers: String, body: String)) throws -> [String: Any] {
                #expect((200..<300).contains(answer.status), "\(answer.body)")
                return try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            }
            _ = try json(
                try await host.curl([
                    "-H", "Authorization: Bearer \(admin)", "-H", "Content-Type: text/csv", "--data-binary",
                    "@" + SharedData.path("market/eth-usd-daily.csv"),
                    "https://localhost:\(host.httpsPort)/admin/api/market-data/import?symbol=ETH-USD&timeframe=1d",
                ]))
            func api(_ path: String, _ body: String? = nil) async throws -> [String: Any] {
                var arguments = ["-H", "Authorization: Bearer \(key)"]
                if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
                return try json(try await host.curl(arguments + [host.url("acme", path)]))
            }
            let account = try #require(
                try await api(
                    "/api/enterprise/accounts",
                    #"{"accountName":"Quant Desk","accountType":"hedge_fund","legalName":"Acme Quant Desk LLC"}"#)["id"]
                    as? String)
            let strategy = try #require(
                try await api(
                    "/api/enterprise/accounts/\(account)/quant-strategies",
                    #"{"name":"Mean Reversion ETH","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"exitZscore":0,"assets":["ETH-USD"]},"riskParameters":{"maxPositionSize":1.0,"stopLoss":1.0,"maxDrawdown":1.0}}"#
                )["id"] as? String)
            let backtest = try #require(
                try await api(
                    "/api/enterprise/quant-strategies/\(strategy)/backtest",
                    #"{"initialCapital":1000000,"units":"whole","start":"2018-04-18","end":"2023-04-17"}"#)["id"]
                    as? String)
            var result: [String: Any] = [:]
            for _ in 0..<240 {
                let answer = try await api("/api/enterprise/backtests/\(backtest)")
                if answer["status"] as? String == "completed" {
                    result = answer["result"] as? [String: Any] ?? [:]
                    break
                }
                #expect(answer["status"] as? String != "failed", "\(answer)")
                try await Task.sleep(for: .milliseconds(500))
            }
            let curve = try #require(result["equityCurve"] as? [[String: Any]], "the backtest never completed")
            let finalEquity = try #require(result["finalEquity"] as? Double)

            let password = try await host.newUser("acme", email: "quinn@acme.example", role: "portfolio_manager")
            let session = CurlSession(host: host, tenant: "acme")
            #expect(try await session.signIn(email: "quinn@acme.example", password: password))
            #expect(
                try await session.get("/portal/accounts/\(account)").body.contains("/portal/strategies/\(strategy)"))
            #expect(
                try await session.get("/portal/strategies/\(strategy)").body.contains("/portal/backtests/\(backtest)"))
            let page = try await session.get("/portal/backtests/\(backtest)")
            #expect(page.status == 200)
            #expect(page.body.contains(String(format: "%.2f", finalEquity)))
            #expect(page.body.components(separatedBy: #"<svg class="chart""#).count - 1 == 2)
            // Each chart's line has one point per point of the curve, and the equity line ends
            // where the final equity is (the curve's last point).
            let polylines = page.body.components(separatedBy: #"<polyline points=""#).dropFirst().map {
                $0.prefix { $0 != "\"" }.split(separator: " ")
            }
            #expect(polylines.count == 2)
            #expect(polylines.allSatisfy { $0.count == curve.count }, "\(polylines.map(\.count)) vs \(curve.count)")
            #expect(abs((curve.last?["equity"] as? Double ?? 0) - finalEquity) < 0.01)
            #expect(!page.body.contains("<script"))
            #expect(page.body.utf8.count < 100_000)

            // In Chromium: the charts are laid out (the security policy lets inline SVG through).
            let browser = try await WebDriver()
            defer { browser.quit() }
            try browser.open(host.url("acme", "/portal/sign-in"))
            try browser.type("quinn@acme.example", into: "#email")
            try browser.type(password, into: "#password")
            try await browser.follow("form.stacked button[type=submit]")
            try browser.open(host.url("acme", "/portal/backtests/\(backtest)"))
            let width = try browser.execute("return document.querySelector('svg.chart').getBoundingClientRect().width")
            #expect((width as? Double ?? Double(width as? Int ?? 0)) > 300, "\(String(describing: width))")
            let folder = NSTemporaryDirectory() + "scryptex-portal-screenshots"
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try browser.screenshot().write(to: URL(fileURLWithPath: folder + "/backtest.png"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
