import Foundation
import ScryptexBI
import ScryptexCore
import ScryptexHTTP
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

extension BIRoutesTests {
    /// Two months of trades in two instruments and a market-making strategy's fills (one
    /// arriving late): the strategy dimension against a hand-kept ledger, the dashboard counting
    /// the strategy once, and the attribution section against the Brinson-Fachler formulas
    /// worked by hand.
    @Test func strategiesAreADimensionAndAttributionAddsUp() async throws {
        try await RouteHarness.with { harness in
            let desk = try await Desk.open(harness)
            let owner = desk.owner
            func post(_ path: String, _ json: String, expect status: Int = 204) async {
                let response = await harness.send(.post, path, headers: owner, json: json)
                #expect(response.status.code == status, "\(path): \(Self.text(response))")
            }
            await post(
                "/api/enterprise/compliance/fx-rates",
                #"{"currency":"USDC","usdPerUnit":1,"asOf":"2026-01-01T00:00:00Z"}"#)
            for (symbol, price, day) in [
                ("ETH/USDC", 2000, "08-31"), ("ETH/USDC", 2200, "09-30"), ("ETH/USDC", 2420, "10-31"),
                ("BTC/USDC", 60000, "08-31"), ("BTC/USDC", 57000, "09-30"), ("BTC/USDC", 57000, "10-31"),
            ] {
                await post(
                    "/api/enterprise/compliance/reference-prices",
                    #"{"symbol":"\#(symbol)","price":\#(price),"asOf":"2026-\#(day)T12:00:00Z"}"#)
            }
            for (symbol, side, quantity, price, day) in [
                ("ETH/USDC", "buy", 10, 2000, "09-02"), ("BTC/USDC", "buy", 1, 60000, "09-03"),
                ("ETH/USDC", "sell", 10, 2100, "09-20"), ("BTC/USDC", "sell", 1, 59000, "09-25"),
                ("ETH/USDC", "buy", 5, 2200, "10-05"), ("ETH/USDC", "sell", 5, 2300, "10-15"),
            ] {
                await post(
                    "/api/enterprise/trades",
                    #"{"accountId":"\#(desk.fund)","symbol":"\#(symbol)","side":"\#(side)","quantity":\#(quantity),"price":\#(price),"executedAt":"2026-\#(day)T10:00:00Z"}"#,
                    expect: 201)
            }
            let created = await harness.send(
                .post, "/api/enterprise/accounts/\(desk.fund)/market-making-strategies", headers: owner,
                json: MarketMakingRoutesTests.definition)
            let strategy = try #require(Self.json(created)["id"] as? String, "\(Self.text(created))")
            func fill(_ id: String, _ side: String, _ quantity: Int, _ price: Int, fee: String, day: Int) async {
                let time = Int(ISO8601DateFormatter().date(from: "2026-09-\(day)T09:00:00Z")!.timeIntervalSince1970)
                await post(
                    "/api/enterprise/market-making/\(strategy)/fills",
                    #"{"id":"\#(id)","market":"ETH/USDC@demo","side":"\#(side)","price":"\#(price)","quantity":"\#(quantity)","fee":"\#(fee)","time":\#(time)}"#,
                    expect: 201)
            }
            await fill("f-1", "buy", 2, 2000, fee: "0.4", day: 10)
            await fill("f-2", "sell", 2, 2010, fee: "0.4", day: 12)
            // Folded: 2 × 10 − 0.8 of fees.
            var dashboard = await desk.dashboard()
            // A fill filled before the last one folded: the strategy's market is rebuilt in fill
            // order — average cost (1,990 + 4,000) / 3, the sale of 2 realises 4,020 − 5,990 · 2/3.
            await fill("f-0", "buy", 1, 1990, fee: "0", day: 5)
            dashboard = await desk.dashboard()
            // The dashboard's realised P&L is the trades' (the strategy's comes in through its panel).
            #expect(Self.amount(dashboard, "pnl", "realisedYearToDate") == ExactDecimal(500), "\(dashboard)")

            let path = "/api/enterprise/accounts/\(desk.master)/reports"
            func generate(_ definition: String) async throws -> [String: Any] {
                let created = await harness.send(.post, path, headers: owner, json: definition)
                let report = try #require(Self.json(created)["id"] as? String, "\(Self.text(created))")
                #expect(try await Self.worker(harness).runOnce())
                let body = Self.json(await harness.send(.get, path + "/\(report)?format=json", headers: owner))
                #expect(body["rows"] != nil, "\(body)")
                return body.merging(["id": report]) { a, _ in a }
            }
            let byStrategy = try await generate(
                #"{"name":"By strategy","metrics":["pnl","volume","trades"],"dimensions":["strategy"],"period":{"from":"2026-09-01","to":"2026-10-31"}}"#
            )
            #expect(
                byStrategy["rows"] as? [[String]] == [
                    ["market making: ETH maker", "25.866666666666666667", "10010", "3"],
                    ["trading", "500", "182500", "6"],
                ], "\(byStrategy)")

            // Attribution of the trading alone (the filter names strategies as reports show them).
            let attributed = try await generate(
                #"{"name":"Attribution","metrics":["pnl","volume"],"dimensions":["month","instrument"],"period":{"from":"2026-09-01","to":"2026-10-31"},"filters":{"strategy":["trading"]},"sections":["attribution"]}"#
            )
            let attribution = try #require(attributed["attribution"] as? [String: Any], "\(attributed)")
            #expect(attribution["capitalUSD"] as? String == "1000000", "\(attribution)")
            let analysis = try #require(attribution["analysis"] as? [String: Any], "\(attribution)")
            // September: weights by volume 41,000 : 119,000; returns on that share of 1,000,000;
            // benchmark ½ ETH (+10 %) ½ BTC (−5 %) = 2.5 %. October: ETH alone, +0.05 %; benchmark 5 %.
            let wETH = 41_000.0 / 160_000
            let rETH = 1_000 / (1_000_000 * wETH)
            let rBTC = -1_000 / (1_000_000 * (1 - wETH))
            let september = try #require((analysis["periods"] as? [[String: Any]])?.first)
            let segments = try #require(september["bySegment"] as? [String: [String: Double]])
            func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }
            #expect(close(september["benchmarkReturn"] as? Double, 0.025))
            #expect(close(september["portfolioReturn"] as? Double, wETH * rETH + (1 - wETH) * rBTC))
            #expect(close(segments["ETH/USDC"]?["allocation"], (wETH - 0.5) * (0.10 - 0.025)), "\(segments)")
            #expect(close(segments["ETH/USDC"]?["selection"], 0.5 * (rETH - 0.10)))
            #expect(close(segments["BTC/USDC"]?["interaction"], ((1 - wETH) - 0.5) * (rBTC - -0.05)))
            let portfolio = (1 + wETH * rETH + (1 - wETH) * rBTC) * (1 + 0.0005) - 1
            #expect(close(analysis["portfolioReturn"] as? Double, portfolio))
            #expect(close(analysis["benchmarkReturn"] as? Double, 1.025 * 1.05 - 1))
            // Carino-linked effects add up to the compounded excess return.
            let linked = try #require(analysis["linkedTotal"] as? [String: Double])
            #expect(close(linked["total"], portfolio - (1.025 * 1.05 - 1)), "\(linked)")
            let html = Self.text(
                await harness.send(.get, path + "/\(attributed["id"] as? String ?? "")?format=html", headers: owner))
            #expect(html.contains("Attribution by instrument") && html.contains("ETH/USDC"))
            let pdf = await harness.send(
                .get, path + "/\(attributed["id"] as? String ?? "")?format=pdf", headers: owner)
            let file = "/tmp/scryptex-attribution-\(UInt64.random(in: 0...UInt64.max)).pdf"
            try Data(pdf.body).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let text = try ChildProcess("/usr/bin/pdftotext", [file, "-"])
            #expect(await text.waitForExit(timeout: .seconds(30)) == 0)
            #expect(
                text.output.contains("Attribution by instrument") && text.output.contains("Allocation")
                    && text.output.contains("equal-weighted basket"), "\(text.output)")
        }
    }
}
