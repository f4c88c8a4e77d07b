import Foundation
import ScryptexCore
import ScryptexHTTP
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

    static let definition = #"""
        {"name":"ETH maker","markets":[{"symbol":"ETH/USDC","venue":"demo","tickSize":"0.01","lotSize":"0.001","minimumNotional":"10"}],
         "model":"avellaneda_stoikov",
         "parameters":{"gamma":0.1,"kappa":1.5,"horizon":"infinite","horizonSeconds":60,"orderSize":1,"inventoryLimit":10,"volatility":0.5},
         "maximumLoss":"1000"}
        """#

    @Test func quotesFollowTheFormulasAndFillsAreBookedOnce() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"MM","accountType":"hedge_fund","legalName":"Maker Fund LLC"}"#)
                )["id"] as? String)
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
            ] {
                let refused = await harness.send(
                    .post, "/api/enterprise/market-making/\(id)/fills", headers: owner, json: body)
                #expect(refused.status == .badRequest, "\(body)")
                #expect(String(decoding: refused.body, as: UTF8.self).contains(message), "\(body)")
            }

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
            let account = try #require(
                Self.json(
                    await harness.send(
                        .post, "/api/enterprise/accounts", headers: owner,
                        json: #"{"accountName":"MM","accountType":"hedge_fund","legalName":"Maker Fund LLC"}"#)
                )["id"] as? String)
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
}
