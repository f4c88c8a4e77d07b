import Foundation
import ScryptexCompliance
import ScryptexCore
import ScryptexHTTP
import ScryptexIdentity
import ScryptexPostgres
import ScryptexTenancy
import ScryptexTestSupport
import Testing

@testable import ScryptexApp

/// The shared OFAC SDN list (July 2021), loaded through the store as an operator would.
enum SharedSanctions {
    static let folder = SharedData.path("aml")

    static func loadSDN(into harness: RouteHarness) async throws {
        let base = folder + "/ofac_sdn_2021-07-bench/"
        let files = try ["sdn.csv", "alt.csv", "add.csv"].map { try Data(contentsOf: URL(fileURLWithPath: base + $0)) }
        let entries = try OFACListParser.parse(
            primary: String(decoding: files[0], as: UTF8.self), aliases: String(decoding: files[1], as: UTF8.self),
            addresses: String(decoding: files[2], as: UTF8.self), names: ("sdn.csv", "alt.csv", "add.csv"))
        _ = try await SanctionsStore().load(entries, source: .ofacSDN, files: files, loadedBy: "test", on: harness.pool)
        try await harness.sanctions.load()
    }
}

@Suite("Pre-trade compliance checks over the API", .serialized)
struct CheckTradeTests {
    static func json(_ response: HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    static func text(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    /// The decision and the rules that did not pass.
    static func verdict(_ response: HTTPResponse) -> (String, [String]) {
        let decision = json(response)["decision"] as? [String: Any] ?? [:]
        let rules = (decision["rules"] as? [[String: Any]] ?? []).filter { $0["outcome"] as? String != "pass" }
        return (decision["decision"] as? String ?? "?", rules.compactMap { $0["rule"] as? String })
    }

    /// Issue 17: a parent's limits bind the sum over its sub-accounts (the family figures come
    /// from the database), and a parent whose KYC is suspended blocks its children.
    @Test func aParentsLimitsAndKYCBindItsSubAccounts() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            func create(_ name: String, parent: String? = nil) async throws -> String {
                let parentField = parent.map { #","parentId":"\#($0)""# } ?? ""
                let created = await harness.send(
                    .post, "/api/enterprise/accounts", headers: owner,
                    json:
                        #"{"accountName":"\#(name)","accountType":"hedge_fund","legalName":"\#(name) LP","jurisdiction":"US","totalAUM":1000000000\#(parentField)}"#
                )
                let id = try #require(Self.json(created)["id"] as? String, "\(Self.text(created))")
                _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
                let approved = await harness.send(
                    .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
                    json: #"{"status":"approved","reason":"verified"}"#)
                #expect(approved.status.code == 200, "\(Self.text(approved))")
                return id
            }
            let master = try await create("Master")
            let limits = await harness.send(
                .put, "/api/enterprise/accounts/\(master)/limits", headers: owner,
                json: #"{"dailyNotional":150000,"positionLimits":{"ETH/USDC":50}}"#)
            #expect(limits.status.code == 200, "\(Self.text(limits))")
            let first = try await create("Fund A", parent: master)
            let second = try await create("Fund B", parent: master)
            _ = await harness.send(
                .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                json: #"{"symbol":"ETH/USDC","price":2500}"#)
            // Limits are in US dollars, and USDC is not USD: its rate is recorded (at par here).
            let rate = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"USDC","usdPerUnit":1}"#)
            #expect(rate.status.code == 204, "\(Self.text(rate))")
            // Fund A buys 40 at 2,500: 100,000 today, long 40.
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: owner,
                json: #"{"accountId":"\#(first)","symbol":"ETH/USDC","side":"buy","quantity":40,"price":2500}"#)
            #expect(booked.status.code == 201, "\(Self.text(booked))")
            func check(_ quantity: Int, side: String = "buy") async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/compliance/check-trade", headers: owner,
                    json:
                        #"{"accountId":"\#(second)","symbol":"ETH/USDC","side":"\#(side)","quantity":\#(quantity),"price":2500}"#
                )
            }
            // Fund B alone holds nothing; the family would hold 40 + 20 = 60 > 50, while its day,
            // 100,000 + 50,000, is exactly the limit.
            #expect(Self.verdict(await check(20)) == ("rejected", ["position_limit"]))
            #expect(Self.text(await check(20)).contains("beyond parent account Master's limit 50"))
            // 21 more: 152,500 > 150,000 too.
            #expect(Self.verdict(await check(21)) == ("rejected", ["daily_limit", "position_limit"]))
            #expect(Self.verdict(await check(10)).0 == "approved")
            // Fund B selling 10 (at 2,600: away from the family's buy, no wash) leaves the family
            // long 30 and its day at 126,000.
            let selling = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json: #"{"accountId":"\#(second)","symbol":"ETH/USDC","side":"sell","quantity":10,"price":2600}"#)
            #expect(Self.verdict(selling).0 == "approved", "\(Self.text(selling))")
            // The master's KYC suspended: its funds cannot trade.
            let suspended = await harness.send(
                .post, "/api/enterprise/accounts/\(master)/kyc/decision", headers: owner,
                json: #"{"status":"suspended","reason":"periodic review overdue"}"#)
            #expect(suspended.status.code == 200, "\(Self.text(suspended))")
            #expect(Self.verdict(await check(1)) == ("rejected", ["account_state"]))
        }
    }

    /// Issue 17: an ETH/BTC order of 2,500 BTC (≈ $150 million at 60,000) passed a 3,000,000
    /// limit, the notional compared in BTC.
    @Test func notionalLimitsAreInUSDollars() async throws {
        try await RouteHarness.with { harness in
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Cross Fund","accountType":"hedge_fund","legalName":"Cross Fund LP","jurisdiction":"US","totalAUM":1000000000}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
                json: #"{"status":"approved","reason":"verified"}"#)
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner, json: #"{"maxOrderNotional":3000000}"#)
            for body in [#"{"symbol":"ETH/BTC","price":0.05}"#, #"{"symbol":"BTC/USD","price":60000}"#] {
                let set = await harness.send(
                    .post, "/api/enterprise/compliance/reference-prices", headers: owner, json: body)
                #expect(set.status.code == 204, "\(Self.text(set))")
            }
            // 50,000 ETH at 0.05 BTC: 2,500 BTC, worth 150,000,000 USD through BTC/USD.
            let order = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":50000,"price":0.05}"#)
            #expect(Self.verdict(order) == ("rejected", ["order_limit"]))
            #expect(
                Self.text(order).contains(
                    "notional 2500.00 BTC (150000000 USD) exceeds the account's order limit 3000000"),
                "\(Self.text(order))")
            // 1 ETH (0.05 BTC, 3,000 USD) is inside it.
            let small = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":1,"price":0.05}"#)
            #expect(Self.verdict(small).0 == "approved", "\(Self.text(small))")
            let badRate = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"usd","usdPerUnit":1}"#)
            #expect(badRate.status.code == 400)

            // Booked directly (an execution reported from outside), the trade is kept, but against
            // the controls it raises a critical alert at once.
            func book(_ quantity: Int) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/trades", headers: owner,
                    json:
                        #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":\#(quantity),"price":0.05}"#
                )
            }
            let overLimit = await book(50_000)
            #expect(overLimit.status.code == 201)
            let alerts = Self.json(overLimit)["alerts"] as? [[String: Any]] ?? []
            #expect(
                alerts.contains {
                    $0["severity"] as? String == "critical"
                        && ($0["summary"] as? String)?.contains("exceeds the order limit 3000000") == true
                }, "\(Self.text(overLimit))")
            let inside = await book(1)
            #expect((Self.json(inside)["alerts"] as? [[String: Any]])?.isEmpty == true, "\(Self.text(inside))")
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kill-switch", headers: owner,
                json: #"{"engaged":true,"reason":"desk halted"}"#)
            let halted = await book(1)
            #expect(halted.status.code == 201)
            #expect(
                Self.text(halted).contains("booked although the account's kill switch is engaged"),
                "\(Self.text(halted))")
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kill-switch", headers: owner,
                json: #"{"engaged":false,"reason":"desk resumed"}"#)

            // An FX rate takes precedence over the BTC/USD price; ten days old, it no longer values
            // an order against the limits (FX_RATE_MAX_AGE, four days by default).
            let tenDaysAgo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-10 * 86_400))
            let staleRate = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"BTC","usdPerUnit":60000,"asOf":"\#(tenDaysAgo)"}"#)
            #expect(staleRate.status.code == 204)
            let stale = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json: #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":1,"price":0.05}"#)
            #expect(Self.verdict(stale).0 == "review", "\(Self.text(stale))")
            #expect(
                Self.text(stale).contains("the US dollar rate for BTC is 10 d old, older than 4 d"),
                "\(Self.text(stale))")

            // The venue is a MIC the tenant knows (any case), checked in the context's round trip.
            let unknownVenue = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json:
                    #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":1,"price":0.05,"venue":"NOWHERE"}"#
            )
            #expect(unknownVenue.status.code == 400 && Self.text(unknownVenue).contains("market identifier code"))
            let knownVenue = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: owner,
                json:
                    #"{"accountId":"\#(id)","symbol":"ETH/BTC","side":"buy","quantity":1,"price":0.05,"venue":"xnas"}"#)
            #expect(knownVenue.status.code == 200, "\(Self.text(knownVenue))")
        }
    }

    @Test func everyRuleDecidesWithItsReason() async throws {
        try await RouteHarness.with { harness in
            try await SharedSanctions.loadSDN(into: harness)
            let owner = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["owner"])))]
            let trader = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["trader"])))]
            let created = await harness.send(
                .post, "/api/enterprise/accounts", headers: owner,
                json:
                    #"{"accountName":"Acme Hedge Fund","accountType":"hedge_fund","legalName":"Acme Hedge Fund LLC","jurisdiction":"US","totalAUM":1000000000}"#
            )
            let id = try #require(Self.json(created)["id"] as? String)
            func check(_ fields: String, headers: [(String, String)]? = nil) async -> HTTPResponse {
                await harness.send(
                    .post, "/api/enterprise/compliance/check-trade", headers: headers ?? trader,
                    json: #"{"accountId":"\#(id)",\#(fields)}"#)
            }
            let order = #""symbol":"ETH/USDC","side":"buy","quantity":1000,"price":2500"#

            // Before KYC approval nothing trades.
            #expect(Self.verdict(await check(order)).0 == "rejected")
            #expect(Self.verdict(await check(order)).1.contains("account_state"))
            _ = await harness.send(.post, "/api/enterprise/accounts/\(id)/kyc/submit", headers: owner)
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kyc/decision", headers: officer,
                json: #"{"status":"approved","reason":"verified"}"#)
            _ = await harness.send(
                .put, "/api/enterprise/accounts/\(id)/limits", headers: owner,
                json:
                    #"{"maxOrderNotional":3000000,"dailyNotional":5000000,"positionLimits":{"ETH/USDC":1000},"allowedInstruments":["ETH/USDC","BTC/USDC"]}"#
            )
            // Limits are in US dollars and USDC is not USD: with no rate for it the notional
            // limits cannot be checked, and the order goes to review.
            let unvalued = await check(order)
            #expect(Self.verdict(unvalued).1.contains("order_limit"))
            #expect(Self.text(unvalued).contains("cannot value the order in US dollars"))
            _ = await harness.send(
                .post, "/api/enterprise/compliance/fx-rates", headers: owner,
                json: #"{"currency":"USDC","usdPerUnit":0.9998}"#)
            // No reference price yet: review, not approval.
            #expect(Self.verdict(await check(order)) == ("review", ["price_band"]))
            #expect(
                await harness.send(
                    .post, "/api/enterprise/compliance/reference-prices", headers: owner,
                    json: #"{"symbol":"ETH/USDC","price":2500}"#
                ).status.code == 204)

            let approved = await check(order)
            #expect(Self.verdict(approved) == ("approved", []), "\(Self.text(approved))")
            #expect((Self.json(approved)["decision"] as? [String: Any])?["notional"] as? String == "2500000")

            #expect(
                Self.verdict(await check(#""symbol":"ETH/USDC","side":"buy","quantity":1000,"price":2650"#)) == (
                    "review", ["price_band"]
                ))
            #expect(
                Self.verdict(await check(#""symbol":"ETH/USDC","side":"buy","quantity":100,"price":2900"#)) == (
                    "rejected", ["price_band"]
                ))
            let tooBig = await check(#""symbol":"ETH/USDC","side":"buy","quantity":1300,"price":2500"#)
            #expect(Self.verdict(tooBig) == ("rejected", ["order_limit", "position_limit"]), "\(Self.text(tooBig))")
            #expect(
                Self.verdict(await check(#""symbol":"SOL/USDC","side":"buy","quantity":1,"price":150"#)).1.contains(
                    "instrument_allowed"))

            // Sanctions: the counterparty's name and a wallet on the SDN list.
            let sanctioned = await check(order + #","counterparty":"National Bank of Cuba""#)
            #expect(Self.verdict(sanctioned) == ("rejected", ["sanctions"]))
            #expect(Self.text(sanctioned).contains("NATIONAL BANK OF CUBA"))
            #expect(
                Self.verdict(await check(order + #","walletAddress":"12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h""#))
                    == ("rejected", ["sanctions"]))
            let clean = await check(order + #","counterparty":"Goldman Sachs International""#)
            #expect(Self.verdict(clean).0 == "approved", "\(Self.text(clean))")

            // Restricted list and kill switch.
            _ = await harness.send(
                .post, "/api/enterprise/compliance/restricted-instruments", headers: owner,
                json: #"{"symbol":"BTC/USDC","reason":"material non-public information"}"#)
            #expect(
                Self.verdict(await check(#""symbol":"BTC/USDC","side":"buy","quantity":1,"price":60000"#)).1.contains(
                    "restricted_list"))
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kill-switch", headers: owner,
                json: #"{"engaged":true,"reason":"runaway algo"}"#)
            #expect(Self.verdict(await check(order)) == ("rejected", ["kill_switch"]))
            _ = await harness.send(
                .post, "/api/enterprise/accounts/\(id)/kill-switch", headers: owner,
                json: #"{"engaged":false,"reason":"fixed"}"#)

            // Booked trades count toward positions, the daily limit and wash-trade detection.
            let booked = await harness.send(
                .post, "/api/enterprise/trades", headers: trader,
                json: #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"buy","quantity":800,"price":2500}"#)
            #expect(booked.status.code == 201, "\(Self.text(booked))")
            #expect(
                Self.verdict(await check(#""symbol":"ETH/USDC","side":"buy","quantity":300,"price":2500"#)).1 == [
                    "position_limit"
                ])
            #expect(
                Self.verdict(await check(#""symbol":"ETH/USDC","side":"sell","quantity":10,"price":2500"#)) == (
                    "review", ["wash_trade"]
                ))
            #expect(
                Self.verdict(
                    await check(#""symbol":"ETH/USDC","side":"buy","quantity":1,"price":2499"#, headers: owner)
                ).1
                    == [])
            _ = await harness.send(
                .post, "/api/enterprise/trades", headers: trader,
                json: #"{"accountId":"\#(id)","symbol":"ETH/USDC","side":"sell","quantity":800,"price":2500}"#)
            #expect(
                Self.verdict(await check(#""symbol":"ETH/USDC","side":"buy","quantity":1000,"price":2500"#)).1.contains(
                    "daily_limit"))

            // Bad input: 400 naming the field and the rule.
            for (fields, needle) in [
                (#""symbol":"ETH/USDC","side":"buy","quantity":-1,"price":2500"#, "field 'quantity'"),
                (#""symbol":"ETH/USDC","side":"buy","quantity":"abc","price":2500"#, "quantity"),
                (#""symbol":"ETH/USDC","side":"buy","quantity":1,"price":2500.123"#, "at most 2 decimals"),
                (#""symbol":"DOGE/USDC","side":"buy","quantity":1,"price":1"#, "unknown instrument 'DOGE/USDC'"),
                (#""symbol":"ETH/USDC","side":"hold","quantity":1,"price":1"#, "field 'side'"),
            ] {
                let answer = await check(fields)
                #expect(answer.status.code == 400, "\(fields)")
                #expect(Self.text(answer).contains(needle), "\(Self.text(answer))")
            }
            let unknown = await harness.send(
                .post, "/api/enterprise/compliance/check-trade", headers: trader,
                json: #"{"accountId":"\#(UUID().uuidString)",\#(order)}"#)
            #expect(unknown.status.code == 404)

            // Every check is stored with its rules, and audited.
            let recordID = try #require(Self.json(approved)["id"] as? String)
            let record = await harness.send(.get, "/api/enterprise/compliance/records/\(recordID)", headers: owner)
            #expect(Self.text(record).contains(#""decision":"approved""#))
            let audited = try await TenantScope(tenant: harness.tenant, pool: harness.pool).withTransaction {
                try await $0.query("SELECT count(*) AS n FROM audit_records WHERE action = 'compliance.trade_checked'")
            }
            #expect(try audited.first!.decode("n", as: Int.self) >= 15)
        }
    }

    @Test func screeningReturnsCandidatesWithScoresAndTheMatchedAlias() async throws {
        try await RouteHarness.with { harness in
            try await SharedSanctions.loadSDN(into: harness)
            let officer = [("Authorization", "Bearer " + (try await harness.apiKey(roles: ["compliance_officer"])))]
            let answer = await harness.send(
                .post, "/api/enterprise/compliance/screen", headers: officer, json: #"{"name":"national bank of cuba"}"#
            )
            let candidates = Self.json(answer)["candidates"] as? [[String: Any]] ?? []
            #expect(candidates.first?["name"] as? String == "BANCO NACIONAL DE CUBA")
            #expect(candidates.first?["matched"] as? String == "NATIONAL BANK OF CUBA")
            #expect((candidates.first?["score"] as? Double ?? 0) >= 0.95)
            let versions = await harness.send(.get, "/api/enterprise/compliance/sanctions-lists", headers: officer)
            #expect(Self.text(versions).contains("\"entryCount\":8976"))
            let empty = await harness.send(.post, "/api/enterprise/compliance/screen", headers: officer, json: "{}")
            #expect(empty.status.code == 400)
        }
    }
}
