import Foundation
import Glibc
import ScryptexCore
import ScryptexHTTP
import ScryptexMarketData
import ScryptexMarketMaking
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// Issue 21 over the API, as far as it is built: a strategy, ticks and fills in, quotes that
/// move with volatility and inventory as the formulas say, fills booked once, bad input named.
@Suite("Market making over the API", .serialized)
struct MarketMakingRoutesTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func account(_ harness: RouteHarness, _ owner: [(String, String)]) async throws -> String {
        try #require(
            json(
                await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json: #"{"accountName":"MM","accountType":"hedge_fund","legalName":"Maker Fund LLC"}"#)
            )["id"] as? String)
    }

    static let definition = #"""
        {"name":"ETH maker","markets":[{"symbol":"ETH/USDC","venue":"demo","tickSize":"0.01","lotSize":"0.001","minimumNotional":"10"}],
         "model":"avellaneda_stoikov",
         "parameters":{"gamma":0.1,"kappa":1.5,"horizon":"infinite","horizonSeconds":60,"orderSize":1,"inventoryLimit":10,"volatility":0.5},
         "maximumLoss":"1000"}
        """#

    @Test func quotesFollowTheFormulasAndFillsAreBookedOnce() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try await Self.account(harness, owner)
            let created = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner,
                json: Self.definition)
            #expect(created.status == .created, "\(String(decoding: created.body, as: UTF8.self))")
            let id = try #require(Self.json(created)["id"] as? String)
            let market = "ETH/USDC@demo"

            // No tick yet: nothing quoted, and why.
            let before = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            #expect((before["notQuoted"] as? [String: String])?[market]?.contains("no tick yet") == true)

            // A tick at 2000, flat: r = 2000, δ = 0.1·0.25·60 + 20·ln(1 + 0.1/1.5).
            let ticked = Self.json(
                await harness.send(
                    .post, "/api/enterprise/market-making/\(id)/ticks", headers: owner,
                    json: #"{"market":"ETH/USDC@demo","mid":2000,"time":1700000000}"#))
            var quote = try #require((ticked["quotes"] as? [[String: Any]])?.first, "\(ticked)")
            let spread = 1.5 + 20 * log(1 + 0.1 / 1.5)
            #expect(abs((quote["optimalSpread"] as? Double ?? 0) - spread) < 1e-9)
            #expect(quote["reservationPrice"] as? Double == 2000 && quote["tau"] as? Double == 60)
            #expect(quote["bid"] as? String == "1998.60" && quote["ask"] as? String == "2001.40", "\(quote)")

            // Bought 2 at 1998.60: inventory 2 moves the reservation price down by 2·0.1·0.25·60 = 3.
            let booked = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json:
                    #"{"id":"f-1","market":"ETH/USDC@demo","side":"buy","price":"1998.60","quantity":"2","fee":"0.4","mid":"2000"}"#
            )
            #expect(booked.status == .created, "\(String(decoding: booked.body, as: UTF8.self))")
            let again = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json:
                    #"{"id":"f-1","market":"ETH/USDC@demo","side":"buy","price":"1998.60","quantity":"2","fee":"0.4"}"#)
            #expect(again.status == .ok && Self.json(again)["duplicate"] as? Bool == true)
            let positions = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/\(id)/positions", headers: owner))
            let position = try #require((positions["positions"] as? [[String: Any]])?.first)
            #expect(position["position"] as? String == "2" && position["fills"] as? Int == 1, "\(position)")
            func decimal(_ key: String) -> ExactDecimal? { (position[key] as? String).flatMap { ExactDecimal($0) } }
            #expect(
                decimal("realisedPnL") == ExactDecimal("-0.4")! && decimal("spreadCaptured") == ExactDecimal("2.8")!)
            // Marked at 2000: 2·2000 − 3997.2 = 2.8.
            #expect(decimal("unrealisedPnL") == ExactDecimal("2.8")!, "\(position)")
            quote = try #require(
                (Self.json(await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))[
                    "quotes"] as? [[String: Any]])?.first)
            #expect(
                abs((quote["reservationPrice"] as? Double ?? 0) - 1997) < 1e-9 && quote["inventory"] as? Double == 2)

            // Bad fills are named; none changes the position.
            for (body, message) in [
                (#"{"id":"f-2","market":"BTC/USDC@demo","side":"buy","price":"1","quantity":"1"}"#, "field 'market'"),
                (
                    #"{"id":"f-3","market":"ETH/USDC@demo","side":"buy","price":"1998.605","quantity":"1"}"#,
                    "field 'price': 1998.605 is not a positive multiple of the tick size 0.01"
                ),
                (
                    #"{"id":"f-4","market":"ETH/USDC@demo","side":"buy","price":"1998.6","quantity":"0.0001"}"#,
                    "field 'quantity'"
                ),
                (
                    #"{"id":"f-5","market":"ETH/USDC@demo","side":"buy","price":"99999999999999999999","quantity":"99999999999999999999"}"#,
                    "at most 1000000000000 each"
                ),
            ] {
                let refused = await harness.send(
                    .post, "/api/enterprise/market-making/\(id)/fills", headers: owner, json: body)
                #expect(refused.status == .badRequest, "\(body)")
                #expect(String(decoding: refused.body, as: UTF8.self).contains(message), "\(body)")
            }

            // A mid no market has: refused, not trapped on.
            let absurd = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/ticks", headers: owner,
                json: #"{"market":"ETH/USDC@demo","mid":1e300}"#)
            #expect(absurd.status == .badRequest)
            #expect(String(decoding: absurd.body, as: UTF8.self).contains("field 'mid': above 0 and at most"))

            // Paused, and with the kill switch engaged: nothing quoted, each saying why.
            _ = await harness.send(.post, "/api/enterprise/market-making/\(id)/pause", headers: owner, json: "{}")
            var stopped = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            #expect((stopped["notQuoted"] as? [String: String])?[market] == "the strategy is paused")
            _ = await harness.send(.post, "/api/enterprise/market-making/\(id)/resume", headers: owner, json: "{}")
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/kill-switch", headers: owner,
                json: #"{"engaged":true,"reason":"test"}"#)
            stopped = Self.json(await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            #expect(
                (stopped["notQuoted"] as? [String: String])?[market] == "the account's kill switch is engaged",
                "\(stopped)")
        }
    }

    @Test func badDefinitionsAreNamed() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try await Self.account(harness, owner)
            for (change, message) in [
                (("\"gamma\":0.1", "\"gamma\":0"), "field 'parameters.gamma': above 0"),
                (("\"kappa\":1.5", "\"kappa\":-1"), "field 'parameters.kappa': above 0"),
                (("\"orderSize\":1", "\"orderSize\":1,\"minimumSpread\":-1"), "field 'parameters.minimumSpread'"),
                (
                    ("\"orderSize\":1", "\"orderSize\":1,\"minimumSpread\":3,\"maximumSpread\":2"),
                    "field 'parameters.maximumSpread'"
                ),
                (
                    ("\"orderSize\":1", "\"orderSize\":1,\"priceCeiling\":2000.005"),
                    "is not a multiple of ETH/USDC@demo's tick size 0.01"
                ),
                (
                    ("\"orderSize\":1", "\"orderSize\":1,\"levels\":3"),
                    "field 'parameters.levels': not a parameter of avellaneda_stoikov"
                ),
                (("\"tickSize\":\"0.01\"", "\"tickSize\":\"0\""), "field 'markets[0].tickSize'"),
            ] {
                let body = Self.definition.replacingOccurrences(of: change.0, with: change.1)
                let refused = await harness.send(
                    .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner, json: body)
                #expect(refused.status == .badRequest, "\(message)")
                #expect(
                    String(decoding: refused.body, as: UTF8.self).contains(message),
                    "\(message): \(String(decoding: refused.body, as: UTF8.self))")
            }
        }
        try await RouteHarness.with(environment: ["MARKET_MAKING_ENABLED": "false"]) { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let refused = await harness.send(
                .get, "/api/enterprise/market-making/\(UUID().uuidString)/quotes", headers: owner)
            #expect(refused.status == .forbidden)
            #expect(String(decoding: refused.body, as: UTF8.self).contains("MARKET_MAKING_ENABLED=false"))
        }
    }

    /// Avellaneda-Stoikov against a ladder on the real hourly file, side by side, then a sweep of
    /// γ and κ — each a tenant job.
    @Test func simulationsAndSweepsRunOnTheRealHourlyFile() async throws {
        try await RouteHarness.with { harness in
            let file = try FileChunks(path: SharedData.path("market/eth-usdt-hourly-binance.csv"))
            _ = try await harness.pool.withTransaction {
                try await MarketDataImporter().importCSV(
                    symbol: "ETH-USDT", timeframe: .oneHour, into: .platform, source: "eth-usdt-hourly-binance.csv",
                    nextChunk: file.next, in: $0)
            }
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try await Self.account(harness, owner)
            let stoikov = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner,
                        json: Self.definition.replacingOccurrences(
                            of: "\"volatility\":0.5", with: "\"minimumSpread\":0.5")))[
                        "id"] as? String)
            let ladder = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner,
                        json: #"""
                            {"name":"ETH ladder","markets":[{"symbol":"ETH/USDC","venue":"demo","tickSize":"0.01","lotSize":"0.001"}],
                             "model":"ladder","parameters":{"levels":3,"spread":4,"levelSpacing":2,"sizeIncrement":0.5,"inventorySkew":0.5,"orderSize":1,"inventoryLimit":10}}
                            """#))["id"] as? String)
            let worker = TenantJobWorker(
                pool: harness.pool, handlers: HostService.jobHandlers(logger: TestDatabase.logger), owner: "test",
                logger: TestDatabase.logger)
            let queued = await harness.send(
                .post, "/api/enterprise/market-making/\(stoikov)/simulations", headers: owner,
                json:
                    #"{"symbol":"ETH-USDT","timeframe":"1h","compareWith":["\#(ladder)"],"fillModel":{"volumeShare":0.05,"feeBasisPoints":"-1","fillsAtTouch":false}}"#
            )
            #expect(queued.status == .accepted, "\(String(decoding: queued.body, as: UTF8.self))")
            let simulation = try #require(Self.json(queued)["id"] as? String)
            #expect(try await worker.runOnce())
            let done = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/simulations/\(simulation)", headers: owner))
            #expect(done["status"] as? String == "completed", "\(done)")
            let runs = try #require((done["result"] as? [String: Any])?["runs"] as? [[String: Any]])
            #expect(runs.map { $0["name"] as? String } == ["ETH maker", "ETH ladder"])
            for run in runs {
                let report = try #require(run["report"] as? [String: Any])
                #expect(
                    report["bars"] as? Int == 27_100 || (report["bars"] as? Int ?? 0) > 27_000,
                    "\(report["bars"] ?? "")")
                #expect((report["fills"] as? Int ?? 0) > 100 && report["totalPnL"] is String)
            }

            let sweep = await harness.send(
                .post, "/api/enterprise/market-making/\(stoikov)/simulations", headers: owner,
                json:
                    #"{"symbol":"ETH-USDT","timeframe":"1h","start":"2020-01-01","grid":{"gamma":[0.05,0.1],"kappa":[0.5,1.5]}}"#
            )
            let sweepID = try #require(
                Self.json(sweep)["id"] as? String, "\(String(decoding: sweep.body, as: UTF8.self))")
            #expect(try await worker.runOnce())
            let swept = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/simulations/\(sweepID)", headers: owner))
            let ranking = try #require(
                ((swept["result"] as? [String: Any])?["sweep"] as? [String: Any])?["ranking"] as? [[String: Any]],
                "\(swept)")
            #expect(ranking.count == 4 && swept["kind"] as? String == "sweep")
            let refused = await harness.send(
                .post, "/api/enterprise/market-making/\(stoikov)/simulations", headers: owner,
                json: #"{"symbol":"ETH-USDT","grid":{"levels":[1,2]}}"#)
            #expect(refused.status == .badRequest)
            #expect(String(decoding: refused.body, as: UTF8.self).contains("field 'grid.levels'"))
        }
    }

    /// No κ configured: quoting waits for trades, then quotes with the κ fitted from them; a
    /// long inventory past the hedging threshold asks for a hedge sale, and a hedge fill brings
    /// the exposure back.
    @Test func kappaFromTradesAndHedgeOrders() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try await Self.account(harness, owner)
            let body = Self.definition.replacingOccurrences(of: "\"kappa\":1.5,", with: "")
                .replacingOccurrences(
                    of: "\"maximumLoss\":\"1000\"",
                    with:
                        #""hedging":{"market":{"symbol":"ETH-PERP","venue":"hedge","tickSize":"0.1","lotSize":"0.01"},"threshold":1,"ratio":1,"maximumOrderSize":5}"#
                )
            let created = await harness.send(
                .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner, json: body)
            let id = try #require(
                Self.json(created)["id"] as? String, "\(String(decoding: created.body, as: UTF8.self))")
            let market = "ETH/USDC@demo"
            let ticked = Self.json(
                await harness.send(
                    .post, "/api/enterprise/market-making/\(id)/ticks", headers: owner,
                    json: #"{"market":"ETH/USDC@demo","mid":2000,"time":1700000000}"#))
            #expect((ticked["notQuoted"] as? [String: String])?[market]?.contains("κ is not configured") == true)
            // Trades whose distance from the mid falls off as e^(−2δ): κ ≈ 2.
            var random = SeededRandom(seed: 3)
            let trades = (0..<2_000).map { index in
                let distance = -log(1 - random.nextUniform()) / 2
                let price = index % 2 == 0 ? 2000 + distance : 2000 - distance
                return #"{"market":"ETH/USDC@demo","price":\#(price),"time":\#(1_700_000_000 + index)}"#
            }
            let fitted = Self.json(
                await harness.send(
                    .post, "/api/enterprise/market-making/\(id)/trades", headers: owner,
                    json: "{\"trades\":[\(trades.joined(separator: ","))]}"))
            let kappa = try #require((fitted["kappa"] as? [String: Any])?[market] as? Double, "\(fitted)")
            #expect(abs(kappa - 2) < 0.2, "κ \(kappa)")
            let quoted = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            let quote = try #require((quoted["quotes"] as? [[String: Any]])?.first, "\(quoted)")
            #expect(abs((quote["kappa"] as? Double ?? 0) - kappa) < 1e-12)
            #expect(
                (quote["reasons"] as? [String])?.contains { $0.hasPrefix("κ estimated from observed trades") } == true)

            // Long 3 against a threshold of 1: sell 2 on the hedge market.
            _ = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json: #"{"id":"b1","market":"ETH/USDC@demo","side":"buy","price":"1999","quantity":"3"}"#)
            var hedged = Self.json(
                await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            let order = try #require(hedged["hedgeOrder"] as? [String: Any], "\(hedged)")
            #expect(order["side"] as? String == "sell" && order["market"] as? String == "ETH-PERP@hedge")
            #expect((order["quantity"] as? String).flatMap { ExactDecimal($0) } == ExactDecimal(2), "\(order)")
            let hedgeFill = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json: #"{"id":"h1","market":"ETH-PERP@hedge","side":"sell","price":"2001.5","quantity":"2"}"#)
            #expect(hedgeFill.status == .created, "\(String(decoding: hedgeFill.body, as: UTF8.self))")
            hedged = Self.json(await harness.send(.get, "/api/enterprise/market-making/\(id)/quotes", headers: owner))
            #expect(hedged["hedgeOrder"] == nil && hedged["hedgedExposure"] as? Double == 1)
        }
    }

    /// The account's daily notional limit bounds the orders a quote shows: none without a USD
    /// rate for the quote currency, then what is left of the day after the fills booked today;
    /// the positions report the live fill rate and time in market from the ticks.
    @Test func quotesStayWithinTheDailyNotionalLimit() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try await Self.account(harness, owner)
            let limited = await harness.send(
                .put, "/api/enterprise/accounts/\(account)/limits", headers: owner, json: #"{"dailyNotional":5000}"#)
            #expect(limited.status == .ok, "\(String(decoding: limited.body, as: UTF8.self))")
            let id = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner,
                        json: Self.definition))["id"] as? String)
            func tick(at time: Int) async throws -> [String: Any] {
                try #require(
                    (Self.json(
                        await harness.send(
                            .post, "/api/enterprise/market-making/\(id)/ticks", headers: owner,
                            json: #"{"market":"ETH/USDC@demo","mid":2000,"time":\#(time)}"#))["quotes"]
                        as? [[String: Any]])?.first)
            }
            // USDC has no USD rate: the quote cannot be held against the limit.
            var quote = try await tick(at: 1_700_000_000)
            #expect((quote["bids"] as? [Any])?.isEmpty == true && (quote["asks"] as? [Any])?.isEmpty == true)
            #expect(
                (quote["reasons"] as? [String])?.contains { $0.contains("no USD rate for USDC") } == true, "\(quote)")
            let rate = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"USDC","usdPerUnit":"1"}"#)
            #expect(rate.status.code < 300, "\(String(decoding: rate.body, as: UTF8.self))")
            // 1998.60 + 2001.40 = 4000 fits in 5000.
            quote = try await tick(at: 1_700_000_060)
            #expect(quote["bid"] as? String == "1998.60" && quote["ask"] as? String == "2001.40", "\(quote)")
            // Bought 1 at 1998.60 today: 3001.40 left; the bid (1 at 1997.10) fits, the ask is cut.
            let fill = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json: #"{"id":"d-1","market":"ETH/USDC@demo","side":"buy","price":"1998.60","quantity":"1"}"#)
            #expect(fill.status == .created)
            quote = try await tick(at: 1_700_000_120)
            let asks = try #require(quote["asks"] as? [[String: Any]])
            let askQuantity = try #require((asks.first?["quantity"] as? String).flatMap { ExactDecimal($0) })
            let bids = try #require(quote["bids"] as? [[String: Any]])
            #expect(bids.first?["quantity"] as? String == "1.000", "\(quote)")
            #expect(ExactDecimal(0) < askQuantity && askQuantity < ExactDecimal(1), "\(quote)")
            #expect(
                (quote["reasons"] as? [String])?.contains { $0.contains("daily notional limit 5000 leaves") } == true)
            // Quoted on both sides from 60 s to 120 s of the 120 s since the first tick; 4 orders
            // posted (none at the first tick), one filled.
            let position = try #require(
                (Self.json(await harness.send(.get, "/api/enterprise/market-making/\(id)/positions", headers: owner))[
                    "positions"] as? [[String: Any]])?.first)
            #expect(position["timeInMarket"] as? Double == 0.5, "\(position)")
            #expect(position["ordersPosted"] as? Int == 4 && position["fillRate"] as? Double == 0.25, "\(position)")
        }
    }

    /// Server-Sent Events through the host's own server: 1,000 open streams each get a tick's
    /// quotes as they happen; a client reconnecting with Last-Event-ID gets what it missed from
    /// the log; streams whose clients left are gone.
    @Test(.timeLimit(.minutes(3)))
    func aThousandStreamsFollowOneStrategy() async throws {
        // 1,000 client sockets and 1,000 server sockets in this process.
        var files = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        if files.rlim_cur < 4_096 {
            files.rlim_cur = min(files.rlim_max, 4_096)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        }
        try #require(files.rlim_cur >= 2_200, "the process may open only \(files.rlim_cur) files")
        // 1,000 requests at once from one key: above the default rate limits.
        let environment = ["RATE_LIMIT_API_KEY": "100000/s:100000", "RATE_LIMIT_TENANT": "100000/s:100000"]
        try await RouteHarness.with(environment: environment) { harness in
            let key = try await harness.apiKey(roles: ["owner"])
            let owner = [("Authorization", "Bearer " + key)]
            let account = try await Self.account(harness, owner)
            let id = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts/\(account)/market-making-strategies", headers: owner,
                        json: Self.definition))["id"] as? String)
            let server = HTTPServer(
                configuration: .init(host: "127.0.0.1", port: 0, eventLoopCount: 2), application: harness.application,
                logger: TestDatabase.logger)
            try server.start()
            defer { Task { await server.shutdown(gracePeriod: .seconds(1)) } }
            let request =
                "GET /api/enterprise/market-making/\(id)/stream HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer \(key)\r\n\r\n"
            var clients: [RawClient] = []
            for _ in 0..<1_000 {
                let client = try RawClient(port: server.port)
                client.send(request)
                clients.append(client)
            }
            // Blocking reads on a thread of their own, never on the cooperative pool other tests share.
            let connected = clients
            let opened = try await ComputeThreads.run {
                connected.map { $0.read(until: "retry: 3000") }.filter {
                    $0.hasPrefix("HTTP/1.1 200") && $0.contains("text/event-stream")
                }.count
            }
            #expect(opened == 1_000)
            #expect(MarketMakingStreams.shared.count >= 1_000)
            // One tick: every stream gets its quotes.
            let ticked = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/ticks", headers: owner,
                json: #"{"market":"ETH/USDC@demo","mid":2000,"time":1700000000}"#)
            #expect(ticked.status == .ok)
            let delivered = try await ComputeThreads.run {
                connected.map { $0.read(until: "event: quotes") }.filter { $0.contains("\"reservationPrice\":2000") }
                    .count
            }
            #expect(delivered == 1_000)
            // The clients leave (explicitly: a compute thread may still hold the closure that read them).
            for client in clients { client.disconnect() }
            clients.removeAll()
            _ = consume connected
            // A client back after a fill it missed: the log replays from its last id.
            _ = await harness.send(
                .post, "/api/enterprise/market-making/\(id)/fills", headers: owner,
                json: #"{"id":"f-9","market":"ETH/USDC@demo","side":"buy","price":"1999","quantity":"1"}"#)
            let late = try RawClient(port: server.port)
            late.send(request.replacingOccurrences(of: "\r\n\r\n", with: "\r\nLast-Event-ID: 1\r\n\r\n"))
            let resumed = try await ComputeThreads.run { late.read(until: "event: fill") }
            #expect(resumed.contains("id: 2\nevent: fill") && !resumed.contains("id: 1\n"), "\(resumed)")
            // The 1,000 that left are unsubscribed as soon as the server reads their end of input
            // (an event stream stops with its client), well before the first heartbeat (15 s)
            // could reveal them.
            for _ in 0..<100 where MarketMakingStreams.shared.count > 1 {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(MarketMakingStreams.shared.count <= 1, "\(MarketMakingStreams.shared.count) streams still open")
        }
    }
}
