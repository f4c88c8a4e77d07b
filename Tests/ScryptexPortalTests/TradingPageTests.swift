import Foundation
import ScryptexTestSupport
import Testing

/// KYC, orders, market making and models through the portal's pages, against a running host,
/// each outcome read back through the API.
@Suite("Trading pages", .serialized)
struct TradingPageTests {
    /// An API answer as JSON (2xx expected).
    static func json(_ answer: (status: Int, headers: String, body: String)) throws -> [String: Any] {
        #expect((200..<300).contains(answer.status), "\(answer.body)")
        if answer.body.isEmpty { return [:] }
        return try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
    }

    static func api(
        _ host: PortalHost, _ tenant: String, key: String, _ path: String, _ body: String? = nil
    ) async throws -> [String: Any] {
        var arguments = ["-H", "Authorization: Bearer \(key)"]
        if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
        return try json(try await host.curl(arguments + [host.url(tenant, path)]))
    }

    /// Signs a new member of `tenant` with `role` in.
    static func session(
        _ host: PortalHost, _ tenant: String, _ email: String, role: String
    ) async throws
        -> CurlSession
    {
        let password = try await host.newUser(tenant, email: email, role: role)
        let session = CurlSession(host: host, tenant: tenant)
        #expect(try await session.signIn(email: email, password: password), "\(email) could not sign in")
        return session
    }

    /// Posts a form on `path`'s page (its token taken from the page) to `action`.
    static func submit(
        _ session: CurlSession, from path: String, to action: String, _ fields: [(String, String)]
    ) async throws -> (status: Int, headers: String, body: String) {
        let page = try await session.get(path)
        let token = try #require(CurlSession.formToken(in: page.body), "no form on \(path): \(page.body.prefix(300))")
        return try await session.post(action, [("csrf", token)] + fields)
    }

