import Foundation
import ScryptexHTTP
import ScryptexIdentity
import ScryptexMarketData
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 19 over the API: the seed's strategy request as written, a backtest as a tenant job,
/// its result against backtesting.py's figures, and every bad input named.
@Suite("Quant strategies and backtests over the API", .serialized)
struct QuantRoutesTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func importETH(into harness: RouteHarness) async throws {
        let file = try FileChunks(path: SharedData.path("market/eth-usd-daily.csv"))
        _ = try await harness.pool.withTransaction {
            try await MarketDataImporter().importCSV(
                symbol: "ETH-USD", timeframe: .oneDay, into: .platform, source: "eth-usd-daily.csv",
                nextChunk: file.next, in: $0)
        }
    }

    @Test func theSeedStrategyIsCreatedAsWrittenAndBacktestedAsAJob() async throws {
        try await RouteHarness.with { harness in
            try await Self.importETH(into: harness)
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"Q","accountType":"hedge_fund","legalName":"Quant Fund LLC"}"#)
                )["id"] as? String)
            // PRODUCT.md's example body, word for word.
            let seed = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner,
                json:
                    #"{"name":"Mean Reversion ETH","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"assets":["ETH/USDC"]},"riskParameters":{"maxPositionSize":0.05,"stopLoss":0.02,"maxDrawdown":0.10}}"#
            )
            #expect(seed.status == .created, "\(String(decoding: seed.body, as: UTF8.self))")
            // The issue's version of it, on the data we have.
            let created = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner,
                json:
                    #"{"name":"Mean Reversion ETH-USD","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"exitZscore":0,"assets":["ETH-USD"]},"riskParameters":{"maxPositionSize":1.0,"stopLoss":1.0,"maxDrawdown":1.0}}"#
            )
            let strategy = try #require(Self.json(created)["id"] as? String)
            let listed = Self.json(
                await harness.send(.get, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner))
            #expect((listed["strategies"] as? [[String: Any]])?.count == 2)

            // backtesting.py's sizing (0.9999 of the cash) so its figures apply.
            let queued = await harness.send(
                .post, "/api/enterprise/quant-strategies/\(strategy)/backtest", headers: owner,
                json:
                    #"{"initialCapital":1000000,"units":"whole","start":"2018-04-18","end":"2023-04-17","sizing":"fixed_fraction","fraction":0.9999}"#
            )
            #expect(queued.status == .accepted)
            let backtest = try #require(Self.json(queued)["id"] as? String)
            #expect(Self.json(queued)["status"] as? String == "queued")
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            #expect(try await worker.runOnce())
            let result = Self.json(await harness.send(.get, "/api/enterprise/backtests/\(backtest)", headers: owner))
            #expect(result["status"] as? String == "completed")
            let body = try #require(result["result"] as? [String: Any])
            #expect(abs((body["finalEquity"] as? Double ?? 0) - 774_881.3570140005) < 1e-6)
            #expect(body["bars"] as? Int == 1_826)
            let conventions = try #require(body["conventions"] as? [String: String])
            #expect(conventions["fill"]?.contains("t+1's open") == true)
            let metrics = try #require(body["metrics"] as? [String: Any])
            let returns = try #require(metrics["returns"] as? [String: Any])
            #expect(abs((returns["sharpeRatio"] as? Double ?? 0) - 0.15296660545939306) < 1e-9)
            #expect((body["trades"] as? [[String: Any]])?.isEmpty == false)
            #expect((body["equityCurve"] as? [[String: Any]])?.count == 1_826)

            // The seed's own strategy trades ETH/USDC, which this platform has no data for: the
            // job fails, the backtest records why, and no result is marked complete.
            let seedID = try #require(Self.json(seed)["id"] as? String)
            let failing = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant-strategies/\(seedID)/backtest", headers: owner, json: "{}"))
            _ = try await worker.runOnce()
            let failed = Self.json(
                await harness.send(
                    .get, "/api/enterprise/backtests/\(try #require(failing["id"] as? String))", headers: owner))
            #expect(failed["status"] as? String == "failed" && failed["result"] == nil)
            #expect((failed["error"] as? String)?.contains("no 1d bars of ETH/USDC") == true)

            // Attribution by strategy: the mean reversion and a momentum strategy, 60/40, against
            // holding ETH; a failed backtest cannot take part.
            let momentum = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner,
                        json:
                            #"{"name":"Momentum ETH","type":"momentum","config":{"lookbackPeriod":30,"assets":["ETH-USD"]}}"#
                    ))["id"] as? String)
            let second = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/quant-strategies/\(momentum)/backtest", headers: owner,
                        json: #"{"start":"2019-01-01","end":"2020-12-31"}"#))["id"] as? String)
            #expect(try await worker.runOnce())
            let byStrategy = await harness.send(
                .post, "/api/enterprise/quant/attribution", headers: owner,
                json:
                    #"{"backtests":[{"id":"\#(backtest)","portfolioWeight":0.6,"benchmarkWeight":0.5},{"id":"\#(second)","portfolioWeight":0.4,"benchmarkWeight":0.5}]}"#
            )
            let attribution = Self.json(byStrategy)
            let periods = try #require(attribution["periods"] as? [[String: Any]], "\(attribution)")
            #expect(periods.count == 24, "the months both backtests cover")
            #expect(periods.first?["label"] as? String == "2019-01" && periods.last?["label"] as? String == "2020-12")
            let segments = try #require(attribution["linkedBySegment"] as? [String: Any])
            #expect(Set(segments.keys) == ["Mean Reversion ETH-USD", "Momentum ETH"])
            let linkedTotal = try #require((attribution["linkedTotal"] as? [String: Any])?["total"] as? Double)
            #expect(abs(linkedTotal - (attribution["excessReturn"] as? Double ?? .nan)) < 1e-12)
            // The months the backtests record are the backtest's own returns.
            let recorded = try #require(body["monthlyReturns"] as? [[String: Any]])
            let january = try #require(recorded.first { $0["month"] as? String == "2019-01" })
            let segment = try #require(
                (periods[0]["bySegment"] as? [String: Any])?["Mean Reversion ETH-USD"] as? [String: Any])
            // Selection = W·(r − R) with W = 0.5, r the strategy's and R ETH's return that month.
            let expected = 0.5 * ((january["strategy"] as? Double ?? .nan) - (january["asset"] as? Double ?? .nan))
            #expect(abs((segment["selection"] as? Double ?? .nan) - expected) < 1e-12)
            let withFailed = await harness.send(
                .post, "/api/enterprise/quant/attribution", headers: owner,
                json:
                    #"{"backtests":[{"id":"\#(try #require(failing["id"] as? String))","portfolioWeight":1,"benchmarkWeight":1}]}"#
            )
            #expect(withFailed.status == .badRequest)
            #expect(String(decoding: withFailed.body, as: UTF8.self).contains("is failed, not completed"))
        }
    }

    @Test func aWalkForwardSearchRunsAsAJob() async throws {
        try await RouteHarness.with { harness in
            try await Self.importETH(into: harness)
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"Q","accountType":"hedge_fund","legalName":"Quant Fund LLC"}"#)
                )["id"] as? String)
            let strategy = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner,
                        json:
                            #"{"name":"MR","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"assets":["ETH-USD"]}}"#
                    ))["id"] as? String)
            let queued = await harness.send(
                .post, "/api/enterprise/quant-strategies/\(strategy)/optimize", headers: owner,
                json:
                    #"{"parameters":{"lookbackPeriod":{"values":[10,20,40]},"zscoreThreshold":{"values":[1.5,2]}},"walkForward":{"folds":4,"trainFraction":0.75},"settings":{"initialCapital":100000}}"#
            )
            #expect(queued.status == .accepted, "\(String(decoding: queued.body, as: UTF8.self))")
            let id = try #require(Self.json(queued)["id"] as? String)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            #expect(try await worker.runOnce())
            let done = Self.json(await harness.send(.get, "/api/enterprise/optimizations/\(id)", headers: owner))
            #expect(done["status"] as? String == "completed")
            let result = try #require(done["result"] as? [String: Any])
            #expect(result["evaluated"] as? Int == 6)
            #expect((result["walkForward"] as? [[String: Any]])?.count == 4)
            #expect(result["outOfSample"] is [String: Any])
            let refused = await harness.send(
                .post, "/api/enterprise/quant-strategies/\(strategy)/optimize", headers: owner,
                json: #"{"parameters":{"fastPeriod":{"values":[5]}}}"#)
            #expect(refused.status == .badRequest)
        }
    }

    @Test func anETHBTCPortfolioIsOptimisedAndItsRiskRead() async throws {
        try await RouteHarness.with { harness in
            try await Self.importETH(into: harness)
            let file = try FileChunks(path: SharedData.path("market/btc-usd-daily.csv"))
            _ = try await harness.pool.withTransaction {
                try await MarketDataImporter().importCSV(
                    symbol: "BTC-USD", timeframe: .oneDay, into: .platform, source: "btc-usd-daily.csv",
                    nextChunk: file.next, in: $0)
            }
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            for method in ["min_variance", "max_sharpe", "risk_parity", "hrp"] {
                let response = await harness.send(
                    .post, "/api/enterprise/quant/portfolio-optimizations", headers: owner,
                    json: #"{"assets":["ETH-USD","BTC-USD"],"method":"\#(method)","frontierPoints":5}"#)
                #expect(response.status == .ok, "\(method): \(String(decoding: response.body, as: UTF8.self))")
                let answer = Self.json(response)
                let weights = try #require((answer["portfolio"] as? [String: Any])?["weights"] as? [String: Double])
                #expect(abs(weights.values.reduce(0, +) - 1) < 1e-9 && weights.values.allSatisfy { $0 >= -1e-12 })
                #expect(answer["observations"] as? Int == 1_825)
                #expect((answer["frontier"] as? [[String: Any]])?.count == 5)
            }
            // BTC is the less volatile: the minimum-variance portfolio holds more of it.
            let minimum = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant/portfolio-optimizations", headers: owner,
                    json: #"{"assets":["ETH-USD","BTC-USD"],"method":"min_variance"}"#))
            let weights = try #require((minimum["portfolio"] as? [String: Any])?["weights"] as? [String: Double])
            #expect(weights["BTC-USD"]! > weights["ETH-USD"]!)
            let impossible = await harness.send(
                .post, "/api/enterprise/quant/portfolio-optimizations", headers: owner,
                json: #"{"assets":["ETH-USD","BTC-USD"],"bounds":{"*":{"max":0.4}}}"#)
            #expect(impossible.status == .badRequest)

            let risk = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant/risk", headers: owner,
                    json: #"{"assets":["ETH-USD"],"weights":[1],"benchmark":"BTC-USD","targetVolatility":0.5}"#))
            let beta = try #require(risk["beta"] as? Double)
            let correlation = try #require(risk["correlation"] as? Double)
            #expect(beta > 1 && correlation > 0.7 && correlation < 1, "ETH moves more than BTC, closely with it")
            #expect((risk["statistics"] as? [String: Any])?["historicalVaR"] is Double)

            // An account's own positions: 10 ETH and 1 BTC bought in USDC, valued in dollars.
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"R","accountType":"hedge_fund","legalName":"Risk Fund LLC"}"#)
                )["id"] as? String)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"USDC","usdPerUnit":"1","asOf":"2020-01-01T00:00:00Z"}"#)
            for (symbol, quantity, price) in [("ETH/USDC", 10, 2000), ("BTC/USDC", 1, 30000)] {
                let booked = await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(account)","symbol":"\#(symbol)","side":"buy","quantity":\#(quantity),"price":\#(price)}"#
                )
                #expect(booked.status.code == 201, "\(String(decoding: booked.body, as: UTF8.self))")
            }
            let held = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant/risk", headers: owner,
                    json: #"{"accountId":"\#(account)","benchmark":"BTC-USD"}"#))
            let positions = try #require(held["positions"] as? [[String: String]], "\(held)")
            #expect(Set(positions.compactMap { $0["series"] }) == ["ETH-USD", "BTC-USD"])
            // 20,000 of ETH and 30,000 of BTC: weights 0.4 and 0.6.
            #expect(positions.first { $0["symbol"] == "ETH/USDC" }?["weight"].flatMap(Double.init) == 0.4)
            #expect(held["beta"] is Double && (held["statistics"] as? [String: Any])?["annualVolatility"] is Double)

            // Attribution of a 70/30 ETH/BTC portfolio against 50/50, month by month, linked.
            let brinson = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant/attribution", headers: owner,
                    json:
                        #"{"assets":["ETH-USD","BTC-USD"],"portfolioWeights":{"ETH-USD":0.7,"BTC-USD":0.3},"benchmarkWeights":{"ETH-USD":0.5,"BTC-USD":0.5},"start":"2022-01-01","end":"2022-12-31"}"#
                ))
            #expect((brinson["periods"] as? [[String: Any]])?.count == 12)
            let linked = try #require((brinson["linkedTotal"] as? [String: Any])?["total"] as? Double)
            #expect(abs(linked - (brinson["excessReturn"] as? Double ?? .nan)) < 1e-12)
            // Same holdings in every month: all of the effect is allocation.
            #expect(abs((brinson["linkedTotal"] as? [String: Any])?["selection"] as? Double ?? 1) < 1e-12)
            let factors = Self.json(
                await harness.send(
                    .post, "/api/enterprise/quant/factor-attribution", headers: owner,
                    json: #"{"assets":["ETH-USD"],"factors":["BTC-USD"]}"#))
            let factorBeta = try #require((factors["factors"] as? [[String: Any]])?.first?["beta"] as? Double)
            #expect(abs(factorBeta - beta) < 1e-9, "the one-factor beta is the risk report's beta")
        }
    }

    @Test func platformAdminsWriteThePlatformStoreAndTenantsOnlyReadIt() async throws {
        try await RouteHarness.with { harness in
            let identity = IdentityService(pool: harness.pool, keyring: harness.keyring)
            let admin = [
                ("Authorization", "Bearer " + (try await identity.createAdminKey(name: "ops", expiresAt: nil)).text)
            ]
            let csv = try String(contentsOfFile: SharedData.path("market/btc-usd-daily.csv"), encoding: .utf8)
            var upload = HTTPRequest(
                method: .post, target: "/admin/api/market-data/import?symbol=BTC-USD&timeframe=1d",
                headers: HTTPHeaders([("Host", "localhost"), ("Content-Type", "text/csv")] + admin),
                body: Array(csv.utf8))
            let context = RequestContext(
                requestID: "test", logger: TestDatabase.logger, serverName: "localhost", isSecure: true,
                remoteAddress: "127.0.0.1")
            let imported = await harness.application.respond(to: upload, context: context)
            #expect(imported.status == .created, "\(String(decoding: imported.body, as: UTF8.self))")
            #expect(Self.json(imported)["barsInSeries"] as? Int == 1_826)
            let generated = await harness.send(
                .post, "/admin/api/market-data/generate", host: "localhost", headers: admin,
                json: #"{"symbol":"SYN-USD","bars":500,"seed":9}"#)
            #expect(generated.status == .created && Self.json(generated)["bars"] as? String == "500")
            // Both writes are in the platform's audit trail, as the admin.
            let recorded = try await harness.pool.query(
                "SELECT action, object_id FROM platform.audit_records WHERE object_type = 'market_data' AND actor LIKE 'platform-admin:%' ORDER BY chain_position"
            )
            #expect(
                try recorded.map {
                    "\(try $0.decode("action", as: String.self)) \(try $0.decode("object_id", as: String.self))"
                }
                    == ["market_data.imported BTC-USD 1d", "market_data.generated SYN-USD 1d"])
            // A tenant sees both series and cannot write the platform's.
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let listed = Self.json(await harness.send(.get, "/api/enterprise/market-data", headers: owner))
            #expect(
                ((listed["series"] as? [[String: Any]]) ?? []).compactMap { $0["symbol"] as? String }.sorted() == [
                    "BTC-USD", "SYN-USD",
                ])
            upload.headers = HTTPHeaders([("Host", "acme.localhost"), ("Content-Type", "text/csv")] + owner)
            let refused = await harness.application.respond(to: upload, context: context)
            #expect(
                refused.status.code >= 400 && refused.status.code < 500,
                "\(refused.status): \(String(decoding: refused.body, as: UTF8.self))")
            await #expect(throws: (any Error).self) {
                try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                    try await $0.execute("DELETE FROM market_data.bars")
                }
            }
        }
    }

    @Test func badInputIsNamedAndAnotherTenantsStrategyIsOutOfReach() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"Q","accountType":"hedge_fund","legalName":"Quant Fund LLC"}"#)
                )["id"] as? String)
            func create(_ body: String) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/accounts/\(account)/quant-strategies", headers: owner, json: body)
            }
            for (body, message) in [
                (#"{"name":"x","type":"grid","config":{"assets":["ETH-USD"]}}"#, "field 'type': 'grid'"),
                (
                    #"{"name":"x","type":"mean_reversion","config":{"lookbackPeriod":20,"zscoreThreshold":2,"assets":["ETH-USD"],"lookback":5}}"#,
                    "field 'config.lookback': not a parameter of mean_reversion"
                ),
                (
                    #"{"name":"x","type":"momentum","config":{"lookbackPeriod":"ten","assets":["ETH-USD"]}}"#,
                    "field 'config.lookbackPeriod': a number"
                ),
            ] {
                let response = await create(body)
                #expect(response.status == .badRequest)
                #expect(String(decoding: response.body, as: UTF8.self).contains(message), "\(message)")
            }
            let strategy = try #require(
                Self.json(
                    await create(
                        #"{"name":"m","type":"momentum","config":{"lookbackPeriod":10,"assets":["ETH-USD"]}}"#))["id"]
                    as? String)
            #expect(
                await create(#"{"name":"m","type":"momentum","config":{"lookbackPeriod":10,"assets":["ETH-USD"]}}"#)
                    .status == .conflict)
            let misspelt = await harness.send(
                .post, "/api/enterprise/quant-strategies/\(strategy)/backtest", headers: owner,
                json: #"{"initialCapitol":1000}"#)
            #expect(misspelt.status == .badRequest)
            #expect(
                String(decoding: misspelt.body, as: UTF8.self).contains(
                    "field 'initialCapitol': not a backtest setting"))
            let badDate = await harness.send(
                .post, "/api/enterprise/quant-strategies/\(strategy)/backtest", headers: owner,
                json: #"{"start":"18/04/2018"}"#)
            #expect(String(decoding: badDate.body, as: UTF8.self).contains("field 'start'"))

            // Zenith's principal cannot see, change or backtest Acme's strategy.
            let zenith = try #require(try await TenantDirectoryLookup.tenant("zenith", pool: harness.pool))
            let other = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"], tenant: zenith)))]
            for (method, path) in [
                (HTTPMethod.get, "/api/enterprise/quant-strategies/\(strategy)"),
                (.post, "/api/enterprise/quant-strategies/\(strategy)/backtest"),
                (.delete, "/api/enterprise/quant-strategies/\(strategy)"),
            ] {
                let response = await harness.send(method, path, host: "zenith.localhost", headers: other, json: "{}")
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            // Deleted: out of lists, 404 to read.
            #expect(
                await harness.send(.delete, "/api/enterprise/quant-strategies/\(strategy)", headers: owner).status
                    == .noContent)
            #expect(
                await harness.send(.get, "/api/enterprise/quant-strategies/\(strategy)", headers: owner).status
                    == .notFound)
        }
    }
}

/// Finds a tenant by slug for tests.
enum TenantDirectoryLookup {
    static func tenant(_ slug: String, pool: PostgresConnectionPool) async throws -> Tenant? {
        let directory = TenantDirectory()
        try await directory.reload(from: pool)
        return directory.tenant(forHost: "\(slug).localhost")
    }
}
