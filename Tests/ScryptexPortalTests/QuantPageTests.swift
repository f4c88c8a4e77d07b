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

            // A backtest run from the strategy's page: the API's request (same checks, same job).
            let strategyPath = "/portal/strategies/\(strategy)"
            let strategyPage = try await session.get(strategyPath)
            #expect(strategyPage.body.contains("Run the backtest"))
            let token = try #require(CurlSession.formToken(in: strategyPage.body))
            for (fields, message) in [
                ([("initialCapital", "lots")], "field &#39;initialCapital&#39;: a number"),
                ([("start", "2021-13-45")], "start"),
                ([("initialCapital", "-5")], "initialCapital"),
            ] {
                let refused = try await session.post(strategyPath + "/backtests", [("csrf", token)] + fields)
                #expect(
                    refused.status == 400 && refused.body.contains(message), "\(fields): \(refused.body.prefix(800))")
            }
            let run = try await session.post(
                strategyPath + "/backtests",
                [
                    ("csrf", token), ("start", "2020-01-01"), ("end", "2021-12-31"), ("initialCapital", "250000"),
                    ("feesBps", "10"),
                ])
            #expect(run.status == 303, "\(run.body)")
            let location = try #require(
                run.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") }.map {
                    String($0.dropFirst("location:".count)).trimmingCharacters(in: .whitespaces)
                })
            #expect(location.hasPrefix("/portal/backtests/"))
            let second = String(location.dropFirst("/portal/backtests/".count))
            var settled: [String: Any] = [:]
            for _ in 0..<240 {
                settled = try await api("/api/enterprise/backtests/\(second)")
                if settled["status"] as? String == "completed" { break }
                #expect(settled["status"] as? String != "failed", "\(settled)")
                try await Task.sleep(for: .milliseconds(500))
            }
            let secondResult = try #require(settled["result"] as? [String: Any], "\(settled)")
            #expect(secondResult["initialCapital"] as? Double == 250_000)
            #expect(
                (secondResult["firstBar"] as? String)?.hasPrefix("2020-01-0") == true,
                "\(secondResult["firstBar"] ?? "")")
            #expect(
                (secondResult["lastBar"] as? String)?.hasPrefix("2021-12-3") == true, "\(secondResult["lastBar"] ?? "")"
            )
            #expect(try await session.get(strategyPath).body.contains("/portal/backtests/\(second)"))
            // A viewer reads strategies but may not run them.
            let viewerPassword = try await host.newUser("acme", email: "vera@acme.example", role: "viewer")
            let viewer = CurlSession(host: host, tenant: "acme")
            #expect(try await viewer.signIn(email: "vera@acme.example", password: viewerPassword))
            let viewerPage = try await viewer.get(strategyPath)
            #expect(viewerPage.status == 200 && !viewerPage.body.contains("Run the backtest"))
            let viewerRun = try await viewer.post(
                strategyPath + "/backtests", [("csrf", try #require(CurlSession.formToken(in: viewerPage.body)))])
            #expect(viewerRun.status == 403)

            // A model trained through the API; its page shows the API's test metrics and importances.
            let model = try #require(
                try await api(
                    "/api/enterprise/accounts/\(account)/ml-models",
                    #"{"name":"rf","modelType":"random_forest","hyperparameters":{"nEstimators":20},"dataset":{"symbol":"ETH-USD","end":"2021-12-31","features":{"laggedReturns":5,"volatility":[20]},"target":"nextDirection"},"seed":7}"#
                )["id"] as? String)
            var trained: [String: Any] = [:]
            for _ in 0..<480 {
                trained = try await api("/api/enterprise/ml-models/\(model)")
                if trained["status"] as? String == "ready" { break }
                #expect(!["failed", "cancelled"].contains(trained["status"] as? String ?? ""), "\(trained)")
                try await Task.sleep(for: .milliseconds(500))
            }
            let metrics = try #require(trained["metrics"] as? [String: Double], "\(trained)")
            let evaluation = try #require(trained["evaluation"] as? [String: Any])
            let importances = try #require(evaluation["featureImportances"] as? [String: Double])
            #expect(try await session.get("/portal/accounts/\(account)").body.contains("/portal/models/\(model)"))
            let modelPage = try await session.get("/portal/models/\(model)")
            #expect(modelPage.status == 200)
            for name in ["accuracy", "precision", "recall", "f1", "baselineAccuracy"] {
                let value = String(format: "%.4f", try #require(metrics[name], "\(name)"))
                #expect(modelPage.body.contains("<td>\(value)</td>"), "\(name) \(value)")
            }
            #expect(modelPage.body.components(separatedBy: "<meter ").count - 1 == importances.count)
            let strongest = try #require(importances.max { $0.value < $1.value }?.key)
            let table = try #require(modelPage.body.range(of: "Feature importances</h2>"))
            let firstRow = try #require(modelPage.body[table.upperBound...].range(of: #"<th scope="row">"#))
            #expect(
                modelPage.body[firstRow.upperBound...].hasPrefix(strongest + "</th>"), "\(strongest) first in the table"
            )
            #expect(!modelPage.body.contains("Stop the training"))

            // A second, larger training stopped from its page while it is queued or running.
            let large = try #require(
                try await api(
                    "/api/enterprise/accounts/\(account)/ml-models",
                    #"{"name":"large","modelType":"random_forest","hyperparameters":{"nEstimators":500},"dataset":{"symbol":"ETH-USD","features":{"laggedReturns":10,"volatility":[10,20,50]},"target":"nextDirection"},"seed":7}"#
                )["id"] as? String)
            let largePage = try await session.get("/portal/models/\(large)")
            #expect(largePage.body.contains("Stop the training") && largePage.body.contains("<progress"))
            let stop = try await session.post(
                "/portal/models/\(large)/cancel", [("csrf", try #require(CurlSession.formToken(in: largePage.body)))])
            #expect(stop.status == 303, "\(stop.body)")
            #expect(try await api("/api/enterprise/ml-models/\(large)")["status"] as? String == "cancelled")
            let again = try await session.post(
                "/portal/models/\(large)/cancel", [("csrf", try #require(CurlSession.formToken(in: largePage.body)))])
            #expect(again.status == 409, "\(again.body)")

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