    @Test(.timeLimit(.minutes(5)))
    func anAccountIsReviewedAndTradesThroughItsPage() async throws {
        let host = try await PortalHost()
        do {
            let key = try await host.newAPIKey("acme", role: "owner")
            func api(_ path: String, _ body: String? = nil) async throws -> [String: Any] {
                try await Self.api(host, "acme", key: key, path, body)
            }
            let id = try #require(
                try await api(
                    "/api/enterprise/accounts",
                    #"{"accountName":"Orders Desk","accountType":"hedge_fund","legalName":"Acme Orders Desk LP"}"#)[
                        "id"] as? String)
            _ = try await api(
                "/api/enterprise/compliance/instruments",
                #"{"symbol":"BTC/USD","priceDecimals":2,"quantityDecimals":8}"#)
            _ = try await api("/api/enterprise/compliance/reference-prices", #"{"symbol":"BTC/USD","price":"64000"}"#)
            let owner = try await Self.session(host, "acme", "olive@acme.example", role: "owner")
            let officer = try await Self.session(host, "acme", "otto@acme.example", role: "compliance_officer")
            let trader = try await Self.session(host, "acme", "tess@acme.example", role: "trader")
            let viewer = try await Self.session(host, "acme", "vic@acme.example", role: "viewer")
            let page = "/portal/accounts/\(id)"
            func order(
                _ fields: [(String, String)], as session: CurlSession, id clientID: String
            ) async throws
                -> (status: Int, headers: String, body: String)
            {
                try await Self.submit(
                    session, from: page, to: page + "/orders",
                    [("clientOrderId", clientID), ("symbol", "BTC/USD"), ("type", "limit"), ("timeInForce", "gtc")]
                        + fields)
            }

            // Before KYC the check refuses an order, and the page says why.
            let early = try await order(
                [("side", "buy"), ("quantity", "0.5"), ("price", "64100")], as: trader, id: "early-1")
            #expect(early.status == 422, "\(early.body.prefix(500))")
            #expect(early.body.contains("rejected") && early.body.contains("not approved"), "\(early.body)")

            // Beneficial owners, recorded by the officer (total kept ≤ 100 %).
            let first = try await Self.submit(
                officer, from: page, to: page + "/kyc/beneficial-owners",
                [("name", "Grace Hopper"), ("nationality", "US"), ("ownershipPercent", "60")])
            #expect(first.status == 303, "\(first.body)")
            let beyond = try await Self.submit(
                officer, from: page, to: page + "/kyc/beneficial-owners",
                [("name", "Alan Turing"), ("nationality", "GB"), ("ownershipPercent", "50")])
            #expect(
                beyond.status == 400 && beyond.body.contains("owners would hold 110.0000 %, more than 100 %"),
                "\(beyond.body)")
            let owners = try await api("/api/enterprise/accounts/\(id)/kyc/beneficial-owners")
            #expect((owners["beneficialOwners"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Grace Hopper"])

            // Submitted by the owner (a trader may not), decided by the officer with a reason.
            #expect(!(try await trader.get(page)).body.contains("Submit for review"))
            #expect(try await Self.submit(owner, from: page, to: page + "/kyc/submit", []).status == 303)
            #expect(try await api("/api/enterprise/accounts/\(id)")["kycStatus"] as? String == "in_review")
            let officerPage = try await officer.get(page)
            #expect(officerPage.body.contains(#"<option value="approved">"#))
            #expect(!(try await owner.get(page)).body.contains("Submit for review"))
            let wrong = try await Self.submit(
                officer, from: page, to: page + "/kyc/decision", [("status", "suspended"), ("reason", "test")])
            #expect([400, 409].contains(wrong.status) && wrong.body.contains("suspended"), "\(wrong.body)")
            let approved = try await Self.submit(
                officer, from: page, to: page + "/kyc/decision",
                [("status", "approved"), ("reason", "Documents verified"), ("reviewDue", "2027-12-01")])
            #expect(approved.status == 303, "\(approved.body)")
            let account = try await api("/api/enterprise/accounts/\(id)")
            #expect(account["kycStatus"] as? String == "approved")
            #expect((account["kycReviewDue"] as? String)?.hasPrefix("2027-12-01") == true, "\(account)")

            // An order near the reference price rests; the same form sent twice enters one order.
            let resting = try await order(
                [("side", "buy"), ("quantity", "0.5"), ("price", "64100")], as: trader, id: "rest-1")
            #expect(resting.status == 200 && resting.body.contains("rest-1 (buy 0.5 BTC/USD): open"), "\(resting.body)")
            let again = try await order(
                [("side", "buy"), ("quantity", "0.5"), ("price", "64100")], as: trader, id: "rest-1")
            #expect(again.body.contains("entered before with this id"), "\(again.body)")
            // 6.25 % from the reference price: held for a second person.
            let held = try await order(
                [("side", "buy"), ("quantity", "0.1"), ("price", "68000")], as: trader, id: "held-1")
            #expect(held.body.contains("held-1 (buy 0.1 BTC/USD): held"), "\(held.body)")
            let declined = try await order(
                [("side", "buy"), ("quantity", "0.1"), ("price", "67900")], as: owner, id: "held-2")
            #expect(declined.body.contains("held-2 (buy 0.1 BTC/USD): held"), "\(declined.body)")
            let list = try await api("/api/enterprise/orders?accountId=\(id)")
            let orders = try #require(list["orders"] as? [[String: Any]])
            #expect(orders.count == 4, "\(orders)")
            func orderID(_ client: String) throws -> String {
                try #require(orders.first { $0["clientOrderId"] as? String == client }?["id"] as? String)
            }
            // A trader enters orders but reads no order book (that is compliance.read) and decides none.
            let traderPage = try await trader.get(page)
            #expect(traderPage.body.contains("Enter the order") && !traderPage.body.contains(#"<h2 id="orders">"#))
            #expect(!traderPage.body.contains("/orders/\(try orderID("held-1"))/approve"))
            let traderDecision = try await trader.post(
                page + "/orders/\(try orderID("held-1"))/approve",
                [("csrf", try #require(CurlSession.formToken(in: traderPage.body)))])
            #expect(traderDecision.status == 403)
            let officerOrders = try await officer.get(page)
            #expect(officerOrders.body.contains("/orders/\(try orderID("held-1"))/approve"))
            #expect(!officerOrders.body.contains("/orders/\(try orderID("rest-1"))/approve"))
            // The owner entered held-2: four eyes refuse the owner's own decision.
            let ownDecision = try await Self.submit(
                owner, from: page, to: page + "/orders/\(try orderID("held-2"))/approve", [])
            #expect(ownDecision.status == 403 && ownDecision.body.contains("four eyes"), "\(ownDecision.body)")
            #expect(
                try await Self.submit(officer, from: page, to: page + "/orders/\(try orderID("held-1"))/approve", [])
                    .status == 303)
            #expect(
                try await Self.submit(officer, from: page, to: page + "/orders/\(try orderID("held-2"))/decline", [])
                    .status == 303)
            let decided = try #require(
                try await api("/api/enterprise/orders?accountId=\(id)")["orders"] as? [[String: Any]])
            let statuses = Dictionary(
                uniqueKeysWithValues: decided.map { ($0["clientOrderId"] as? String ?? "", $0["status"] as? String) })
            #expect(
                statuses == ["early-1": "rejected", "rest-1": "open", "held-1": "open", "held-2": "declined"],
                "\(statuses)")

            // A decision only from the order's own account page.
            let other = try #require(
                try await api(
                    "/api/enterprise/accounts",
                    #"{"accountName":"Other Desk","accountType":"hedge_fund","legalName":"Acme Other LP"}"#)["id"]
                    as? String)
            let mismatch = try await Self.submit(
                officer, from: page, to: "/portal/accounts/\(other)/orders/\(try orderID("held-1"))/decline", [])
            #expect(mismatch.status == 404)

            // A viewer sees none of the controls and is refused when it posts anyway.
            let viewerPage = try await viewer.get(page)
            #expect(viewerPage.status == 200)
            for control in [
                "Enter the order", "Record the decision", "Record the owner", "Submit for review", "Approve",
            ] {
                #expect(!viewerPage.body.contains(control), "\(control)")
            }
            let viewerToken = try #require(CurlSession.formToken(in: viewerPage.body))
            for (path, fields) in [
                ("/orders", [("symbol", "BTC/USD"), ("side", "buy"), ("quantity", "1"), ("price", "64000")]),
                ("/kyc/decision", [("status", "suspended"), ("reason", "x")]),
                ("/kyc/beneficial-owners", [("name", "X"), ("nationality", "US"), ("ownershipPercent", "1")]),
            ] {
                #expect(try await viewer.post(page + path, [("csrf", viewerToken)] + fields).status == 403, "\(path)")
            }
            #expect(try await api("/api/enterprise/accounts/\(id)")["kycStatus"] as? String == "approved")
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }

    @Test(.timeLimit(.minutes(5)))
    func aMarketMakersQuotesAndProfitAndLossShowOnItsPage() async throws {
        let host = try await PortalHost()
        do {
            let key = try await host.newAPIKey("zenith", role: "owner")
            func api(_ path: String, _ body: String? = nil) async throws -> [String: Any] {
                try await Self.api(host, "zenith", key: key, path, body)
            }
            let account = try #require(
                try await api(
                    "/api/enterprise/accounts",
                    #"{"accountName":"Making Desk","accountType":"hedge_fund","legalName":"Zenith Making LP"}"#)[
                        "id"] as? String)
            let strategy = try #require(
                try await api(
                    "/api/enterprise/accounts/\(account)/market-making-strategies",
                    #"""
                    {"name":"ETH maker","markets":[{"symbol":"ETH/USDC","venue":"demo","tickSize":"0.01","lotSize":"0.001","minimumNotional":"10"}],
                     "model":"avellaneda_stoikov",
                     "parameters":{"gamma":0.1,"kappa":1.5,"horizon":"infinite","horizonSeconds":60,"orderSize":1,"inventoryLimit":10,"volatility":0.5},
                     "maximumLoss":"1000"}
                    """#)["id"] as? String)
            let now = Int(Date().timeIntervalSince1970)
            _ = try await api(
                "/api/enterprise/market-making/\(strategy)/ticks",
                #"{"market":"ETH/USDC@demo","mid":2000,"time":\#(now - 10)}"#)
            for (fill, side, price) in [
                ("f-1", "buy", "1998.60"), ("f-2", "sell", "2001.40"), ("f-3", "buy", "1999.10"),
            ] {
                _ = try await api(
                    "/api/enterprise/market-making/\(strategy)/fills",
                    #"{"id":"\#(fill)","market":"ETH/USDC@demo","side":"\#(side)","price":"\#(price)","quantity":"1","fee":"0.2"}"#
                )
            }
            _ = try await api(
                "/api/enterprise/market-making/\(strategy)/ticks",
                #"{"market":"ETH/USDC@demo","mid":2003.5,"time":\#(now)}"#)
            let positions = try #require(
                try await api("/api/enterprise/market-making/\(strategy)/positions")["positions"] as? [[String: Any]])
            let position = try #require(positions.first)

            let trader = try await Self.session(host, "zenith", "tom@zenith.example", role: "trader")
            let accountPage = try await trader.get("/portal/accounts/\(account)")
            #expect(accountPage.body.contains("/portal/market-making/\(strategy)"), "\(accountPage.body)")
            let path = "/portal/market-making/\(strategy)"
            let page = try await trader.get(path)
            #expect(page.status == 200)
            // The figures as the API has them, and the total recomputed here with Foundation's Decimal.
            let realised = try #require(position["realisedPnL"] as? String)
            let unrealised = try #require(position["unrealisedPnL"] as? String)
            #expect(page.body.contains("<td>\(realised)</td>") && page.body.contains("<td>\(unrealised)</td>"))
            let total = try #require(Decimal(string: realised)) + (try #require(Decimal(string: unrealised)))
            let shown = try #require(
                page.body.range(of: #"Total P&amp;L</div><div class="value">"#).map {
                    String(page.body[$0.upperBound...].prefix { $0 != "<" })
                })
            #expect(Decimal(string: shown) == total, "shown \(shown), recomputed \(total)")
            #expect(total != 0)
            #expect(page.body.contains("<td>\(try #require(position["position"] as? String))</td>"))
            #expect(page.body.contains("ETH/USDC@demo") && page.body.contains("avellaneda_stoikov"))
            #expect(!page.body.contains("<script") && page.body.utf8.count < 100_000)

            // Paused and resumed from the page; the API sees each, and the page says why it does not quote.
            let paused = try await Self.submit(
                trader, from: path, to: path + "/pause", [("reason", "Volatility event, desk review")])
            #expect(paused.status == 303, "\(paused.body)")
            #expect(try await api("/api/enterprise/market-making/\(strategy)")["status"] as? String == "paused")
            let pausedPage = try await trader.get(path)
            #expect(pausedPage.body.contains("not quoted: the strategy is paused"))
            #expect(pausedPage.body.contains("Volatility event, desk review"))
            #expect(try await Self.submit(trader, from: path, to: path + "/resume", []).status == 303)
            #expect(try await api("/api/enterprise/market-making/\(strategy)")["status"] as? String == "active")

            // A viewer reads the page without the controls, and may not pause.
            let viewer = try await Self.session(host, "zenith", "val@zenith.example", role: "viewer")
            let viewerPage = try await viewer.get(path)
            #expect(viewerPage.status == 200 && !viewerPage.body.contains("Pause quoting"))
            let token = try #require(CurlSession.formToken(in: viewerPage.body))
            #expect(try await viewer.post(path + "/pause", [("csrf", token)]).status == 403)
            #expect(try await api("/api/enterprise/market-making/\(strategy)")["status"] as? String == "active")
            let acme = try await Self.session(host, "acme", "amy@acme.example", role: "owner")
            // Acme has market making off: as in the API, its routes are not there (404).
            let elsewhere = try await acme.get(path)
            #expect(elsewhere.status == 404, "\(elsewhere.status): \(elsewhere.body.prefix(600))")
            #expect(!(try await acme.get("/portal/accounts")).body.contains("Making Desk"))
        } catch {
            Issue.record("\(error)\n\(host.process.output.suffix(2000))")
        }
        await host.stop()
    }
}
